"""What happens when things go wrong: nothing lost, nothing half-applied, nobody in."""

import os
import shutil
import signal
import time
import uuid
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from roles_assets.resources.postgres import DatabaseUnavailable, PostgresResource
from roles_assets.resources.staging_io import PostgresPartitionIOManager, StagingWriteFailed
from roles_assets.warehouse.sql import ADVISORY_LOCK_NAMESPACE, APPLY_LOCK
from roles_assets.warehouse.staging import drop_abandoned_load_tables
from roles_assets_tests.helpers import (
    POSTGRES_ASSETS,
    D,
    assert_secret_kept,
    cli_env,
    failure_text,
    materialized,
    postgres_home,
    role,
    start_materialize,
    write_day,
)


def _final_and_staging(graph):
    return graph.final_rows(), graph.query(
        "SELECT sync_day, count(*) FROM stg_agent_roles GROUP BY 1 ORDER BY 1"
    )


# Each a day whose snapshot holds no valid role, and the error rows it keeps for inspection.
EMPTY_SNAPSHOTS = {
    "2026-01-02": ("no admin_roles folder", ["UNKNOWN_ROLE"]),  # its agent names a role not valid
    "2026-01-03": ("empty folder", []),
    "2026-01-04": ("empty list", []),
    "2026-01-05": ("all rejected", ["MISSING_NAME", "MISSING_ROLE_ID"]),
}


def test_an_empty_snapshot_never_wipes_the_final_tables(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, agent_ids=[10]), role(2, agent_ids=[20])])
    graph.run("2026-01-01")
    before = graph.final_rows()
    write_day(landing, "2026-01-02", agents=[{"id": 10, "role_ids": [1]}])
    (landing / "2026-01-02" / "admin_roles").rmdir()
    write_day(landing, "2026-01-03")
    write_day(landing, "2026-01-04", roles=[])
    write_day(landing, "2026-01-05", roles=[role(1, name=""), role(None, agent_ids=[10])])

    for day, (snapshot, kept_errors) in EMPTY_SNAPSHOTS.items():
        result = graph.run(day, raise_on_error=False)
        assert not result.success, snapshot
        (empty,) = [
            c
            for c in result.get_asset_check_evaluations()
            if c.check_name == "stg_roles_snapshot_not_empty"
        ]
        assert not empty.passed, snapshot
        assert "no valid role" in empty.description and "left untouched" in empty.description
        assert graph.final_rows() == before, snapshot
        # The day's staging and error rows stay for inspection.
        errors = graph.query(
            "SELECT error_type FROM role_pipeline_errors WHERE sync_day = %s ORDER BY 1", (day,)
        )
        assert [e for (e,) in errors] == kept_errors, snapshot
    assert graph.query("SELECT sync_day, applied FROM sync_days ORDER BY 1") == [
        ("2026-01-01", True)
    ]


def _load_pairs(graph, day: str, pointer: str) -> list[tuple]:
    """The pairs of the day's staged (or applied) load of stg_agent_roles."""
    return sorted(
        graph.query(
            "SELECT s.agent_id, s.role_id FROM stg_agent_roles s"
            f" JOIN staging_loads l USING (load_id) WHERE l.sync_day = %s AND l.{pointer}",
            (day,),
        )
    )


