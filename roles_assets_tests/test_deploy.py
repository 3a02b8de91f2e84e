"""The deployment of docs/deploy.md, as plain processes instead of containers: the instance
migrated once, the code location's gRPC server (the Dockerfile's command), the webserver and the
daemon on one PostgreSQL-backed instance (deploy/dagster.yaml, deploy/workspace.yaml as they are,
every value from the environment), Spark on a Spark Connect server. A landed day is loaded by the
daemon's sensor and shows through the webserver's GraphQL."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from roles_assets_dev import local_postgres
from roles_assets_dev.config import SAMPLE_LANDING_DIR
from roles_assets_tests.helpers import (
    DAGSTER,
    NotReady,
    Webserver,
    free_port,
    query,
    start_process_group,
    stop_process_group,
)

DEPLOY_DIR = Path(__file__).resolve().parent.parent / "deploy"
BIN_DIR = Path(DAGSTER).parent
# Two days landed at once (as a migration of an archive lands them): the sensor runs them as one
# range.
DAYS = ["2026-11-22", "2026-11-23"]

LOCATION = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name
    displayMetadata { key value }
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""

RUNS = """
{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }
"""

MATERIALIZATIONS = """
query ($days: [String!]) {
  assetOrError(assetKey: {path: ["agent_role_mapping"]}) {
    ... on Asset { assetMaterializations(partitions: $days) { runId partition } }
  }
}
"""


def code_server_command(port: int) -> list[str]:
    """The Dockerfile's CMD, serving on 127.0.0.1 and ``port`` instead of the container's."""
    (cmd,) = [
        line.removeprefix("CMD ")
        for line in (DEPLOY_DIR / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD ")
    ]
    args = json.loads(cmd)
    args[args.index("-h") + 1] = "127.0.0.1"
    args[args.index("-p") + 1] = str(port)
    return [str(BIN_DIR / args[0]), *args[1:]]


def wait_for(what: str, check, processes: dict, logs: Path, timeout: float):
    """Calls ``check`` until it returns something, while every process keeps running."""
    deadline, last_error = time.monotonic() + timeout, None
    while True:
        for name, process in processes.items():
            assert process.poll() is None, (
                f"{name} exited while waiting for {what}:\n"
                + (logs / f"{name}.log").read_text()[-3000:]
            )
        try:
            found = check()
            if found:
                return found
        except (requests.ConnectionError, NotReady) as error:
            last_error = error
        assert time.monotonic() < deadline, f"no {what} after {timeout:.0f} s: {last_error}"
        time.sleep(2)


@pytest.mark.slow
def test_the_deployment_loads_days_landed_together_in_one_run_of_the_daemons_sensor(
    tmp_path, pg_admin_url, connect_url
):
    landing = tmp_path / "landing"
    for day in DAYS:
        shutil.copytree(SAMPLE_LANDING_DIR / day, landing / day)
    warehouse = local_postgres.create_database(pg_admin_url, "deploy_roles")
    local_postgres.create_database(pg_admin_url, "deploy_dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_DIR / "dagster.yaml", home / "dagster.yaml")
    code_port, webserver_port = free_port(), free_port()
    instance_env = {
        "PATH": f"{BIN_DIR}:{os.environ['PATH']}",
        "HOME": os.environ["HOME"],
        "TZ": os.environ["TZ"],
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": pg_admin_url.rsplit(":", 1)[1].split("/")[0],
        "DAGSTER_PG_USER": local_postgres.USER,
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_PG_DB": "deploy_dagster",
    }
    code_env = instance_env | {
        "ROLES_DATABASE_URL": warehouse,
        "ROLES_LANDING_DIR": str(landing),
        "ROLES_RAW_PATH": str(tmp_path / "raw"),
        "ROLES_SPARK_REMOTE": connect_url,
    }
    # The webserver and the daemon know the code server only by its address.
    dagster_env = instance_env | {
        "ROLES_CODE_SERVER_HOST": "127.0.0.1",
        "ROLES_CODE_SERVER_PORT": str(code_port),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    workspace = str(DEPLOY_DIR / "workspace.yaml")
    processes = {}
    try:
        migrate = start_process_group(
            [DAGSTER, "instance", "migrate"], instance_env, logs / "migrate.log", cwd=tmp_path
        )
        assert migrate.wait(timeout=180) == 0, (logs / "migrate.log").read_text()[-3000:]
        processes["code_server"] = start_process_group(
            code_server_command(code_port), code_env, logs / "code_server.log", cwd=tmp_path
        )
        # As the Dockerfile's HEALTHCHECK: the webserver and the daemon start once it passes.
        health_check = [DAGSTER, "api", "grpc-health-check", "-h", "127.0.0.1"]
        health_check += ["-p", str(code_port)]
        wait_for(
            "code server",
            lambda: subprocess.run(health_check, env=code_env, capture_output=True).returncode == 0,
            processes,
            logs,
            timeout=180,
        )
        processes["webserver"] = start_process_group(
            [
                str(BIN_DIR / "dagster-webserver"),
                *("-h", "127.0.0.1", "-p", str(webserver_port), "-w", workspace),
            ],
            dagster_env,
            logs / "webserver.log",
            cwd=tmp_path,
        )
        processes["daemon"] = start_process_group(
            [str(BIN_DIR / "dagster-daemon"), "run", "-w", workspace],
            dagster_env,
            logs / "daemon.log",
            cwd=tmp_path,
        )
        webserver = Webserver(webserver_port)

        def loaded_location():
            (entry,) = webserver.query(LOCATION)["workspaceOrError"]["locationEntries"]
            loaded = entry["locationOrLoadError"]
            assert loaded is None or loaded["__typename"] != "PythonError", loaded["message"]
            return entry if loaded else None

        location = wait_for("code location", loaded_location, processes, logs, timeout=240)
        assert location["name"] == "roles_assets"
        served_from = {item["key"]: item["value"] for item in location["displayMetadata"]}
        assert (served_from["host"], served_from["port"]) == ("127.0.0.1", str(code_port))

        def finished_run():
            runs = webserver.query(RUNS)["runsOrError"]["results"]
            done = [run for run in runs if run["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
            return done[0] if done else None

        run = wait_for("a finished run", finished_run, processes, logs, timeout=600)
        assert run["status"] == "SUCCESS", run
        tags = {tag["key"]: tag["value"] for tag in run["tags"]}
        assert tags["dagster/sensor_name"] == "landing_sensor"
        assert tags["dagster/asset_partition_range_start"] == DAYS[0]
        assert tags["dagster/asset_partition_range_end"] == DAYS[-1]
        assert len(webserver.query(RUNS)["runsOrError"]["results"]) == 1
        materializations = webserver.query(MATERIALIZATIONS, days=DAYS)["assetOrError"]
        assert sorted(
            (m["partition"], m["runId"]) for m in materializations["assetMaterializations"]
        ) == [(day, run["runId"]) for day in DAYS]
    finally:
        for process in processes.values():
            stop_process_group(process)

    # Both days applied in order, as test_graph's day-by-day runs give them: role 3 renamed on the
    # second day, and an agent who left role 4 that day.
    first_day_pairs = f"SELECT count(*) FROM stg_agent_roles WHERE sync_day = '{DAYS[0]}'"
    assert query(warehouse, first_day_pairs) == [(12,)]
    assert query(
        warehouse,
        "SELECT name, from_day, to_day FROM role_history WHERE role_id = 67000000003"
        " ORDER BY valid_from",
    ) == [("Supervisor", DAYS[0], DAYS[1]), ("Team Supervisor", DAYS[1], None)]
    assert query(
        warehouse,
        "SELECT assigned_day, removed_day FROM agent_role_history"
        " WHERE agent_id = 67000100007 AND role_id = 67000000004",
    ) == [(DAYS[0], DAYS[1])]
