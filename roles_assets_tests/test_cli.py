"""`dagster asset materialize`, as a user runs it: a fresh DAGSTER_HOME, nothing set up first."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from roles_assets_dev import local_postgres
from roles_assets_tests.conftest import role, write_day

DAGSTER = str(Path(sys.executable).parent / "dagster")


def cli_env(tmp_path: Path, landing: Path, database_url: str) -> dict:
    """The environment a user sets: a fresh DAGSTER_HOME and the three ROLES_* variables."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ROLES_LANDING_DIR": str(landing),
        "ROLES_DATABASE_URL": database_url,
        "ROLES_RAW_PATH": str(tmp_path / "raw"),
    }


def start_materialize(day: str, env: dict, new_session: bool = False) -> subprocess.Popen:
    """Starts the CLI; ``new_session`` puts it and its JVM in a process group of their own."""
    return subprocess.Popen(
        [DAGSTER, "asset", "materialize", "-m", "roles_assets", "--select", "*", "--partition", day],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=new_session,
    )


def materialize(day: str, env: dict) -> subprocess.CompletedProcess:
    run = start_materialize(day, env)
    stdout, stderr = run.communicate(timeout=300)
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


@pytest.mark.slow
def test_cli_materializes_days_out_of_order_on_a_fresh_home(tmp_path, landing, pg_admin_url):
    write_day(landing, "day2", roles=[role(1, "old name", [10, 11])])
    write_day(landing, "day10", roles=[role(1, "new name", [10]), role(2, "two", [20])])
    database_url = local_postgres.create_database(pg_admin_url, "cli_test")
    env = cli_env(tmp_path, landing, database_url)

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