def test_a_replay_reads_what_was_applied_not_a_refused_restaging(graph, landing):
    days = ["2026-01-01", "2026-01-02", "2026-01-03"]
    for day in days:
        write_day(landing, day, roles=[role(1, agent_ids=[10, 11])])
    graph.load(days)
    staged_day2 = graph.query(
        "SELECT agent_id, role_id FROM stg_agent_roles WHERE sync_day = '2026-01-02'"
    )

    # Day 2 is re-landed empty: its staging is replaced, then its check refuses it.
    write_day(landing, "2026-01-02", roles=[])
    assert not graph.run("2026-01-02", raise_on_error=False).success
    assert _load_pairs(graph, "2026-01-02", "staged") == []

    # A backfill replays the applied days: day 2 as it was applied, not as an empty (complete)
    # day that would remove both pairs until day 3 assigns them again.
    write_day(landing, "2025-12-31", roles=[role(1, agent_ids=[10])])
    backfill = graph.run("2025-12-31")
    assert graph.mapping() == {
        (10, 1): ("assigned", D(2025, 12, 31), None),
        (11, 1): ("assigned", D(2026, 1, 1), None),
    }
    assert materialized(backfill, "agent_role_mapping")["replayed_applied_staging_of"] == [
        "2026-01-02"
    ]
    # The refused staging stays in place for inspection; the applied one is kept beside it.
    assert _load_pairs(graph, "2026-01-02", "staged") == []
    assert _load_pairs(graph, "2026-01-02", "applied") == sorted(staged_day2)

    # Once the day applies again, its new staging counts and nothing is kept aside: one load
    # per day and staging table, both staged and applied, and no other partition.
    write_day(landing, "2026-01-02", roles=[role(1, agent_ids=[10, 11, 12])])
    graph.run("2026-01-02")
    assert graph.mapping()[(12, 1)] == ("removed", D(2026, 1, 2), D(2026, 1, 3))  # day 3 lacks it
    assert _load_pairs(graph, "2026-01-02", "applied") == [(10, 1), (11, 1), (12, 1)]
    assert graph.query(
        "SELECT count(*) FILTER (WHERE staged AND applied), count(*) FROM staging_loads"
    ) == [(12, 12)]
    assert graph.query(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = ANY (ARRAY["
        "'stg_roles'::regclass, 'stg_agent_roles'::regclass, 'role_pipeline_errors'::regclass])"
    ) == [(12,)]


def test_mass_removal_is_refused_unless_overridden(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, agent_ids=range(10, 20))])
    write_day(landing, "2026-01-02", roles=[role(1, name="renamed", agent_ids=[10, 11, 12])])
    graph.run("2026-01-01")
    before = graph.final_rows()

    refused = graph.run("2026-01-02", raise_on_error=False)
    assert not refused.success
    message = failure_text(refused)
    assert "would remove 7 of 10 assigned mappings (70%)" in message
    assert "allow_mass_removal" in message
    assert graph.final_rows() == before  # not even the rename went through
    check = removals_check(refused)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "would remove 7 of 10" in check.description
    assert removal_figures(check) == (7, 10, 0.7, 0.5, False)

    override = {"ops": {"final_tables": {"config": {"allow_mass_removal": True}}}}
    graph.register("2026-01-02")
    allowed = graph.job.execute_in_process(
        partition_key="2026-01-02", instance=graph.instance, run_config=override
    )
    assert allowed.success
    # Applied beyond the limit on purpose: a warning on the check, not a failed run.
    check = removals_check(allowed)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert removal_figures(check) == (7, 10, 0.7, 0.5, True)
    statuses = [state[0] for state in graph.mapping().values()]
    assert statuses.count("removed") == 7 and statuses.count("assigned") == 3
    assert graph.query("SELECT name FROM roles") == [("renamed",)]


def removals_check(result):
    (check,) = [
        c
        for c in result.get_asset_check_evaluations()
        if c.check_name == "agent_role_mapping_removals_within_limit"
    ]
    return check


def removal_figures(check) -> tuple:
    """(removed, assigned before, share, limit, override) as the check recorded them."""
    keys = [
        "removed",
        "assigned_before",
        "removal_share",
        "max_removal_share",
        "allow_mass_removal",
    ]
    return tuple(check.metadata[key].value for key in keys)


def test_a_replay_that_would_remove_too_much_is_refused_and_later_replays_skip_it(graph, landing):
    team = list(range(10, 20))
    for day in ["2026-01-02", "2026-01-03"]:
        write_day(landing, day, roles=[role(1, agent_ids=team)])
    first = graph.run("2026-01-02")
    assert removal_figures(removals_check(first)) == (0, 0, 0.0, 0.5, False)
    assert removals_check(first).passed
    graph.run("2026-01-03")
    before = graph.final_rows()
    staged_day3 = graph.query("SELECT agent_id FROM stg_agent_roles WHERE sync_day = '2026-01-03'")

    # A re-run of the newest applied day is a replay, and the guard covers it.
    write_day(landing, "2026-01-03", roles=[role(1, agent_ids=team[:3])])
    rerun = graph.run("2026-01-03", raise_on_error=False)
    assert not rerun.success
    assert "would remove 7 of 10 assigned mappings (70%)" in failure_text(rerun)
    assert removal_figures(removals_check(rerun)) == (7, 10, 0.7, 0.5, False)
    assert graph.final_rows() == before
    # The refused rows stay in staging; a later replay reads what day 3 was applied with.
    assert len(_load_pairs(graph, "2026-01-03", "staged")) == 3

    # A backfill replays day 3 from its kept applied staging (its refused rows would remove 7
    # pairs again, and the guard would refuse the backfill too).
    write_day(landing, "2025-12-30", roles=[role(1, agent_ids=[10])])
    backfill = graph.run("2025-12-30")
    assert materialized(backfill, "agent_role_mapping")["replayed_applied_staging_of"] == [
        "2026-01-03"
    ]
    assert {pair: state[0] for pair, state in graph.mapping().items() if pair[1] == 1} == {
        (agent, 1): "assigned" for agent in team
    }
    applied_agents = [(agent,) for agent, _ in _load_pairs(graph, "2026-01-03", "applied")]
    assert applied_agents == sorted(staged_day3)


