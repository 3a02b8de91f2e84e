"""A range of sync days in one run: the tables day-by-day runs give, each day's checks on its own
partition, and a bad day left out while the others are applied."""

import subprocess
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.base import PartitionKeyFilter

from roles_assets.partitions import register_days
from roles_assets.resources.postgres import PostgresResource
from roles_assets.sensors import failed_run
from roles_assets_dev import local_postgres
from roles_assets_dev.config import EVENT_BATCH_SIZE
from roles_assets_tests.helpers import DAGSTER, cli_env, postgres_home, role, write_day

# Landed in natural order, registered out of it: a range runs in natural order whatever the
# instance's order. The third day lands an empty list: a day without a record (stored as an empty
# raw folder), an empty snapshot that a blocking check refuses.
DAYS = {
    "2026-02-01": [role(1, "one", [10, 11]), role(2, "two", [20])],
    "2026-02-02": [role(1, "one", [10]), role(2, "two", [20, 21]), role(3, "three", [30])],
    "2026-02-03": [],
    "2026-02-04": [
        role(1, "uno", [10, 12]),
        role(2, "two", [21]),
        role(3, "three", [30]),
        role(5, "five", [50, 51], team="new"),  # a field no earlier day carried
    ],
}
REGISTERED = ["2026-02-04", "2026-02-02", "2026-02-01", "2026-02-03"]
SNAPSHOT_CHECK = dg.AssetCheckKey(dg.AssetKey("stg_roles"), "stg_roles_snapshot_not_empty")

GOOD = [day for day in DAYS if day != "2026-02-03"]


def landed_graph(landing, make_graph, days: list[str]):
    """A graph of its own over ``days``, landed and registered in natural order."""
    for day in days:
        write_day(landing, day, roles=DAYS[day])
    graph = make_graph()
    register_days(graph.instance, days)
    return graph


def latest_metadata(instance: dg.DagsterInstance, asset: str, day: str) -> dict:
    """The metadata of ``asset``'s latest materialization of ``day``."""
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[day]), limit=1
    ).records
    return {key: value.value for key, value in record.asset_materialization.metadata.items()}


