"""`make run` and `make dev`: the graph on the landed days, with nothing to set up by hand.

A project-local PostgreSQL is started (see local_postgres.py). It holds the Dagster instance
(runs, event logs, sensor cursors, partitions) in a database of its own, ``dagster``, so that
concurrent runs and `make dev` share it safely, and the warehouse in ``roles`` unless
``ROLES_DATABASE_URL`` names another. ``DAGSTER_HOME`` defaults to ``.local/dagster_home``, so
runs show up in ``make dev`` later.
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from roles_assets.instance import open_instance
from roles_assets_dev import config, local_postgres
from roles_assets_dev.spark_connect import SparkConnectServer

DAGSTER_DATABASE = "dagster"
_WRITTEN_BY = "# Written by roles_assets_dev.run_days; rewritten by each `make run` and `make dev`."

# Step-by-step events stay in the run log (see `make dev`); the terminal gets warnings and up.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def dagster_yaml(
    port: int,
    database: str = DAGSTER_DATABASE,
    max_concurrent_runs: int = config.MAX_CONCURRENT_RUNS,
    pool_limit: int = config.LOAD_POOL_LIMIT,
) -> str:
    """An instance in ``database`` of the project-local server (trust auth, no password), with
    its run queue and its pools' slots bounded for a small machine."""
    return f"""\
{_WRITTEN_BY}
storage:
  # dagster-postgres' storage, its event log holding a connection between writes.
  custom:
    module: roles_assets.instance
    class: HeldConnectionPostgresStorage
    config:
      postgres_db:
        hostname: 127.0.0.1
        port: {port}
        username: {local_postgres.USER}
        db_name: {database}
        # SQLAlchemy maps a plain postgresql:// to psycopg 3; the installed driver is psycopg2.
        scheme: postgresql+psycopg2
telemetry:
  enabled: false
nux:
  enabled: false
concurrency:
  runs:
    # Each run may hold a Spark driver; two at a time fit a small machine.
    max_concurrent_runs: {max_concurrent_runs}
  pools:
    # The heavy steps' pool (roles_load) and any other: one at a time by default, so a backfill
    # never runs two Spark passes or two applies at once.
    default_limit: {pool_limit}
"""


def prepare_environment(
    home: Path = config.DAGSTER_HOME,
    data_dir: Path = config.LOCAL_PG_DATA_DIR,
    port: int = config.LOCAL_PG_PORT,
) -> None:
    """Starts the local server, sets ROLES_DATABASE_URL (if unset) and DAGSTER_HOME, writes
    ``home/dagster.yaml``, unless that file is one of the user's own, and creates the instance's
    storage if missing, before the processes of `make dev` would all create it at once."""
    warehouse_url = local_postgres.start(data_dir, port)
    local_postgres.create_database(warehouse_url.rsplit("/", 1)[0] + "/postgres", DAGSTER_DATABASE)
    os.environ.setdefault("ROLES_DATABASE_URL", warehouse_url)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["DAGSTER_EVENT_BATCH_SIZE"] = config.EVENT_BATCH_SIZE
    home.mkdir(parents=True, exist_ok=True)
    yaml = home / "dagster.yaml"
    if yaml.exists() and not yaml.read_text().startswith(_WRITTEN_BY):
        print(f"keeping your {yaml}", file=sys.stderr)
    else:
        yaml.write_text(dagster_yaml(urlsplit(warehouse_url).port))
    open_instance(home).dispose()


def materialize_landed_days() -> int:
    import dagster as dg

    from roles_assets.definitions import defs
    from roles_assets.partitions import landed_days, register_days
    from roles_assets.resources.postgres import PostgresResource
    from roles_assets.settings import Settings

    instance = dg.DagsterInstance.get()
    days = landed_days(Settings.from_env().landing_dir)
    register_days(instance, days)
    job = defs().resolve_implicit_global_asset_job_def()
    postgres = PostgresResource(database_url=os.environ["ROLES_DATABASE_URL"])
    postgres.migrate()  # the summary below reads the tables even if every run fails early
    failed = []
    for day in days:
        result = job.execute_in_process(
            partition_key=day, instance=instance, raise_on_error=False, run_config=QUIET
        )
        print(f"{day}: {'ok' if result.success else 'FAILED'} (run {result.run_id})")
        if not result.success:
            failed.append(day)

    with postgres.transaction() as cur:
        cur.execute(
            "SELECT sync_day, error_type, count(*) FROM role_pipeline_errors"
            " GROUP BY 1, 2 ORDER BY 1, 2"
        )
        errors = cur.fetchall()
        cur.execute("SELECT count(*) FROM roles")
        (roles,) = cur.fetchone()
        cur.execute("SELECT status, count(*) FROM agent_role_mapping GROUP BY 1 ORDER BY 1")
        mapping = cur.fetchall()
    print(f"\n{len(days) - len(failed)} of {len(days)} days loaded into {postgres.target}")
    print(f"roles: {roles}")
    print("agent_role_mapping: " + ", ".join(f"{status} {count}" for status, count in mapping))
    for day, error_type, count in errors:
        print(f"  {day} {error_type}: {count}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", action="store_true", help="open the Dagster UI instead")
    args = parser.parse_args()
    prepare_environment()
    if args.dev:
        return serve_ui()
    return materialize_landed_days()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve_ui() -> int:
    """`dagster dev` on a warm local Spark Connect server, so that runs from the UI and the
    sensor skip the JVM start; stops both on exit (Ctrl-C)."""
    from roles_assets.resources.spark import jdbc_driver_jar

    server = None
    if not config.OWN_SPARK:
        server = SparkConnectServer(
            config.LOCAL_SPARK_CONNECT_DIR, config.LOCAL_SPARK_CONNECT_PORT, jdbc_driver_jar()
        )
        server.stop()  # one left by a `make dev` that was killed
        os.environ["ROLES_SPARK_REMOTE"] = server.start()
        print(f"Spark Connect server on {server.url}", file=sys.stderr)
    dagster = str(Path(sys.executable).parent / "dagster")
    for stop_signal in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or a supervisor's stop
        signal.signal(stop_signal, _interrupt)
    # Its own process group: `dagster dev` and its children may outlive a SIGINT for a while.
    ui = subprocess.Popen(
        [dagster, "dev", "-w", str(config.PROJECT_DIR / "workspace.yaml")], start_new_session=True
    )
    try:
        return ui.wait()
    except KeyboardInterrupt:
        os.killpg(ui.pid, signal.SIGINT)
        try:
            return ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            return ui.wait()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