def test_a_failure_inside_the_apply_leaves_the_final_tables_as_they_were(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, "one", [10, 11])])
    write_day(landing, "2026-01-02", roles=[role(1, "two", [10]), role(2, "new", [20])])
    graph.run("2026-01-01")
    before = graph.final_rows()
    # A real database error in the last statement of the apply (the removals).
    graph.query(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RAISE EXCEPTION 'injected fault'; END$$;"
        "CREATE TRIGGER refuse_removal BEFORE UPDATE ON agent_role_mapping"
        " FOR EACH ROW WHEN (NEW.status = 'removed') EXECUTE FUNCTION refuse()"
    )
    failed = graph.run("2026-01-02", raise_on_error=False)
    assert not failed.success
    assert graph.final_rows() == before  # the roles upsert and the insert of (20, 2) rolled back
    assert graph.query("SELECT sync_day FROM sync_days WHERE applied") == [("2026-01-01",)]

    graph.query("DROP TRIGGER refuse_removal ON agent_role_mapping")
    assert graph.run("2026-01-02").success
    assert {pair: s[0] for pair, s in graph.mapping().items()} == {
        (10, 1): "assigned",
        (11, 1): "removed",
        (20, 2): "assigned",
    }


@pytest.mark.local_spark_too  # the driver's reason and no secret, as each Spark mode reports it
def test_a_failed_staging_write_keeps_the_previous_partition(
    graph, landing, password_in_url, capfd, caplog
):
    secret = password_in_url(graph)
    write_day(landing, "2026-01-01", roles=[role(1, "one", [10, 11])])
    graph.run("2026-01-01")
    # New load tables copy this NOT NULL column but not its (dropped) default, so Spark's insert
    # into the load table of stg_agent_roles fails.
    graph.query(
        "ALTER TABLE stg_agent_roles ADD COLUMN required int NOT NULL DEFAULT 0; "
        "ALTER TABLE stg_agent_roles ALTER COLUMN required DROP DEFAULT"
    )
    write_day(landing, "2026-01-01", roles=[role(1, "one", [10, 11, 12])])
    failed = graph.run("2026-01-01", raise_on_error=False)
    assert not failed.success
    target = graph.database_url.split("@", 1)[1]
    message = failure_text(failed)
    assert (
        f"writing stg_agent_roles for sync day '2026-01-01' to PostgreSQL at {target} failed"
        in message
    )
    assert "required" in message  # the driver's reason: the column that was left NULL
    assert_secret_kept(secret, failed, graph.instance, capfd, caplog)
    graph.query("ALTER TABLE stg_agent_roles DROP COLUMN required")
    assert graph.query("SELECT agent_id FROM stg_agent_roles ORDER BY 1") == [(10,), (11,)]
    assert graph.query(
        "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%%\\_\\_load\\_%%'"
    ) == [(0,)]


def _staging_by_day(graph, days) -> dict:
    """Every staging table's rows per day, without the columns a clock or a sequence fills."""
    statements = {
        "stg_roles": "SELECT role_id, name, description, is_default, agent_type, created_at,"
        " updated_at, source FROM stg_roles WHERE sync_day = %s",
        "stg_agent_roles": "SELECT agent_id, role_id, status, updated_at FROM stg_agent_roles"
        " WHERE sync_day = %s",
        "role_pipeline_errors": "SELECT role_id, agent_id, error_type, error_message,"
        " raw_record::text,"
        " source_file FROM role_pipeline_errors WHERE sync_day = %s",
    }
    return {
        (table, day): sorted(graph.query(statement, (day,)), key=repr)
        for table, statement in statements.items()
        for day in days
    }


