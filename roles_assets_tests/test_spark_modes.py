"""The graph on a Spark Connect server and on a standalone cluster, through the CLI as users run it,
and the tests whose promises depend on the Spark mode again on a local JVM.

The servers are started from the pinned pyspark (the Connect server by conftest.py, the cluster
here), in the suite's non-UTC zone and without a UTC flag for their JVMs: stored timestamps must
still be UTC wall time. The suite's in-process runs use that Connect server; these tests cover
what differs between the modes (where the JVM runs, how files and the JDBC driver reach it,
how a failure is reported), on the sample days, whose rules the other tests pin down. Other CLI
runs on a local JVM are test_wheel's, the bench's and the one test_guards kills.
"""

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from roles_assets_dev import local_postgres
from roles_assets_dev.config import SAMPLE_LANDING_DIR
from roles_assets_dev.spark_connect import SPARK_HOME
from roles_assets_tests.helpers import BIG, child_env, cli_env, free_port, start_materialize

SAMPLE_DAYS = ["2026-11-22", "2026-11-23", "2026-11-24"]


@pytest.fixture
def sample_landing(landing) -> Path:
    shutil.copytree(SAMPLE_LANDING_DIR, landing, dirs_exist_ok=True)
    return landing


def java_descendants(pid: int) -> set[int]:
    """The java processes below ``pid`` in the process tree, right now."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        child = int(stat.parent.name)
        commands[child] = name.split("(", 1)[1]
        children.setdefault(int(rest.split()[1]), []).append(child)
    found, todo = set(), list(children.get(pid, []))
    while todo:
        child = todo.pop()
        todo.extend(children.get(child, []))
        if commands.get(child) == "java":
            found.add(child)
    return found


def materialize_watching_jvms(day: str, env: dict, logs: Path) -> tuple[int, str, set[int]]:
    """Runs the CLI for ``day``; returns its exit code, its stderr and the JVMs it started."""
    logs.mkdir(parents=True, exist_ok=True)
    stderr_path = logs / f"{day}-{time.monotonic_ns()}.err"
    with open(stderr_path, "w") as output:
        run = start_materialize(day, env, output=output)
        jvms: set[int] = set()
        while run.poll() is None:
            jvms |= java_descendants(run.pid)
            time.sleep(0.1)
    return run.returncode, stderr_path.read_text(), jvms


def final_and_staging(database_url: str) -> dict[str, list[tuple]]:
    queries = {
        "roles": "SELECT * FROM roles ORDER BY role_id",
        "agent_role_mapping": "SELECT * FROM agent_role_mapping ORDER BY agent_id, role_id",
        "stg_roles": "SELECT role_id, name, description, is_default, agent_type, created_at,"
        " updated_at, sync_day, source FROM stg_roles ORDER BY sync_day, role_id",
        "stg_agent_roles": "SELECT agent_id, role_id, status, updated_at, sync_day"
        " FROM stg_agent_roles ORDER BY sync_day, agent_id, role_id",
        "role_pipeline_errors": "SELECT sync_day, role_id, agent_id, error_type, field,"
        " error_message, raw_record::text, source_file"
        " FROM role_pipeline_errors ORDER BY 1, 2, 3, 4, 5, 6",
    }
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        tables = {}
        for name, query in queries.items():
            cur.execute(query)
            tables[name] = cur.fetchall()
    conn.close()
    return tables


@pytest.mark.slow
def test_the_graph_on_a_spark_connect_server_starts_no_jvm_and_keeps_the_contract(
    tmp_path, sample_landing, pg_admin_url, connect_url
):
    in_order = local_postgres.create_database(pg_admin_url, "connect_in_order")
    env = cli_env(tmp_path, sample_landing, in_order, spark_remote=connect_url)
    # The sample's days in one range run, as a backfill of them is.
    days = f"{SAMPLE_DAYS[0]}...{SAMPLE_DAYS[-1]}"
    code, stderr, jvms = materialize_watching_jvms(days, env, tmp_path / "logs")
    assert code == 0, stderr[-3000:]
    assert jvms == set(), f"the run of {days} started a JVM of its own"
    tables = final_and_staging(in_order)
    roles = {row[0]: row for row in tables["roles"]}
    assert len(roles) == 7
    assert roles[BIG][1] == "Équipe Support — 東京"  # an id above 2^53, exact
    assert roles[67000000003][1:2] == ("Team Supervisor",)  # renamed on day 2
    assert roles[67000000003][6].isoformat() == "2026-11-22T16:45:00"  # UTC wall time
    mapping = {
        (a, r): (status, assigned, removed)
        for a, r, status, assigned, removed in tables["agent_role_mapping"]
    }
    assert mapping[(67000100007, 67000000004)][:2] == ("assigned", dt.datetime(2026, 11, 24))
    assert [s for s, *_ in mapping.values()].count("assigned") == 13
    assert {row[3] for row in tables["role_pipeline_errors"]} == {
        "MISSING_NAME",
        "UNKNOWN_ROLE",
        "DUPLICATE_ROLE",
        "INVALID_AGENT_ID",
        "INVALID_ROLE_IDS",
        "INVALID_VALUE",
        "MALFORMED_JSON",
    }

    # A run of one older day (a replay of the later ones) changes nothing. Loading orders are
    # the SQL's concern, the same in every mode (test_graph, test_apply_properties).
    code, stderr, jvms = materialize_watching_jvms("2026-11-23", env, tmp_path / "logs")
    assert code == 0, stderr[-3000:]
    assert jvms == set(), "the run of 2026-11-23 started a JVM of its own"
    assert final_and_staging(in_order) == tables


class StandaloneCluster:
    """A Spark master and one worker from the pinned pyspark, on 127.0.0.1."""

    def __init__(self, work_dir: Path):
        self.work_dir = work_dir
        self.port, self.ui_port = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []
        self.master_log = work_dir / "Master.log"

    def _start(self, *args: str) -> None:
        # The child keeps its own copy of the log's descriptor.
        with open(self.work_dir / f"{args[0].rsplit('.', 1)[-1]}.log", "w") as log:
            process = subprocess.Popen(
                [str(SPARK_HOME / "bin" / "spark-class"), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={"SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1", **_path_env()},
            )
        self.processes.append(process)

    def start(self, timeout: float = 120) -> None:
        self._start(
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--webui-port",
            str(self.ui_port),
        )
        self._read_bound_addresses(deadline=time.monotonic() + timeout)
        self._start(
            "org.apache.spark.deploy.worker.Worker",
            self.url,
            "--host",
            "127.0.0.1",
            "--cores",
            "1",
            "--memory",
            "2g",
            "--webui-port",
            str(free_port()),
            "--work-dir",
            str(self.work_dir / "work"),
        )
        deadline = time.monotonic() + timeout
        while not self.status().get("aliveworkers"):
            assert time.monotonic() < deadline, "the standalone cluster did not come up"
            time.sleep(0.5)

    def _read_bound_addresses(self, deadline: float) -> None:
        """The master's URL and UI port as it bound them: a port another process took between
        ``free_port()`` and the bind makes Spark take the next one."""
        while True:
            text = self.master_log.read_text() if self.master_log.exists() else ""
            url = re.search(r"Starting Spark master at (spark://\S+)", text)
            ui = re.search(r"Bound MasterWebUI to \S+ and started at http://[^:]+:(\d+)", text)
            if url and ui:
                self.url, self.ui_port = url.group(1), int(ui.group(1))
                return
            assert time.monotonic() < deadline, f"the Spark master did not start: {text[-2000:]}"
            time.sleep(0.2)

    def status(self) -> dict:
        """The master's JSON status: workers, running and completed applications."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.ui_port}/json/", timeout=2
            ) as answer:
                return json.load(answer)
        except OSError:
            return {}

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


