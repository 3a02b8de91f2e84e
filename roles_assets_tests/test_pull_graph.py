"""Today's day pulled from a Freshdesk look-alike through the asset graph, then loaded."""

import datetime as dt
import json
import time

import dagster as dg
import psycopg2
import pytest

from roles_assets.definitions import build_definitions, build_resources
from roles_assets.extract.client import FreshdeskClient
from roles_assets.extract.pull import pull_day, today_utc
from roles_assets.resources.freshdesk import FreshdeskResource
from roles_assets.resources.landing_zone import LandingZone
from roles_assets.sensors import landing_sensor
from roles_assets.settings import Settings
from roles_assets_dev import local_postgres
from roles_assets_tests.freshdesk_fake import API_KEY, FakeFreshdesk, Fault, api_agent, api_role
from roles_assets_tests.helpers import cli_env, failure_text, materialize, role, write_day

PATIENCE = {
    "attempts": 3,
    "backoff_seconds": 0.05,
    "max_wait_seconds": 1.0,
    "read_timeout_seconds": 1.0,
}


@pytest.fixture
def fake():
    server = FakeFreshdesk(
        roles=[api_role(1, "Admin"), api_role(2, "Agent", new_api_field="kept")],
        agents=[api_agent(101, [1]), api_agent(102, [1, 2]), api_agent(103, [2])],
    )
    yield server
    server.close()


def pull_job(settings: Settings, fake, database_url):
    """The graph on ``settings`` (a test graph's: its Spark steps on the suite's Connect server),
    pulling from ``fake``."""
    resources = build_resources(settings, database_url)
    resources["freshdesk"] = FreshdeskResource(base_url=fake.base_url, api_key=API_KEY, **PATIENCE)
    return build_definitions(resources, settings).resolve_implicit_global_asset_job_def()


def event_log_text(instance, run_id) -> str:
    return "\n".join(str(record) for record in instance.all_logs(run_id))


def test_today_is_pulled_and_loaded_in_one_run_and_a_rerun_calls_no_api(graph, fake):
    fake.deleted.add(103)  # listed, then deleted before its detail was fetched
    fake.fail("/api/v2/agents?", Fault(429, {"Retry-After": "0"}))
    graph.job = pull_job(graph.settings, fake, graph.database_url)
    today = today_utc()

    result = graph.run(today)
    pulled = result.asset_materializations_for_node("landed_day")[0].metadata
    assert {
        k: pulled[k].value
        for k in (
            "pulled",
            "requests",
            "pages",
            "retries",
            "rate_limited_429",
            "agents_skipped_404",
            "files",
        )
    } == {
        "pulled": True,
        "requests": 6,
        "pages": 2,
        "retries": 1,
        "rate_limited_429": 1,
        "agents_skipped_404": 1,
        "files": 3,
    }
    assert graph.query("SELECT role_id, name FROM roles ORDER BY 1") == [(1, "Admin"), (2, "Agent")]
    assert {pair: state[0] for pair, state in graph.mapping().items()} == {
        (101, 1): "assigned",
        (102, 1): "assigned",
        (102, 2): "assigned",
    }
    assert graph.query("SELECT error_type FROM role_pipeline_errors") == []
    landed_roles = json.loads(
        (graph.landing / today / "admin_roles" / "roles_0001.json").read_text()
    )
    assert landed_roles == fake.roles and landed_roles[1]["new_api_field"] == "kept"
    assert API_KEY not in event_log_text(graph.instance, result.run_id)

    requests_before = len(fake.requests)
    again = graph.run(today)
    assert len(fake.requests) == requests_before  # a landed day is never fetched again
    assert again.asset_materializations_for_node("landed_day")[0].metadata["pulled"].value is False
    assert graph.query("SELECT role_id, name FROM roles ORDER BY 1") == [(1, "Admin"), (2, "Agent")]


