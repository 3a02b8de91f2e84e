"""`dagster dev` on the sample, driven through the webserver's GraphQL API as the UI drives it:
a backfill of every landed day, whose assets' row counts, column schemas and check results it
reads, and behind it in the queue a backfill with a day the removal guard refuses."""

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
import requests

from roles_assets.partitions import sync_day_partitions
from roles_assets_dev import local_postgres
from roles_assets_dev.config import SAMPLE_LANDING_DIR
from roles_assets_tests.helpers import (
    ASSETS,
    POSTGRES_ASSETS,
    NotReady,
    Webserver,
    cli_env,
    free_port,
    start_process_group,
    stop_process_group,
    write_day,
)

DAGSTER = str(Path(sys.executable).parent / "dagster")
PROJECT_DIR = Path(__file__).resolve().parent.parent
REPOSITORY = {"repositoryName": "__repository__", "repositoryLocationName": "roles_assets"}
SENSOR = {**REPOSITORY, "sensorName": "landing_sensor"}

DAY = "2026-11-23"

ASSET_NODES = """
query ($day: String!) {
  assetNodes(loadMaterializations: true) {
    assetKey { path }
    description
    opVersion
    metadataEntries {
      label
      ... on TextMetadataEntry { text }
      ... on PathMetadataEntry { path }
      ... on TableSchemaMetadataEntry {
        schema { columns { name type description constraints { nullable unique } }
                 constraints { other } }
      }
    }
    assetMaterializations(partitions: [$day], limit: 1) {
      partition
      metadataEntries {
        label
        ... on IntMetadataEntry { intValue }
        ... on TableMetadataEntry { table { schema { columns { name } } } }
      }
    }
    assetChecksOrError { ... on AssetChecks { checks { name description } } }
  }
}
"""


@pytest.fixture
def dev_server(tmp_path, landing, pg_admin_url, connect_url):
    """`dagster dev` in a process group of its own, on a fresh DAGSTER_HOME and database."""
    database_url = local_postgres.create_database(pg_admin_url, "webserver_test")
    env = cli_env(tmp_path, landing, database_url, spark_remote=connect_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
    home = Path(env["DAGSTER_HOME"])
    # One run at a time: the queue keeps the order the backfills were launched in; no telemetry.
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: QueuedRunCoordinator\n  config:\n    max_concurrent_runs: 1\n"
    )
    port = free_port()
    workspace = str(PROJECT_DIR / "workspace.yaml")
    process = start_process_group(
        [DAGSTER, "dev", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)],
        env,
        tmp_path / "dagster_dev.log",
        cwd=PROJECT_DIR,
    )
    server = Webserver(port)
    try:
        deadline, last_error = time.monotonic() + 180, None
        while True:
            assert process.poll() is None, (tmp_path / "dagster_dev.log").read_text()[-3000:]
            try:
                sensor = server.query(
                    "query ($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {"
                    " __typename ... on Sensor { id sensorState { selectorId } } } }",
                    s=SENSOR,
                )["sensorOrError"]
                if sensor["__typename"] == "Sensor":
                    break
            except (requests.ConnectionError, NotReady) as error:
                last_error = error
            assert time.monotonic() < deadline, (
                f"dagster dev did not load the code location: {last_error}"
            )
            time.sleep(1)
        # The backfill is the test's to run: the sensor would load the days itself.
        stopped = server.query(
            "mutation ($id: String!, $selector: String!) {"
            " stopSensor(id: $id, jobSelectorId: $selector) {"
            " ... on StopSensorMutationResult { instigationState { status } } } }",
            id=sensor["id"],
            selector=sensor["sensorState"]["selectorId"],
        )["stopSensor"]
        assert stopped["instigationState"]["status"] == "STOPPED", stopped
        yield server, database_url
    finally:
        stop_process_group(process)


