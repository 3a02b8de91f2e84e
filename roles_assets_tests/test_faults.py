"""PostgreSQL going away mid-run: a clear failure, nothing half-applied, the next run completes.

These tests restart or stop a server, so each gets a server of its own.
"""

import logging
import os
import signal
import threading
import time
import uuid

import psycopg2
import pytest

from roles_assets.resources.postgres import DatabaseUnavailable, PostgresResource
from roles_assets_dev import local_postgres
from roles_assets_tests.helpers import (
    Graph,
    Server,
    assert_secret_kept,
    cli_env,
    failure_text,
    role,
    start_materialize,
    write_day,
)

# Where a run can be held, as (SQL that holds it, SQL that releases it): inside the staging step
# (creating a load table) or inside the final apply (upserting roles). A held backend sleeps, so
# the test finds it in pg_stat_activity and acts while the run is at that point.
HOLD_POINTS = {
    "staging": (
        "CREATE FUNCTION hold_load_table() RETURNS event_trigger LANGUAGE plpgsql AS"
        " $$BEGIN IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands()"
        "  WHERE object_identity LIKE '%\\_\\_load\\_%') THEN PERFORM pg_sleep(60); END IF; END$$;"
        "CREATE EVENT TRIGGER hold_staging ON ddl_command_end WHEN TAG IN ('CREATE TABLE')"
        " EXECUTE FUNCTION hold_load_table()",
        "DROP EVENT TRIGGER hold_staging",
    ),
    "apply": (
        "CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN PERFORM pg_sleep(60); RETURN NULL; END$$;"
        "CREATE TRIGGER hold_apply BEFORE INSERT ON roles FOR EACH STATEMENT"
        " EXECUTE FUNCTION hold()",
        "DROP TRIGGER hold_apply ON roles",
    ),
}


@pytest.fixture
def server():
    server = Server()
    yield server
    server.remove()


@pytest.fixture
def own_graph(server, landing, tmp_path, spark_remote):
    import dagster as dg

    with dg.instance_for_test() as instance:
        url = local_postgres.create_database(server.admin_url, "faults")
        yield Graph(landing, url, tmp_path / "raw", instance, spark_remote)


def _two_days(landing) -> None:
    write_day(landing, "2026-01-01", roles=[role(1, "one", range(10, 20))])
    write_day(landing, "2026-01-02", roles=[role(1, "two", range(10, 18)), role(2, "new", [30])])


def _tables(graph, staging: bool = True) -> dict:
    """The final tables and applied days, and the staged pairs per day when ``staging``."""
    tables = graph.final_rows() | {
        "applied": graph.query("SELECT sync_day FROM sync_days WHERE applied ORDER BY 1"),
    }
    if staging:
        tables["staging"] = graph.query(
            "SELECT sync_day, count(*) FROM stg_agent_roles GROUP BY 1 ORDER BY 1"
        )
    return tables


def _when_held(graph, action, timeout: float = 120) -> threading.Thread:
    """Runs ``action`` in a thread once some backend sleeps in ``hold`` (fails the test if none)."""
    failures = []

    def wait_then_act():
        deadline = time.monotonic() + timeout
        while not graph.query("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep'"):
            if time.monotonic() > deadline:
                failures.append("the run never reached the held statement")
                return
            time.sleep(0.05)
        action()

    thread = threading.Thread(target=wait_then_act)
    thread.failures = failures
    thread.start()
    return thread


def _assert_second_day_applied(graph) -> None:
    assert graph.query("SELECT role_id, name FROM roles ORDER BY 1") == [(1, "two"), (2, "new")]
    status = {pair: s[0] for pair, s in graph.mapping().items()}
    assert status == {
        **{(a, 1): "assigned" for a in range(10, 18)},
        (18, 1): "removed",
        (19, 1): "removed",
        (30, 2): "assigned",
    }


@pytest.mark.parametrize("point", sorted(HOLD_POINTS))
def test_a_restart_mid_run_fails_clearly_and_the_next_run_completes(
    own_graph, server, landing, point, password_in_url, capfd, caplog
):
    secret = password_in_url(own_graph)
    _two_days(landing)
    own_graph.run("2026-01-01")
    # Held in the apply, the day's staging has already been replaced, as it should be.
    with_staging = point == "staging"
    before = _tables(own_graph, with_staging)
    hold, release = HOLD_POINTS[point]
    own_graph.query(hold)

    restarter = _when_held(own_graph, server.restart)
    failed = own_graph.run("2026-01-02", raise_on_error=False)
    restarter.join()
    assert not restarter.failures, restarter.failures

    assert not failed.success
    message = failure_text(failed)
    target = own_graph.database_url.split("@", 1)[1]  # host:port/database
    assert f"lost the connection to PostgreSQL at {target}" in message, message
    assert_secret_kept(secret, failed, own_graph.instance, capfd, caplog)
    assert _tables(own_graph, with_staging) == before

    own_graph.query(release)
    assert own_graph.run("2026-01-02").success
    _assert_second_day_applied(own_graph)


