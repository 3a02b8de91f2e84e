"""What the tests share: servers they start, the production job on test resources, the CLI as a
user runs it, and builders of landed days. Fixtures live in conftest.py; test modules import
from here, never from each other."""

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

import dagster as dg
import psycopg2
import requests

from roles_assets.definitions import build_definitions, build_resources
from roles_assets.instance import open_instance
from roles_assets.partitions import register_days
from roles_assets.settings import Settings
from roles_assets_dev import local_postgres, run_days
from roles_assets_dev.ports import free_port

# What Dagster's loader does with `-m roles_assets`: find `defs` and build the code location.
LOAD_CODE_LOCATION = "from roles_assets import defs; defs()"


# What pyspark sets in a process once it opens a Spark Connect session, as the tests' processes
# do; a process that inherits it takes even a local session for a Connect one.
CONNECT_MODE = "SPARK_CONNECT_MODE_ENABLED"


def child_env() -> dict[str, str]:
    """This process's environment for a process a test starts, which picks its Spark mode from
    its own settings."""
    return {name: value for name, value in os.environ.items() if name != CONNECT_MODE}


class Server:
    """A PostgreSQL server of the tests' own, in a folder the server's OS user can reach."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="roles-test-pg-"))
        self.base.chmod(0o755)
        self.data_dir, self.port = self.base / "pg", free_port()
        self.admin_url = self.start().rsplit("/", 1)[0] + "/postgres"

    def start(self) -> str:
        return local_postgres.start(self.data_dir, self.port)

    def stop(self) -> None:
        local_postgres.stop(self.data_dir)

    def restart(self) -> None:
        local_postgres.restart(self.data_dir)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class Graph:
    """The production job, with resources pointed at a test database and landing folder, its
    Spark steps on the Spark Connect server ``spark_remote`` (None: a local session)."""

    def __init__(
        self, landing: Path, database_url: str, raw_path: Path, instance, spark_remote: str | None
    ):
        self.landing, self.raw_path, self.instance = landing, raw_path, instance
        self.settings = Settings.from_env(
            {
                "ROLES_LANDING_DIR": str(landing),
                "ROLES_RAW_PATH": str(raw_path),
                "ROLES_SPARK_REMOTE": spark_remote or "",
            }
        )
        self.use_database_url(database_url)

    def use_database_url(self, database_url: str, through_env_var: str | None = None) -> None:
        """Points the job at ``database_url``; with ``through_env_var``, handed over as a
        deployment does, a ``dg.EnvVar`` read at run time (the caller sets the variable)."""
        self.database_url = database_url
        url = dg.EnvVar(through_env_var) if through_env_var else database_url
        definitions = build_definitions(build_resources(self.settings, url), self.settings)
        self.job = definitions.resolve_implicit_global_asset_job_def()

    def register(self, day: str) -> None:
        register_days(self.instance, [day])

    def run(self, day: str, raise_on_error: bool = True):
        self.register(day)
        return self.job.execute_in_process(
            partition_key=day, instance=self.instance, raise_on_error=raise_on_error
        )

    def run_range(self, first: str, last: str, **kwargs):
        """One run of the registered days ``first...last``, tagged as the CLI's
        --partition-range tags it."""
        return self.job.execute_in_process(
            instance=self.instance,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
            **kwargs,
        )

    def load(self, days: list[str]):
        """``days`` registered in that order and loaded in one range run, as a backfill of them
        is (test_range_runs shows it gives the tables of day-by-day runs)."""
        register_days(self.instance, days)
        result = self.run_range(days[0], days[-1])
        assert result.success
        return result

    def query(self, statement: str, params=None) -> list[tuple]:
        conn = psycopg2.connect(self.database_url)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def final_rows(self) -> dict[str, list[tuple]]:
        return {
            "roles": self.query("SELECT * FROM roles ORDER BY role_id"),
            "agent_role_mapping": self.query(
                "SELECT * FROM agent_role_mapping ORDER BY agent_id, role_id"
            ),
            "agent_role_history": self.query("SELECT * FROM agent_role_history h ORDER BY h"),
            "role_history": self.query("SELECT * FROM role_history h ORDER BY h"),
        }

    def mapping(self) -> dict[tuple[int, int], tuple]:
        """(agent_id, role_id) -> (status, assigned_at, removed_at)."""
        rows = self.query(
            "SELECT agent_id, role_id, status, assigned_at, removed_at FROM agent_role_mapping"
        )
        return {(a, r): (status, assigned, removed) for a, r, status, assigned, removed in rows}


SECRET = "Sup3r-s3cret-pw"


def assert_secret_kept(secret: str, result, instance, capfd, caplog) -> None:
    """``secret`` is in no error, event (log lines, metadata, check results) or captured output."""
    records = instance.all_logs(result.run_id)
    assert records
    places = {f"event {i}": dg.serialize_value(record) for i, record in enumerate(records)}
    if not result.success:
        places["error"] = failure_text(result)
    captured = capfd.readouterr()
    places |= {"stdout": captured.out, "stderr": captured.err, "log records": caplog.text}
    assert [place for place, text in places.items() if secret in text] == []


def failure_text(result) -> str:
    """The messages of the run's step failure, with the errors that caused it."""
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error, messages = failure.step_failure_data.error, []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def role(role_id, name="Role", agent_ids=(), updated_at="2026-01-01T00:00:00Z", **fields) -> dict:
    """A Freshdesk role record; keyword fields override or add to the defaults."""
    record = {
        "id": role_id,
        "name": name,
        "description": f"{name} description",
        "default": False,
        "agent_type": 1,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": updated_at,
        "agent_ids": list(agent_ids),
    }
    record.update(fields)
    return record