def _path_env() -> dict[str, str]:
    return {key: os.environ[key] for key in ("PATH", "TZ", "JAVA_HOME") if key in os.environ}


@pytest.fixture
def cluster(tmp_path):
    cluster = StandaloneCluster(tmp_path)
    try:  # a cluster that fails to come up is stopped too
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
def test_a_cli_run_on_a_standalone_cluster_runs_there(
    tmp_path, sample_landing, pg_admin_url, cluster
):
    database_url = local_postgres.create_database(pg_admin_url, "on_cluster")
    env = cli_env(tmp_path, sample_landing, database_url) | {"ROLES_SPARK_MASTER": cluster.url}
    code, stderr, _ = materialize_watching_jvms("2026-11-22", env, tmp_path / "logs")
    assert code == 0, stderr[-3000:]

    deadline = time.monotonic() + 30
    while not cluster.status().get("completedapps"):  # the master notices the driver is gone
        assert time.monotonic() < deadline, cluster.status()
        time.sleep(0.5)
    (app,) = cluster.status()["completedapps"]
    assert app["name"] == "roles_assets" and app["cores"] >= 1
    # The executors ran on the worker: it kept their folders.
    assert list((tmp_path / "work" / app["id"]).iterdir())
    tables = final_and_staging(database_url)
    assert len(tables["stg_roles"]) == 6 and len(tables["stg_agent_roles"]) == 12
    updated = {row[0]: row[6] for row in tables["roles"]}
    assert updated[67000000002].isoformat() == "2025-01-20T14:03:10"  # UTC wall time


@pytest.mark.slow
def test_the_mode_dependent_tests_pass_on_a_local_jvm(tmp_path):
    """The ``local_spark_too`` tests (a failure as Spark reports it, `make run`'s days on one
    session) in a pytest of their own, its in-process Spark on a local JVM, as runs without
    ROLES_SPARK_REMOTE have it."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "local_spark_too", "-p", "no:cacheprovider"]
        + ["-p", "no:xdist", "--basetemp", str(tmp_path / "inner"), "-q"],
        env=child_env() | {"ROLES_TESTS_LOCAL_SPARK": "1"},
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert int(re.search(r"(\d+) passed", run.stdout)[1]) >= 3