@pytest.mark.slow
def test_concurrent_runs_end_like_sequential_ones(
    make_graph, landing, tmp_path, pg_admin_url, connect_url
):
    days = ["day1", "day2", "day3"]
    team = list(range(100, 110))  # enough stable assignments to stay under the mass-removal guard
    write_day(
        landing, "day1", roles=[role(1, "a", [10, 11]), role(2, "b", [20]), role(9, "team", team)]
    )
    write_day(
        landing,
        "day2",
        roles=[role(1, "a2", [10]), role(2, "b", [20, 21]), role(9, "team", team)],
        files={"admin_roles/broken.json": "[{"},
    )
    write_day(
        landing, "day3", roles=[role(1, "a3", [11]), role(3, "c", [30]), role(9, "team", team)]
    )
    sequential = make_graph()  # the days applied one after another, in one range run
    sequential.load(days)

    # Real CLI runs in separate processes, as a parallel backfill launches them, plus the same day
    # twice at once (a sensor run racing a manual one), on a fresh PostgreSQL-backed instance:
    # each run's code location registers the landed days itself.
    concurrent = make_graph()
    env = cli_env(tmp_path, landing, concurrent.database_url, spark_remote=connect_url)
    postgres_home(Path(env["DAGSTER_HOME"]), pg_admin_url, f"dagster_{uuid.uuid4().hex[:8]}")
    # The test holds the apply lock, so every run stages its day and then waits to apply it.
    holder = psycopg2.connect(concurrent.database_url)
    holder.autocommit = True
    with holder.cursor() as cur:
        PostgresResource(database_url=concurrent.database_url).migrate()
        cur.execute("SELECT pg_advisory_lock(%s, %s)", (ADVISORY_LOCK_NAMESPACE, APPLY_LOCK))
        runs = [start_materialize(day, env) for day in days + ["day2"]]
        deadline = time.monotonic() + 480
        waiting = 0
        while waiting < len(runs):
            assert time.monotonic() < deadline, f"only {waiting} runs reached the apply lock"
            assert all(run.poll() is None for run in runs), (
                "a run ended while the apply lock was held"
            )
            time.sleep(0.2)
            cur.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = %s AND objid = %s",
                (ADVISORY_LOCK_NAMESPACE, APPLY_LOCK),
            )
            (waiting,) = cur.fetchone()
        cur.execute("SELECT pg_advisory_unlock(%s, %s)", (ADVISORY_LOCK_NAMESPACE, APPLY_LOCK))
    holder.close()
    for run in runs:
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-3000:]
    assert concurrent.final_rows() == sequential.final_rows()
    assert _staging_by_day(concurrent, days) == _staging_by_day(sequential, days)
    assert concurrent.query("SELECT sync_day FROM sync_days WHERE applied ORDER BY 1") == [
        (d,) for d in days
    ]


@pytest.mark.parametrize(
    "database_url",
    [
        "postgresql://roles:s3cr%40t-pw@127.0.0.1:9/rolesdb",
        "postgresql://roles@127.0.0.1:9/rolesdb?sslmode=disable&password=s3cr%40t-pw",
    ],
)
def test_unreachable_database_names_host_and_database_but_never_the_password(database_url):
    postgres = PostgresResource(database_url=database_url, connect_attempts=2)
    with pytest.raises(DatabaseUnavailable) as raised:
        postgres.connect()
    message = str(raised.value)
    assert "127.0.0.1:9/rolesdb" in message and "after 2 attempts" in message
    assert "s3cr" not in message
    # Spark gets the password as a driver property, never inside the JDBC URL.
    assert "s3cr" not in postgres.jdbc_url()
    assert postgres.jdbc_properties()["password"] == "s3cr@t-pw"


def test_the_password_never_reaches_logs_events_or_metadata(
    graph, landing, password_in_url, capfd, caplog
):
    secret = password_in_url(graph)
    write_day(landing, "2026-01-01", roles=[role(1, agent_ids=[10])])
    result = graph.run("2026-01-01")
    assert result.success
    assert_secret_kept(secret, result, graph.instance, capfd, caplog)


@pytest.mark.slow
def test_a_killed_run_leaves_every_table_whole_and_a_rerun_completes(graph, landing, tmp_path):
    write_day(landing, "2026-01-01", roles=[role(1, "one", range(10, 20))])
    write_day(landing, "2026-01-02", roles=[role(1, "two", range(10, 18)), role(2, "new", [30])])
    graph.run("2026-01-01")
    before = _final_and_staging(graph)
    # The killed run writes its raw Parquet where the rerun reads and writes it.
    env = cli_env(tmp_path, landing, graph.database_url) | {"ROLES_RAW_PATH": str(graph.raw_path)}

    # SIGKILL the whole run while Spark is writing a staging table.
    run = start_materialize("2026-01-02", env, new_session=True)
    deadline = time.monotonic() + 240
    while not graph.query("SELECT 1 FROM pg_tables WHERE tablename LIKE 'stg%%load%%'"):
        assert run.poll() is None and time.monotonic() < deadline, (
            "the run ended before it was killed"
        )
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()

    assert _final_and_staging(graph) == before
    # The abandoned load table is swept by a later write once it is old; here it is just there.
    # The rerun's Spark mode is not what is tested: it runs on the suite's Connect server.
    assert graph.run("2026-01-02").success
    assert graph.query("SELECT name FROM roles ORDER BY role_id") == [("two",), ("new",)]
    assert [s[0] for s in graph.mapping().values()].count("removed") == 2