@pytest.mark.slow
def test_a_range_in_one_cli_run_gives_the_tables_of_day_by_day_runs(
    tmp_path, landing, pg_admin_url, connect_url, make_graph
):
    for day, roles in DAYS.items():
        write_day(landing, day, roles=roles)
    database_url = local_postgres.create_database(pg_admin_url, "range_cli")
    env = cli_env(tmp_path, landing, database_url, spark_remote=connect_url)
    # As a deployment runs it: a PostgreSQL instance, its events written in batches.
    postgres_home(Path(env["DAGSTER_HOME"]), pg_admin_url, "dagster_range_cli")
    env["DAGSTER_EVENT_BATCH_SIZE"] = EVENT_BATCH_SIZE
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        register_days(instance, REGISTERED)

    run = subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "roles_assets", "--select", "*"]
        + ["--partition-range", f"{REGISTERED[0]}...{REGISTERED[-1]}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode != 0, run.stderr[-3000:]
    assert "1 of 4 sync days were not applied: 2026-02-03: its blocking check(s)" in run.stderr
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        (only_run,) = instance.get_runs()
        assert only_run.tags["dagster/asset_partition_range_start"] == REGISTERED[0]
        statuses = {
            day: instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [SNAPSHOT_CHECK], partition_filter=PartitionKeyFilter(key=day)
            )[SNAPSHOT_CHECK].status
            for day in DAYS
        }
        applied = instance.get_materialized_partitions(dg.AssetKey("agent_role_mapping"))
        # In natural order, each applied day is newer than every day before it: no replay.
        modes = {
            record.partition_key: record.asset_materialization.metadata["apply_mode"].value
            for record in instance.fetch_materializations(
                dg.AssetKey("agent_role_mapping"), limit=10
            ).records
        }
        (run_failure,) = instance.get_records_for_run(
            only_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        alert = failed_run(
            dg.build_run_status_sensor_context(
                sensor_name="failure_alert",
                dagster_event=run_failure.event_log_entry.dagster_event,
                dagster_instance=instance,
                dagster_run=only_run,
            ).for_run_failure()
        )
    # The alert names the run's range as it was asked for, and the step that failed.
    assert (alert.sync_day, alert.step) == (f"{REGISTERED[0]}...{REGISTERED[-1]}", "final_tables")
    assert alert.error.endswith(
        "Failure: 1 of 4 sync days were not applied: 2026-02-03: its "
        "blocking check(s) stg_roles_snapshot_not_empty failed\n"
    )
    failed = AssetCheckExecutionRecordStatus.FAILED
    assert {day for day, status in statuses.items() if status == failed} == {"2026-02-03"}
    assert applied == {"2026-02-01", "2026-02-02", "2026-02-04"}
    assert modes == dict.fromkeys(applied, "incremental")

    day_by_day = make_graph()
    for day in DAYS:
        day_by_day.run(day, raise_on_error=day != "2026-02-03")
    ranged = make_graph()
    ranged.use_database_url(database_url)
    assert ranged.final_rows() == day_by_day.final_rows()
    assert ranged.query("SELECT role_id, name FROM roles ORDER BY 1") == [
        (1, "uno"),
        (2, "two"),
        (3, "three"),
        (5, "five"),
    ]


def test_a_range_run_records_each_days_checks_and_rows_on_that_days_partition(landing, make_graph):
    graph = landed_graph(landing, make_graph, GOOD)
    assert graph.run_range(GOOD[0], GOOD[-1]).success
    storage = graph.instance.event_log_storage
    checks = list(graph.job.asset_layer.asset_graph.asset_check_keys)
    for day in GOOD:
        latest = storage.get_latest_asset_check_execution_by_key(
            checks, partition_filter=PartitionKeyFilter(key=day)
        )
        new_field = day == "2026-02-04"  # a warning on that day alone
        assert {key.name: record.status for key, record in latest.items()} == {
            key.name: AssetCheckExecutionRecordStatus.FAILED
            if new_field and key.name == "stg_roles_no_new_source_fields"
            else AssetCheckExecutionRecordStatus.SUCCEEDED
            for key in checks
        }
        mapping = latest_metadata(graph.instance, "agent_role_mapping", day)
        assert mapping["synced_at"].startswith(day)

    files = {day: latest_metadata(graph.instance, "raw_roles", day)["files"] for day in GOOD}
    assert files == dict.fromkeys(GOOD, 1)  # each day's own files, not the range's
    for asset in ("raw_roles", "stg_roles", "stg_agent_roles"):
        reported = {
            day: latest_metadata(graph.instance, asset, day)["dagster/row_count"] for day in GOOD
        }
        assert reported == {
            day: len(DAYS[day])
            if asset != "stg_agent_roles"
            else sum(len(r["agent_ids"]) for r in DAYS[day])
            for day in GOOD
        }, asset


def test_a_range_named_against_the_registration_order_fails_saying_so(landing, make_graph):
    graph = landed_graph(landing, make_graph, GOOD[:2])
    result = graph.run_range(GOOD[1], GOOD[0], raise_on_error=False)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "landed_day"
    assert "holds no sync day" in failure.step_failure_data.error.message
    assert graph.instance.get_materialized_partitions(dg.AssetKey("landed_day")) == set()


def test_an_apply_error_midway_keeps_the_record_of_the_days_applied_before_it(landing, make_graph):
    graph = landed_graph(landing, make_graph, GOOD)
    PostgresResource(database_url=graph.database_url).migrate()
    # Role 5 first comes on the last day: its insert fails as a broken server would.
    graph.query(
        "CREATE FUNCTION refuse_role_5() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;"
        " CREATE TRIGGER refuse_role_5 BEFORE INSERT ON roles FOR EACH ROW"
        " WHEN (NEW.role_id = 5) EXECUTE FUNCTION refuse_role_5()"
    )
    result = graph.run_range(GOOD[0], GOOD[-1], raise_on_error=False)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "final_tables"
    assert "injected failure" in failure.step_failure_data.error.to_string()
    applied = graph.instance.get_materialized_partitions(dg.AssetKey("agent_role_mapping"))
    assert applied == set(GOOD[:-1])
    assert graph.query("SELECT role_id, name FROM roles ORDER BY 1") == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
    ]
