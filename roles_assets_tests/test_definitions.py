"""The code location loads, and the sensor turns landed days into partitions and runs."""

import datetime as dt
import json
import os

import dagster as dg
import pytest

import roles_assets
from roles_assets.assets import LOAD_POOL
from roles_assets.definitions import build_definitions, build_resources
from roles_assets.resources.landing_zone import LandingZone
from roles_assets.sensors import landing_sensor
from roles_assets.settings import Settings
from roles_assets_tests.helpers import ASSETS, role, write_day

pytestmark = pytest.mark.fast


def test_definitions_load():
    defs = roles_assets.defs()

    graph = defs.resolve_asset_graph()
    assert {key.path[-1] for key in graph.get_all_asset_keys()} == set(ASSETS)
    assert len(list(graph.asset_check_keys)) == 15
    assert defs.resolve_sensor_def("landing_sensor") is not None
    assert graph.get(dg.AssetKey("raw_roles")).parent_keys == {dg.AssetKey("landed_day")}
    # Without FRESHDESK_* variables the daily pull could only fail, so it is off.
    assert (
        defs.resolve_schedule_def("daily_pull").default_status == dg.DefaultScheduleStatus.STOPPED
    )
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.executor_def.name == "in_process"


FINAL_TABLES = {"roles", "agent_role_mapping", "role_history", "agent_role_history"}


def test_the_final_tables_declare_their_freshness_from_the_setting(landing):
    defs = roles_assets.defs()

    def fail_windows(definitions: dg.Definitions) -> dict:
        graph = definitions.resolve_asset_graph()
        return {
            key.path[-1]: graph.get(key).freshness_policy.fail_window.to_timedelta()
            for key in graph.get_all_asset_keys()
            if graph.get(key).freshness_policy is not None
        }

    assert fail_windows(defs) == {table: dt.timedelta(hours=30) for table in FINAL_TABLES}
    settings = Settings.from_env({"ROLES_LANDING_DIR": str(landing), "ROLES_FRESHNESS_HOURS": "8"})
    eight = build_definitions(build_resources(settings, "postgresql://unused"), settings)
    assert fail_windows(eight) == {table: dt.timedelta(hours=8) for table in FINAL_TABLES}


def test_the_spark_and_apply_steps_share_one_concurrency_pool():
    defs = roles_assets.defs()

    job = defs.resolve_implicit_global_asset_job_def()
    pooled = {node.name: node.definition.pool for node in job.graph.nodes if node.definition.pool}
    assert pooled == {
        "raw_roles": LOAD_POOL,
        "staging_tables": LOAD_POOL,
        "final_tables": LOAD_POOL,
    }


def test_failure_alerts_run_by_default_only_with_a_webhook(landing):
    defs = roles_assets.defs()

    alerts = defs.resolve_sensor_def("failure_alert")
    assert isinstance(alerts, dg.RunStatusSensorDefinition)
    assert alerts.default_status == dg.DefaultSensorStatus.STOPPED
    env = {"ROLES_LANDING_DIR": str(landing), "ROLES_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/h"}
    settings = Settings.from_env(env)
    on = build_definitions(build_resources(settings, "postgresql://unused"), settings)
    assert on.resolve_sensor_def("failure_alert").default_status == dg.DefaultSensorStatus.RUNNING


def test_the_warehouse_applies_every_table_the_staging_assets_write():
    from roles_assets.assets.staging import staging_tables
    from roles_assets.warehouse.staging import STAGING_TABLES

    written = {spec.metadata["dagster/table_name"] for spec in staging_tables.specs}
    assert set(STAGING_TABLES) == written


def test_sensor_registers_new_days_and_requests_runs_in_natural_order(landing):
    for day in ["day10", "day9", "bad day"]:
        write_day(landing, day, roles=[role(1)])
    resources = {"landing": LandingZone(root=str(landing))}
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        result = landing_sensor(context)
        (both,) = result.run_requests  # days landed together: one run of their range
        assert both.partition_key_range == dg.PartitionKeyRange("day9", "day10")
        (add,) = result.dynamic_partitions_requests
        assert list(add.partition_keys) == ["day9", "day10"]
        assert set(json.loads(result.cursor)) == {"day9", "day10"}

        instance.add_dynamic_partitions("sync_day", ["day9", "day10"])
        quiet = landing_sensor(
            dg.build_sensor_context(instance=instance, cursor=result.cursor, resources=resources)
        )
        assert quiet.run_requests == [] and quiet.dynamic_partitions_requests == []

        write_day(landing, "day11", roles=[role(1)])
        (landing / "day9" / "admin_roles" / "more.json").write_text(json.dumps([role(2)]))
        later = landing_sensor(
            dg.build_sensor_context(instance=instance, cursor=result.cursor, resources=resources)
        )
        assert [r.partition_key for r in later.run_requests] == ["day9", "day11"]
        assert list(later.dynamic_partitions_requests[0].partition_keys) == ["day11"]


def test_sensor_runs_a_day_again_when_its_files_return_to_an_earlier_version(landing):
    day_dir = write_day(landing, "day1", roles=[role(1)])
    roles_file = day_dir / "admin_roles" / "roles.json"
    version_a = roles_file.read_bytes(), roles_file.stat().st_mtime_ns
    resources = {"landing": LandingZone(root=str(landing))}
    with dg.instance_for_test() as instance:
        cursor, keys = None, []
        for version in ["a", "b", "a again (times kept, as rsync -a or cp -p do)"]:
            if version == "b":
                roles_file.write_text(json.dumps([role(1, name="renamed")]))
            elif version != "a":
                roles_file.write_bytes(version_a[0])
                os.utime(roles_file, ns=(version_a[1], version_a[1]))
            result = landing_sensor(
                dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
            )
            (request,) = result.run_requests
            keys.append(request.run_key)
            cursor = result.cursor
        assert (
            len(set(keys)) == 3
        )  # Dagster skips a run key it has seen: each change needs a new one
        assert keys[0].split(":")[-1] == keys[2].split(":")[-1]  # the same files as the first time
        retried = landing_sensor(
            dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        )
        assert retried.run_requests == []