def register_and_backfill(server: Webserver, days: list[str], **selection) -> str:
    """Registers ``days`` as the sensor would and launches the UI's partition backfill of every
    asset (``selection``: allPartitions or partitionNames); returns the backfill's id."""
    for day in days:
        server.query(
            "mutation ($r: RepositorySelector!, $name: String!, $key: String!) {"
            " addDynamicPartition(repositorySelector: $r, partitionsDefName: $name,"
            " partitionKey: $key) { __typename } }",
            r=REPOSITORY,
            name=sync_day_partitions.name,
            key=day,
        )
    launched = server.query(
        "mutation ($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {"
        " __typename ... on LaunchBackfillSuccess { backfillId }"
        " ... on PythonError { message } } }",
        p={**selection, "assetSelection": [{"path": [a]} for a in ASSETS]},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def ended(server: Webserver, backfill_id: str) -> dict:
    """The backfill once it and its runs have ended."""
    deadline = time.monotonic() + 600
    while True:
        backfill = server.query(
            "query ($id: String!) { partitionBackfillOrError(backfillId: $id) {"
            " ... on PartitionBackfill { status numPartitions runs { runId status } } } }",
            id=backfill_id,
        )["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING") and all(
            r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in backfill["runs"]
        ):
            return backfill
        assert time.monotonic() < deadline, backfill
        time.sleep(3)


BEFORE, REFUSED, AFTER = "2026-11-25", "2026-11-26", "2026-11-27"
MATERIALIZED = """
query ($days: [String!]) { assetNodes(assetKeys: [{path: ["agent_role_mapping"]}]) {
  assetMaterializations(partitions: $days) { partition } } }
"""
GUARD_EXECUTION = """
query ($day: String) { assetCheckExecutions(assetKey: {path: ["agent_role_mapping"]},
  checkName: "agent_role_mapping_removals_within_limit", partition: $day, limit: 1) { status } }
"""


@pytest.mark.slow
def test_ui_backfills_show_each_days_figures_and_leave_a_refused_day_out(
    dev_server, landing, make_graph
):
    """One `dagster dev`, two backfills as the UI launches them, one behind the other: the
    sample's days, whose figures, schemas and checks the UI shows per day; then a day the
    removal guard refuses between two good days, in one run that leaves the refused day out,
    with the tables that day-by-day runs of all six days give."""
    server, database_url = dev_server
    shutil.copytree(SAMPLE_LANDING_DIR, landing, dirs_exist_ok=True)
    days = sorted(p.name for p in landing.iterdir())
    # The second backfill: day 25 is day 24 again; day 26 takes every agent off the sample's
    # roles, which the removal guard refuses after day 25 is applied in the same run; day 27 is
    # day 24 again, applied as if day 26 had never come.
    page = json.loads((landing / days[-1] / "admin_roles" / "roles_page_1.json").read_text())
    shutil.copytree(landing / days[-1], landing / BEFORE)
    write_day(landing, REFUSED, roles=[{**record, "agent_ids": []} for record in page])
    shutil.copytree(landing / days[-1], landing / AFTER)
    second = [BEFORE, REFUSED, AFTER]
    # Launched together, both wait for one of the backfill daemon's loops, not one each; their
    # runs then go through the queue in that order.
    first_id = register_and_backfill(server, days, allPartitions=True)
    second_id = register_and_backfill(server, second, partitionNames=second)

    backfill = ended(server, first_id)
    runs = backfill["runs"]
    assert backfill["numPartitions"] == len(days) == 3
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    assert len(runs) == 1 and runs[0]["status"] == "SUCCESS"  # the range is one run

    nodes = {
        node["assetKey"]["path"][-1]: node
        for node in server.query(ASSET_NODES, day=DAY)["assetNodes"]
    }
    assert set(nodes) == set(ASSETS)
    for name, node in nodes.items():
        assert node["description"] and len(node["opVersion"]) == 12, name
        (materialization,) = node["assetMaterializations"]
        assert materialization["partition"] == DAY
        reported = {
            e["label"]: e.get("intValue", e.get("table"))
            for e in materialization["metadataEntries"]
        }
        assert isinstance(reported["dagster/row_count"], int), name
        definition = {e["label"]: e for e in node["metadataEntries"]}
        if name in POSTGRES_ASSETS:
            assert definition["dagster/table_name"]["text"] == POSTGRES_ASSETS[name]
            columns = definition["dagster/column_schema"]["schema"]["columns"]
            assert columns and all(c["type"] and c["description"] for c in columns), name
    errors = {
        e["label"]: e.get("intValue", e.get("table"))
        for e in nodes["role_errors"]["assetMaterializations"][0]["metadataEntries"]
    }
    assert errors["dagster/row_count"] == 4 and errors["error_type/INVALID_VALUE"] == 1
    assert errors["error_type/MALFORMED_JSON"] == 0
    assert [c["name"] for c in errors["sample_rows"]["schema"]["columns"]] == [
        "error_type",
        "role_id",
        "error_message",
        "source_file",
    ]
    raw = {e["label"]: e for e in nodes["raw_roles"]["metadataEntries"]}
    assert "record" in {c["name"] for c in raw["dagster/column_schema"]["schema"]["columns"]}
    assert raw["dagster/uri"]["text"].endswith("/raw_roles")
    mapping = {e["label"]: e for e in nodes["agent_role_mapping"]["metadataEntries"]}
    assert mapping["dagster/column_schema"]["schema"]["constraints"]["other"] == [
        "PRIMARY KEY (agent_id, role_id)"
    ]

    checked = {}
    for name, node in nodes.items():
        for check in node["assetChecksOrError"]["checks"]:
            assert check["description"], check["name"]
            (execution,) = server.query(
                "query ($key: AssetKeyInput!, $check: String!, $day: String) {"
                " assetCheckExecutions(assetKey: $key, checkName: $check, partition: $day,"
                " limit: 1) { status partition evaluation { success } } }",
                key={"path": [name]},
                check=check["name"],
                day=DAY,
            )["assetCheckExecutions"]
            checked[check["name"]] = (execution["partition"], execution["status"])
    assert len(checked) == 15
    assert set(checked.values()) == {(DAY, "SUCCEEDED")}, checked

    backfill = ended(server, second_id)
    assert backfill["numPartitions"] == 3
    assert backfill["status"] in ("COMPLETED_FAILED", "FAILED"), backfill
    assert [r["status"] for r in backfill["runs"]] == ["FAILURE"]  # one run, naming the day
    every_day = [*days, *second]
    (node,) = server.query(MATERIALIZED, days=every_day)["assetNodes"]
    assert {m["partition"] for m in node["assetMaterializations"]} == set(every_day) - {REFUSED}
    guard = {d: server.query(GUARD_EXECUTION, day=d)["assetCheckExecutions"] for d in every_day}
    assert guard[REFUSED] == [{"status": "FAILED"}]
    assert all(guard[d] == [{"status": "SUCCEEDED"}] for d in every_day if d != REFUSED)

    day_by_day = make_graph()
    for day in every_day:
        assert day_by_day.run(day, raise_on_error=False).success == (day != REFUSED), day
    ranged = make_graph()
    ranged.use_database_url(database_url)
    assert ranged.final_rows() == day_by_day.final_rows()
    assert len(ranged.query("SELECT 1 FROM agent_role_mapping WHERE status = 'assigned'")) == 13