def test_today_lands_while_the_warehouse_is_down_and_loads_on_the_next_run(graph, fake):
    today = today_utc()
    graph.job = pull_job(graph.settings, fake, "postgresql://nobody@127.0.0.1:9/none")
    failed = graph.run(today, raise_on_error=False)
    assert not failed.success
    assert "cannot connect to PostgreSQL at 127.0.0.1:9/none" in failure_text(failed)
    assert failed.asset_materializations_for_node("landed_day")[0].metadata["pulled"].value
    requests = len(fake.requests)

    graph.job = pull_job(graph.settings, fake, graph.database_url)
    graph.run(today)
    assert len(fake.requests) == requests  # loaded from what the failed run landed
    assert graph.query("SELECT role_id, name FROM roles ORDER BY 1") == [(1, "Admin"), (2, "Agent")]


def run_without_spark(landing, fake, day, instance):
    """Runs the graph where landed_day fails: nothing downstream starts, so no Spark or database."""
    settings = Settings.from_env(
        {"ROLES_LANDING_DIR": str(landing), "ROLES_RAW_PATH": str(landing.parent / "raw")}
    )
    job = pull_job(settings, fake, "postgresql://nobody@127.0.0.1:9/none")
    instance.add_dynamic_partitions("sync_day", [day])
    return job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)


def test_a_server_that_keeps_failing_fails_the_run_and_lands_nothing(landing, fake):
    fake.fail("/api/v2/agents/102", *[Fault(503)] * 5)
    with dg.instance_for_test() as instance:
        result = run_without_spark(landing, fake, today_utc(), instance)
        assert not result.success
        assert "GET /api/v2/agents/102 failed 3 times; the last failure: HTTP 503" in failure_text(
            result
        )
        assert result.asset_materializations_for_node("raw_roles") == []
        assert list(landing.iterdir()) == []
        assert API_KEY not in event_log_text(instance, result.run_id)


def test_a_past_day_never_landed_fails_without_calling_the_api(landing, fake):
    with dg.instance_for_test() as instance:
        result = run_without_spark(landing, fake, "2026-01-05", instance)
        assert "the Freshdesk API cannot give it" in failure_text(result)
        assert fake.requests == []


def pull_schedule(landing, env: dict | None = None):
    """The daily_pull schedule, and the repository it belongs to, of a location built on ``env``."""
    settings = Settings.from_env(
        {"ROLES_LANDING_DIR": str(landing), "ROLES_RAW_PATH": str(landing / "raw"), **(env or {})}
    )
    defs = build_definitions(build_resources(settings, "postgresql://unused"), settings)
    return defs.resolve_schedule_def("daily_pull"), defs.get_repository_def()


def tick(schedule, repository, instance, at: dt.datetime):
    """The schedule's answer to a tick at ``at``: its run requests, or its skip reason."""
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=at, repository_def=repository
    )
    result = schedule.evaluate_tick(context)
    return result.run_requests or [], result.skip_message


DAY, MIDNIGHT = "2026-12-01", dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)


def test_the_pull_schedule_ticks_hourly_by_default_and_on_the_cron_set(landing):
    schedule, _ = pull_schedule(landing)
    assert schedule.cron_schedule == "0 * * * *" and schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # no API configured
    configured, _ = pull_schedule(
        landing,
        {
            "ROLES_PULL_CRON": "*/20 6-18 * * *",
            "FRESHDESK_DOMAIN": "acme",
            "FRESHDESK_API_KEY": "k",
        },
    )
    assert configured.cron_schedule == "*/20 6-18 * * *"
    assert configured.default_status == dg.DefaultScheduleStatus.RUNNING


def test_each_tick_requests_today_as_a_new_run_until_its_final_tables_load(landing):
    schedule, repository = pull_schedule(landing)
    with dg.instance_for_test() as instance:
        # 00:00 UTC is still the evening before in Sao Paulo (the suite's zone): the day is UTC's.
        (first,), _ = tick(schedule, repository, instance, MIDNIGHT)
        assert first.partition_key == DAY
        assert instance.get_dynamic_partitions("sync_day") == [DAY]

        # The first try failed: the next tick asks again, under a run key Dagster has not seen.
        instance.add_run(run_of(DAY))
        (second,), _ = tick(schedule, repository, instance, MIDNIGHT + dt.timedelta(hours=1))
        assert second.partition_key == DAY and second.run_key != first.run_key

        # Loaded yesterday, or only some of today's tables: not loaded.
        for asset in ["roles", "agent_role_mapping", "role_history", "agent_role_history"]:
            report_materialization(instance, asset, "2026-11-30")
        for asset in ["roles", "agent_role_mapping", "role_history"]:
            report_materialization(instance, asset, DAY)
        (third,), _ = tick(schedule, repository, instance, MIDNIGHT + dt.timedelta(hours=2))
        assert third.partition_key == DAY

        report_materialization(instance, "agent_role_history", DAY)
        requests, skipped = tick(schedule, repository, instance, MIDNIGHT + dt.timedelta(hours=3))
        assert requests == []
        assert skipped == f"sync day {DAY} has loaded: its final tables are materialized"


