"""`dagster asset materialize`, as a user runs it: a fresh DAGSTER_HOME, nothing set up first.
Spark is the suite's warm Connect server; the CLI on a local JVM is test_wheel's, the bench's
and that of the run test_guards kills."""

import dagster as dg
import psycopg2
import pytest

from roles_assets_dev import local_postgres
from roles_assets_tests.helpers import cli_env, materialize, role, write_day


@pytest.mark.slow
def test_cli_materializes_days_out_of_order_on_a_fresh_home(
    tmp_path, landing, pg_admin_url, connect_url
):
    write_day(landing, "day2", roles=[role(1, "old name", [10, 11])])
    write_day(landing, "day10", roles=[role(1, "new name", [10]), role(2, "two", [20])])
    database_url = local_postgres.create_database(pg_admin_url, "cli_test")
    env = cli_env(tmp_path, landing, database_url, spark_remote=connect_url)

    newer = materialize("day10", env)
    assert newer.returncode == 0, newer.stderr[-3000:]
    older = materialize("day2", env)  # a backfill of an older day must not roll anything back
    assert older.returncode == 0, older.stderr[-3000:]
    assert "RUN_SUCCESS" in older.stderr

    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT role_id, name FROM roles ORDER BY 1")
        assert cur.fetchall() == [(1, "new name"), (2, "two")]
        cur.execute("SELECT agent_id, role_id, status FROM agent_role_mapping ORDER BY 1, 2")
        assert cur.fetchall() == [(10, 1, "assigned"), (11, 1, "removed"), (20, 2, "assigned")]
        cur.execute("SELECT sync_day FROM sync_days WHERE applied ORDER BY day_order")
        assert cur.fetchall() == [("day2",), ("day10",)]
    conn.close()

    unknown = materialize("day3", env)
    assert unknown.returncode != 0
    assert "day3" in unknown.stderr


def removal_checks(env: dict) -> list[tuple]:
    """The removal guard's evaluations in the instance's event log, oldest first:
    (passed, removed, assigned before, limit)."""
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        evaluations = []
        for run in reversed(instance.get_runs()):
            for entry in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ):
                data = entry.dagster_event.event_specific_data
                if data.check_name == "agent_role_mapping_removals_within_limit":
                    meta = {k: v.value for k, v in data.metadata.items()}
                    evaluations.append(
                        (
                            data.passed,
                            meta["removed"],
                            meta["assigned_before"],
                            meta["max_removal_share"],
                        )
                    )
    return evaluations


@pytest.mark.slow
def test_the_removal_limit_is_a_setting_and_a_run_config_override(
    tmp_path, landing, pg_admin_url, connect_url
):
    write_day(landing, "day1", roles=[role(1, agent_ids=range(10, 20))])
    write_day(landing, "day2", roles=[role(1, agent_ids=range(10, 13))])  # removes 7 of 10
    write_day(landing, "day3", roles=[role(1, agent_ids=[10])])  # removes 2 of 3
    database_url = local_postgres.create_database(pg_admin_url, "cli_guard")
    env = cli_env(tmp_path, landing, database_url, spark_remote=connect_url)

    # Days 1 and 2 in one run, as a backfill of them is, under the setting: day 2 removes 7 of
    # 10, beyond the default limit and within the set one.
    first_two = materialize("day1...day2", {**env, "ROLES_MAX_REMOVAL_SHARE": "0.75"})
    assert first_two.returncode == 0, first_two.stderr[-3000:]
    refused = materialize("day3", env)  # the default limit, 0.5
    assert refused.returncode != 0
    assert (
        "would remove 2 of 3 assigned mappings (67%), more than the allowed 50%" in refused.stderr
    )
    allowed = materialize(
        "day3", env, config={"ops": {"final_tables": {"config": {"allow_mass_removal": True}}}}
    )
    assert allowed.returncode == 0, allowed.stderr[-3000:]

    assert removal_checks(env) == [
        (True, 0, 0, 0.75),
        (True, 7, 10, 0.75),
        (False, 2, 3, 0.5),
        (False, 2, 3, 0.5),
    ]
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT agent_id, status FROM agent_role_mapping ORDER BY 1")
        assert cur.fetchall() == [(10, "assigned")] + [(a, "removed") for a in range(11, 20)]
    conn.close()
