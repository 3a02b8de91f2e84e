"""A local Spark Connect server, started from the pinned pyspark, for `make dev` and the tests.

The server is one warm JVM that every run of the code location talks to (``ROLES_SPARK_REMOTE``),
so a run from the UI or the sensor skips the Spark start, the class loading and the first-job
compilation that a fresh local session pays. It has the PostgreSQL JDBC driver on its class path
(``--jars``), which a Connect server must have for the staging writes.
"""

import os
import socket
import subprocess
import time
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).resolve().parent


class SparkConnectServer:
    """``start-connect-server.sh`` on 127.0.0.1:``port``, its logs and pid file under ``work_dir``.

    The server's JVM runs in the caller's time zone (``TZ``) with no UTC flag: the code location
    must not depend on it.
    """

    def __init__(self, work_dir: Path, port: int, jdbc_jar: str):
        self.work_dir, self.port, self.jdbc_jar = work_dir, port, jdbc_jar
        self.url = f"sc://127.0.0.1:{port}"

    def _env(self) -> dict[str, str]:
        return _script_env(self.work_dir)

    def start(self, timeout: float = 120) -> str:
        """Starts the server and waits until it accepts connections; returns its ``sc://`` URL."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "bash",
                str(SPARK_HOME / "sbin" / "start-connect-server.sh"),
                "--jars",
                self.jdbc_jar,
                "--conf",
                f"spark.connect.grpc.binding.port={self.port}",
                "--conf",
                "spark.connect.grpc.binding.address=127.0.0.1",
                "--conf",
                "spark.driver.host=127.0.0.1",
                "--conf",
                "spark.driver.bindAddress=127.0.0.1",
                "--conf",
                "spark.ui.enabled=false",
            ],
            env=self._env(),
            check=True,
            capture_output=True,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            if time.monotonic() > deadline or not self.running():
                self.stop()
                raise RuntimeError(
                    f"the Spark Connect server did not start on port {self.port}:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.2)
        return self.url

    def running(self) -> bool:
        pids = list((self.work_dir / "pids").glob("*.pid"))
        return bool(pids) and Path(f"/proc/{pids[0].read_text().strip()}").exists()

    def log_tail(self, lines: int = 20) -> str:
        logs = sorted((self.work_dir / "logs").glob("*.out"))
        return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-lines:]) if logs else ""

    def stop(self) -> None:
        stop_server(self.work_dir)


def stop_server(work_dir: Path) -> None:
    """Stops the server whose pid file is under ``work_dir``, even one whose start failed half
    way: a stop needs nothing else."""
    subprocess.run(
        ["bash", str(SPARK_HOME / "sbin" / "stop-connect-server.sh")],
        env=_script_env(work_dir),
        capture_output=True,
    )


def _script_env(work_dir: Path) -> dict[str, str]:
    """The environment of Spark's start and stop scripts for the server under ``work_dir``."""
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOG_DIR": str(work_dir / "logs"),
        "SPARK_PID_DIR": str(work_dir / "pids"),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