def write_day(root: Path, day: str, roles=None, agents=None, files=None) -> Path:
    """Lands a day: ``roles`` as one array file, ``agents`` one file each, ``files`` verbatim
    (``{"admin_roles/x.json": text}``)."""
    day_dir = root / day
    (day_dir / "admin_roles").mkdir(parents=True, exist_ok=True)
    if roles is not None:
        (day_dir / "admin_roles" / "roles.json").write_text(json.dumps(roles, ensure_ascii=False))
    for agent in agents or []:
        folder = day_dir / "agent_details"
        folder.mkdir(exist_ok=True)
        (folder / f"agent_{agent['id']}.json").write_text(json.dumps(agent))
    for name, text in (files or {}).items():
        path = day_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return day_dir


D = dt.datetime


BIG = 2**53 + 1


def materialized(result, asset: str) -> dict:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


DAGSTER = str(Path(sys.executable).parent / "dagster")


# Each asset of the graph, and the PostgreSQL table of those stored there.
POSTGRES_ASSETS = {
    "stg_roles": "stg_roles",
    "stg_agent_roles": "stg_agent_roles",
    "role_errors": "role_pipeline_errors",
    "roles": "roles",
    "agent_role_mapping": "agent_role_mapping",
    "agent_role_history": "agent_role_history",
    "role_history": "role_history",
}
ASSETS = ["landed_day", "raw_roles", *POSTGRES_ASSETS]


def materialize_args(day: str) -> list[str]:
    """The arguments of ``dagster`` that materialize every asset for ``day``, or for a range
    ``first...last`` in one run."""
    partition = "--partition-range" if "..." in day else "--partition"
    return ["asset", "materialize", "-m", "roles_assets", "--select", "*", partition, day]


def cli_env(
    tmp_path: Path, landing: Path, database_url: str, spark_remote: str | None = None
) -> dict:
    """The environment a user sets: a fresh DAGSTER_HOME and the three ROLES_* variables; with
    ``spark_remote``, runs use that Spark Connect server instead of a local JVM of their own."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    env = {
        **child_env(),
        "DAGSTER_HOME": str(home),
        "ROLES_LANDING_DIR": str(landing),
        "ROLES_DATABASE_URL": database_url,
        "ROLES_RAW_PATH": str(tmp_path / "raw"),
    }
    return env | ({"ROLES_SPARK_REMOTE": spark_remote} if spark_remote else {})


def start_materialize(
    day: str, env: dict, new_session: bool = False, config: dict | None = None, output=None
) -> subprocess.Popen:
    """Starts the CLI; ``new_session`` puts it and its JVM in a process group of their own.
    Its output goes to pipes, or to the open file ``output``."""
    args = [DAGSTER, *materialize_args(day)]
    if config is not None:
        args += ["--config-json", json.dumps(config)]
    return subprocess.Popen(
        args,
        env=env,
        text=True,
        start_new_session=new_session,
        stdout=output or subprocess.PIPE,
        stderr=output or subprocess.PIPE,
    )


def materialize(day: str, env: dict, config: dict | None = None) -> subprocess.CompletedProcess:
    run = start_materialize(day, env, config=config)
    stdout, stderr = run.communicate(timeout=300)
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


def postgres_home(
    home: Path, admin_url: str, database: str, pool_limit: int = 10, create_storage: bool = True
) -> Path:
    """A DAGSTER_HOME whose instance lives in a fresh ``database`` of the test server; its pool
    limit lets the runs a race test starts together all reach their steps (`make run`'s is 1).
    Its storage is created first, as `make run` and a deployment's migrate step do, unless the
    test races on a brand-new instance itself (``create_storage=False``)."""
    local_postgres.create_database(admin_url, database)
    home.mkdir(parents=True, exist_ok=True)
    port = int(admin_url.rsplit(":", 1)[1].split("/")[0])
    (home / "dagster.yaml").write_text(run_days.dagster_yaml(port, database, pool_limit=pool_limit))
    if create_storage:
        open_instance(home).dispose()
    return home


def query(url: str, statement: str) -> list[tuple]:
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall()
    finally:
        conn.close()


def start_process_group(args: list[str], env: dict, log: Path, cwd: Path) -> subprocess.Popen:
    """Starts ``args`` in a process group of its own, its output going to the file ``log``."""
    with open(log, "w") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process_group(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGINT to the process's group, then SIGKILL to whatever is left after ``grace`` seconds:
    `dagster dev`, the webserver and the daemon may outlive a SIGINT for many seconds."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


class NotReady(Exception):
    """The webserver answered with an HTTP error."""


class Webserver:
    """The GraphQL API of a Dagster webserver on 127.0.0.1, as the UI drives it."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}/graphql"

    def query(self, text: str, **variables) -> dict:
        response = requests.post(self.url, json={"query": text, "variables": variables}, timeout=60)
        if response.status_code != 200:
            raise NotReady(f"HTTP {response.status_code}: {response.text[:2000]}")
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]