def test_load_tables_abandoned_by_killed_runs_are_swept(graph):
    PostgresResource(database_url=graph.database_url).migrate()
    fresh = f"stg_roles__load_{int(time.time())}_live"
    graph.query(f"CREATE TABLE stg_roles__load_1000_dead (x int); CREATE TABLE {fresh} (x int)")
    conn = psycopg2.connect(graph.database_url)
    with conn, conn.cursor() as cur:
        drop_abandoned_load_tables(cur, "stg_roles")
    conn.close()
    assert graph.query(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE 'stg_roles__load%%'"
    ) == [(fresh,)]


@pytest.mark.local_spark_too  # the driver's words, as each Spark mode reports them
def test_staged_rows_that_break_a_key_fail_the_write_and_keep_the_day(graph, landing, spark):
    write_day(landing, "2026-01-01", roles=[role(1, agent_ids=[10, 11])])
    graph.run("2026-01-01")
    staged = "SELECT agent_id, role_id FROM stg_agent_roles ORDER BY 1, 2"
    assert graph.query(staged) == [(10, 1), (11, 1)]

    manager = PostgresPartitionIOManager(postgres=PostgresResource(database_url=graph.database_url))
    duplicated = spark.createDataFrame(
        [(12, 1, "assigned", "2026-01-01"), (12, 1, "assigned", "2026-01-01")],
        "agent_id bigint, role_id bigint, status string, sync_day string",
    )
    with pytest.raises(
        StagingWriteFailed,
        match=r"break the table's key; the day's previous rows are kept"
        r".*\(12, 1, \d+\) is duplicated",  # the pair, in the load of the day's rows
    ):
        manager.replace_days("stg_agent_roles", ["2026-01-01"], duplicated)
    missing_role = spark.createDataFrame([(13, None, "assigned", "2026-01-01")], duplicated.schema)
    with pytest.raises(
        StagingWriteFailed, match='previous rows are kept.*null value in column "role_id"'
    ):
        manager.replace_days("stg_agent_roles", ["2026-01-01"], missing_role)

    assert graph.query(staged) == [(10, 1), (11, 1)]
    assert (
        graph.query("SELECT tablename FROM pg_tables WHERE tablename LIKE '%%\\_\\_load\\_%%'")
        == []
    )


def test_a_day_whose_folder_is_gone_fails_naming_it_and_changes_nothing(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, agent_ids=[10])])
    graph.run("2026-01-01")  # registered as a partition, as it stays after its folder goes
    before = graph.final_rows()
    shutil.rmtree(landing / "2026-01-01")
    failed = graph.run("2026-01-01", raise_on_error=False)
    assert not failed.success
    assert "sync day '2026-01-01'" in failed_step_text(failed, "landed_day")
    assert graph.final_rows() == before
    assert graph.query("SELECT count(*) FROM stg_agent_roles") == [(1,)]


def test_a_failed_spark_job_leaves_every_table_as_it_was(graph, landing):
    write_day(landing, "2026-01-01", roles=[role(1, "one", [10, 11])])
    graph.run("2026-01-01")
    before = graph.final_rows(), graph.query("SELECT * FROM stg_agent_roles ORDER BY 1, 2")
    write_day(landing, "2026-01-01", roles=[role(1, "two", [10])])
    keys = [dg.AssetKey(name) for name in ("landed_day", "raw_roles")]
    graph.job.execute_in_process(
        partition_key="2026-01-01", instance=graph.instance, asset_selection=keys
    )
    # The raw Parquet the staging step reads is damaged: Spark's job fails while staging it.
    for part in (graph.raw_path / "raw_roles").rglob("*.parquet"):
        part.write_bytes(b"PAR1 not parquet")
    failed = graph.job.execute_in_process(
        partition_key="2026-01-01",
        instance=graph.instance,
        raise_on_error=False,
        asset_selection=[dg.AssetKey(name) for name in POSTGRES_ASSETS],
    )
    assert not failed.success
    assert "staging_tables" in [
        e.step_key for e in failed.all_events if e.event_type_value == "STEP_FAILURE"
    ]
    assert (
        graph.final_rows(),
        graph.query("SELECT * FROM stg_agent_roles ORDER BY 1, 2"),
    ) == before
    assert graph.query(
        "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%%\\_\\_load\\_%%'"
    ) == [(0,)]


def failed_step_text(result, step_key: str) -> str:
    (failure,) = [
        e
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE" and e.step_key == step_key
    ]
    return failure.step_failure_data.error.message