def test_a_transient_connect_failure_is_retried_and_the_run_succeeds(own_graph, server, landing):
    _two_days(landing)
    own_graph.run("2026-01-01")
    server.stop()

    class StartServerOnFirstRetry(logging.Handler):
        retries = 0

        def emit(self, record):
            if "retrying" in record.getMessage():
                StartServerOnFirstRetry.retries += 1
                if self.retries == 1:
                    server.start()  # back before the next attempt

    handler = StartServerOnFirstRetry(level=logging.WARNING)
    postgres_log = logging.getLogger("roles_assets.resources.postgres")
    postgres_log.addHandler(handler)
    try:
        result = own_graph.run("2026-01-02")
    finally:
        postgres_log.removeHandler(handler)
    assert result.success
    assert StartServerOnFirstRetry.retries == 1
    _assert_second_day_applied(own_graph)


def test_an_unreachable_server_fails_the_run_naming_it_but_not_the_password(
    own_graph, server, landing, password_in_url, capfd, caplog
):
    secret = password_in_url(own_graph)
    _two_days(landing)
    own_graph.run("2026-01-01")
    server.stop()
    try:
        failed = own_graph.run("2026-01-02", raise_on_error=False)
    finally:
        server.start()
    assert not failed.success
    target = own_graph.database_url.split("@", 1)[1]
    assert f"cannot connect to PostgreSQL at {target} after 3 attempts" in failure_text(failed)
    assert_secret_kept(secret, failed, own_graph.instance, capfd, caplog)


def test_connect_retries_are_bounded(server):
    server.stop()
    postgres = PostgresResource(database_url=server.admin_url, connect_attempts=3)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="after 3 attempts"):
        postgres.connect()
    # A back-off of 1 s, then 2 s, between the three attempts: neither a hammering nor a hang.
    assert 3 <= time.monotonic() - started < 10
    server.start()
    with postgres.transaction() as cur:  # the same resource works once the server is back
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


def test_connecting_never_migrates_the_schema_and_migrating_twice_applies_nothing(pg_admin_url):
    postgres = PostgresResource(
        database_url=local_postgres.create_database(pg_admin_url, f"m_{uuid.uuid4().hex[:12]}")
    )

    def tables() -> set[str]:
        with postgres.transaction() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {name for (name,) in cur.fetchall()}

    assert tables() == set()  # a transaction of its own made nothing either
    assert postgres.migrate() == ["001_initial.sql", "002_exemptions_of_one_load.sql"]
    assert {"schema_migrations", "roles", "stg_roles", "staging_loads"} <= tables()
    assert postgres.migrate() == []


@pytest.mark.slow
def test_a_run_killed_inside_the_apply_leaves_every_table_whole(
    own_graph, landing, tmp_path, connect_url
):
    _two_days(landing)
    own_graph.run("2026-01-01")
    before = _tables(own_graph, staging=False)
    hold, release = HOLD_POINTS["apply"]
    own_graph.query(hold)
    # A killed client is noticed at once, not when the held statement ends.
    own_graph.query(
        f"ALTER DATABASE {own_graph.database_url.rsplit('/', 1)[1]}"
        " SET client_connection_check_interval = '100ms'"
    )

    # Spark's part is over when the apply holds: its work is the suite's warm Connect server's.
    env = cli_env(tmp_path, landing, own_graph.database_url, spark_remote=connect_url)
    run = start_materialize("2026-01-02", env, new_session=True)
    killer = _when_held(own_graph, lambda: os.killpg(run.pid, signal.SIGKILL), timeout=240)
    killer.join()
    run.wait()
    assert not killer.failures, killer.failures
    assert run.returncode == -signal.SIGKILL

    assert _tables(own_graph, staging=False) == before
    own_graph.query(release)
    assert own_graph.run("2026-01-02").success
    _assert_second_day_applied(own_graph)


def test_a_lost_connection_rolls_back_and_names_the_server(server):
    postgres = PostgresResource(database_url=server.admin_url)
    with postgres.transaction() as cur:
        cur.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)")
    with (
        pytest.raises(DatabaseUnavailable, match="lost the connection to PostgreSQL at 127.0.0.1"),
        postgres.transaction() as cur,
    ):
        cur.execute("INSERT INTO kept VALUES (2)")
        server.restart()
        cur.execute("INSERT INTO kept VALUES (3)")
    conn = psycopg2.connect(server.admin_url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT x FROM kept")
        assert cur.fetchall() == [(1,)]
    conn.close()


def test_the_local_server_says_when_its_port_is_taken(server):
    with pytest.raises(RuntimeError) as failed:
        local_postgres.start(server.base / "second", server.port)
    assert "Address already in use" in str(failed.value)
    assert "set ROLES_LOCAL_PG_PORT to a free port" in str(failed.value)