def test_a_tick_while_todays_run_is_still_going_requests_nothing(landing):
    schedule, repository = pull_schedule(landing)
    with dg.instance_for_test() as instance:
        instance.add_run(run_of(DAY, "running-run", dg.DagsterRunStatus.STARTED))
        requests, skipped = tick(schedule, repository, instance, MIDNIGHT)
        assert requests == []
        assert skipped == f"sync day {DAY} is still loading in run running-run"


def run_of(day: str, run_id: str = "failed-run", status=dg.DagsterRunStatus.FAILURE):
    return dg.DagsterRun(
        job_name="__ASSET_JOB", run_id=run_id, status=status, tags={"dagster/partition": day}
    )


def report_materialization(instance, asset: str, day: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset, partition=day))


def test_a_retry_after_beyond_the_cap_fails_the_run_at_once_and_lands_nothing(landing, fake):
    fake.fail("/api/v2/roles", Fault(429, {"Retry-After": "3600"}))
    with dg.instance_for_test() as instance:
        started = time.monotonic()
        result = run_without_spark(landing, fake, today_utc(), instance)
        assert not result.success and time.monotonic() - started < 30
        assert (
            "GET /api/v2/roles: HTTP 429; Freshdesk asked to wait 3600 s (Retry-After), more than "
            "the 1 s a run waits; the next pull tick retries"
        ) in failure_text(result)
        assert len(fake.requests) == 1
        assert list(landing.iterdir()) == []


@pytest.mark.slow
def test_cli_pulls_and_loads_today_on_a_fresh_home_and_never_shows_the_key(
    tmp_path, landing, pg_admin_url, fake, connect_url
):
    fake.fail("/api/v2/roles", Fault(429, {"Retry-After": "1"}))
    database_url = local_postgres.create_database(pg_admin_url, "cli_pull_test")
    env = {
        **cli_env(tmp_path, landing, database_url, spark_remote=connect_url),
        "FRESHDESK_BASE_URL": fake.base_url,
        "FRESHDESK_API_KEY": API_KEY,
    }
    env.pop("FRESHDESK_DOMAIN", None)

    run = materialize(today_utc(), env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(fake.requests) == 1 + 1 + 1 + 3  # the 429, roles, one agent list page, three agents
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT agent_id, role_id FROM agent_role_mapping ORDER BY 1, 2")
        assert cur.fetchall() == [(101, 1), (102, 1), (102, 2), (103, 2)]
    stored = b"".join(
        path.read_bytes() for path in (tmp_path / "dagster_home").rglob("*") if path.is_file()
    )
    assert API_KEY not in run.stdout + run.stderr and API_KEY.encode() not in stored


def test_the_sensor_leaves_a_pulled_day_to_the_run_that_pulled_it(landing, fake):
    resources = {"landing": LandingZone(root=str(landing))}
    with dg.instance_for_test() as instance, FreshdeskClient(fake.base_url, API_KEY) as client:
        pull_day(client, landing, "2026-12-01")
        write_day(landing, "day1", roles=[role(1)])
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert [r.partition_key for r in first.run_requests] == ["day1"]
        assert set(json.loads(first.cursor)) == {"day1", "2026-12-01"}

        (landing / "2026-12-01" / "admin_roles" / "fix.json").write_text(json.dumps([role(7)]))
        changed = landing_sensor(
            dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources)
        )
        assert [r.partition_key for r in changed.run_requests] == [
            "2026-12-01"
        ]  # edited later: run again
