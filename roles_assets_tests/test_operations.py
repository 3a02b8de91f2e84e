"""Unattended operation on a PostgreSQL-backed instance, as a deployment runs it: the instance
`make run` writes bounds runs and the load pool, two runs at once take turns in the pool, and
`dagster-daemon` posts one alert per failed run to a chat webhook on 127.0.0.1."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import TickStatus

from roles_assets.assets import LOAD_POOL
from roles_assets.definitions import register_landed_days
from roles_assets.settings import Settings
from roles_assets_dev import config, local_postgres
from roles_assets_tests.helpers import (
    child_env,
    cli_env,
    free_port,
    postgres_home,
    role,
    start_materialize,
    write_day,
)
from roles_assets_tests.webhook_fake import TOKEN, RecordingWebhook

DAEMON = str(Path(sys.executable).parent / "dagster-daemon")


def test_make_runs_instance_bounds_the_run_queue_and_the_load_pool(tmp_path, pg_admin_url):
    assert (config.MAX_CONCURRENT_RUNS, config.LOAD_POOL_LIMIT) == (2, 1)  # the defaults
    home = postgres_home(
        tmp_path / "home", pg_admin_url, "dagster_limits", pool_limit=config.LOAD_POOL_LIMIT
    )
    # Loading the code location gives the load pool its slots (twice: the second finds them),
    # so two runs starting together on the new instance do not both create them.
    for _ in range(2):
        register_landed_days(Settings.from_env({"DAGSTER_HOME": str(home)}))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        limits = instance.get_concurrency_config()
        assert limits.run_queue_config.max_concurrent_runs == 2
        assert limits.pool_config.default_pool_limit == 1
        assert instance.event_log_storage.get_concurrency_info(LOAD_POOL).slot_count == 1


def test_the_limits_are_settings_of_make_run():
    write = "from roles_assets_dev import run_days; print(run_days.dagster_yaml(5432))"
    env = {**child_env(), "ROLES_MAX_CONCURRENT_RUNS": "4", "ROLES_LOAD_POOL_LIMIT": "3"}
    yaml = subprocess.run(
        [sys.executable, "-c", write], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "  runs:\n    # " in yaml and "max_concurrent_runs: 4\n" in yaml
    assert "  pools:\n    # " in yaml and "default_limit: 3\n" in yaml
    bad = subprocess.run(
        [sys.executable, "-c", write],
        env={**env, "ROLES_LOAD_POOL_LIMIT": "one"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    assert "ROLES_LOAD_POOL_LIMIT='one' is not a count" in bad.stderr


POOLED_STEPS = {"raw_roles", "staging_tables", "final_tables"}


def pooled_step_spans(instance, run_id: str) -> list[tuple[float, float]]:
    """(start, end) of each step of the run that takes a slot of the load pool."""
    starts, spans = {}, []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key not in POOLED_STEPS:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type in (
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        ):
            spans.append((starts[event.step_key], entry.timestamp))
    return spans


@pytest.mark.slow
def test_two_runs_at_once_never_run_two_pooled_steps_at_once(
    tmp_path, pg_admin_url, landing, connect_url
):
    for day in ["day1", "day2"]:
        write_day(landing, day, roles=[role(1, agent_ids=[10]), role(2, agent_ids=[20])])
    database_url = local_postgres.create_database(pg_admin_url, "pooled_runs")
    env = cli_env(tmp_path, landing, database_url, spark_remote=connect_url)
    postgres_home(Path(env["DAGSTER_HOME"]), pg_admin_url, "dagster_pooled", pool_limit=1)
    runs = [start_materialize(day, env) for day in ["day1", "day2"]]
    for run in runs:
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-3000:]

    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        records = instance.get_run_records()
        spans = [pooled_step_spans(instance, record.dagster_run.run_id) for record in records]
    assert [len(run_spans) for run_spans in spans] == [3, 3]
    # The runs were in progress together, so only the pool kept their heavy steps apart.
    first, second = records
    assert first.start_time < second.end_time and second.start_time < first.end_time
    overlapping = [(a, b) for a in spans[0] for b in spans[1] if a[0] < b[1] and b[0] < a[1]]
    assert overlapping == []


def sensor_ticks(home: Path, name: str) -> list[TickStatus]:
    """The statuses of the sensor's ticks so far (a tick in progress is ``STARTED``)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return [
            tick.status
            for state in instance.all_instigator_state()
            if state.instigator_name == name
            for tick in instance.get_ticks(state.instigator_origin_id, state.selector_id)
        ]


def wait_for(condition, timeout: float, what: str, daemon: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert daemon.poll() is None, f"the daemon exited while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(1)


@pytest.mark.slow
def test_the_daemon_posts_one_alert_per_failed_run_without_secrets(
    tmp_path, pg_admin_url, landing, connect_url
):
    home = postgres_home(tmp_path / "home", pg_admin_url, "dagster_alerts")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: roles_assets.definitions\n"
        "      location_name: roles_assets\n"
    )
    password = "Wareh0use-pw"
    # Nothing listens there: the day's run fails at its first connection to the warehouse.
    port = free_port()
    database_url = f"postgresql://loader:{password}@127.0.0.1:{port}/roles"
    webhook = RecordingWebhook()

    def ended_ticks() -> int:
        statuses = sensor_ticks(home, "failure_alert")
        return 0 if TickStatus.STARTED in statuses else len(statuses)

    env = {
        **child_env(),
        "DAGSTER_HOME": str(home),
        "ROLES_LANDING_DIR": str(landing),
        "ROLES_RAW_PATH": str(tmp_path / "raw"),
        "ROLES_DATABASE_URL": database_url,
        "ROLES_ALERT_WEBHOOK_URL": webhook.url,
        "ROLES_UI_URL": "http://dagster.example.com:3000",
        "ROLES_SPARK_REMOTE": connect_url,
    }
    # Landed before the daemon starts: the landing sensor's first tick registers the day and
    # launches its run through the queue. The run fails seconds after the failure sensor's first
    # tick, which it needs (a run-status sensor reports runs that end after its first tick).
    write_day(landing, "2026-12-01", roles=[role(1, agent_ids=[10])])
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [DAEMON, "run", "-w", str(workspace)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: webhook.messages(), 300, "alert", daemon)
        # A second message, if any, would come with the sensor's next tick: wait for one to end.
        wait_for(lambda: ended_ticks() > 0, 60, "the alerting tick to end", daemon)
        alerted = ended_ticks()
        wait_for(lambda: ended_ticks() > alerted, 90, "the next failure_alert tick", daemon)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()
        webhook.close()

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert webhook.messages() == [
        {
            "text": (
                "roles_assets run failed: sync day 2026-12-01, step staging_tables\n"
                "error: roles_assets.resources.postgres.DatabaseUnavailable: cannot connect to "
                f"PostgreSQL at 127.0.0.1:{port}/roles after 3 attempts: connection to server at "
                f'"127.0.0.1", port {port} failed: Connection refused'
                f"\nrun: {run.run_id}\nhttp://dagster.example.com:3000/runs/{run.run_id}"
            )
        }
    ]
    text = webhook.messages()[0]["text"]
    assert password not in text and database_url not in text and TOKEN not in text
    assert TOKEN not in (tmp_path / "daemon.log").read_text()
