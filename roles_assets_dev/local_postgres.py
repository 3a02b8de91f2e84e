"""A project-local PostgreSQL server for `make run`, `make dev` and the tests.

Runs the machine's PostgreSQL 15 binaries on 127.0.0.1 with a cluster in a folder of ours.
``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` OS user.
Usage: ``python -m roles_assets_dev.local_postgres start|stop [DATA_DIR]``.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from roles_assets_dev.config import LOCAL_PG_DATA_DIR, LOCAL_PG_PORT, PG_BIN

DATABASE = "roles"
USER = "roles"


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _run(args: list[str], hint: str = "", log: Path | None = None) -> None:
    """Runs a server tool; a failure says what the tool said, the end of ``log``, and ``hint``."""
    done = subprocess.run(_as_server_user(args), capture_output=True, text=True)
    if done.returncode:
        said = (done.stderr or done.stdout).strip()
        if log is not None and log.exists():
            said += "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-6:])
        raise RuntimeError(f"{Path(args[0]).name} failed (exit {done.returncode}): {said}{hint}")


_FOLDER_HINT = (
    "\nThe server runs as the 'postgres' OS user, which must be able to enter every parent "
    "folder of the data folder (a private folder such as one from `mktemp -d` is mode 700: "
    "`chmod 755` it, or set ROLES_DATABASE_URL to a server of yours)."
)


def start(data_dir: Path = LOCAL_PG_DATA_DIR, port: int = LOCAL_PG_PORT) -> str:
    """Creates the cluster if needed, starts it on ``port`` if stopped, and returns its database
    URL; a server already running keeps its port, with a notice when that is not ``port``."""
    data_dir = data_dir.resolve()
    cluster = data_dir / "cluster"
    sockets = data_dir / "sockets"
    if not (cluster / "PG_VERSION").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        sockets.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data_dir, "postgres", "postgres")
            shutil.chown(sockets, "postgres", "postgres")
        _run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(cluster),
                "-U",
                USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            hint=_FOLDER_HINT if os.geteuid() == 0 else "",
        )
    status = subprocess.run(
        _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(cluster), "status"]), capture_output=True
    )
    if status.returncode == 0:
        # postmaster.pid holds the server's pid, data folder, start time, then its port.
        running_port = int((cluster / "postmaster.pid").read_text().splitlines()[3])
        if running_port != port:
            print(
                f"Using the PostgreSQL server already running from {data_dir} on port "
                f"{running_port}, not {port}; to move it, stop it first: "
                f"python -m roles_assets_dev.local_postgres stop {data_dir}",
                file=sys.stderr,
            )
            port = running_port
    else:
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(cluster),
                "-o",
                options,
                "-l",
                str(data_dir / "server.log"),
                "-w",
                "start",
            ],
            hint=f"\nIf port {port} is taken, set ROLES_LOCAL_PG_PORT to a free port.",
            log=data_dir / "server.log",
        )
    return create_database(f"postgresql://{USER}@127.0.0.1:{port}/postgres", DATABASE)


def create_database(admin_url: str, name: str) -> str:
    """Creates database ``name`` on the server of ``admin_url`` if missing; returns its URL."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def restart(data_dir: Path = LOCAL_PG_DATA_DIR) -> None:
    """A fast restart: every open connection is cut, as when the server is restarted for real."""
    data_dir = data_dir.resolve()
    _run(
        [
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data_dir / "cluster"),
            "-l",
            str(data_dir / "server.log"),
            "-m",
            "fast",
            "-w",
            "restart",
        ]
    )


def stop(data_dir: Path = LOCAL_PG_DATA_DIR) -> None:
    cluster = data_dir.resolve() / "cluster"
    if (cluster / "postmaster.pid").exists():
        _run([str(PG_BIN / "pg_ctl"), "-D", str(cluster), "-m", "fast", "-w", "stop"])


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else LOCAL_PG_DATA_DIR
    if command == "start":
        print(start(folder))
    elif command == "stop":
        stop(folder)
    else:
        sys.exit("usage: python -m roles_assets_dev.local_postgres start|stop [DATA_DIR]")
