"""`make run` and `make dev`: the graph on the landed days, with nothing to set up by hand.

Without ``ROLES_DATABASE_URL`` a project-local PostgreSQL is started (see local_postgres.py).
``DAGSTER_HOME`` defaults to ``.local/dagster_home``, so runs show up in ``make dev`` later.
"""

import argparse
import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DAGSTER_YAML = """\
telemetry:
  enabled: false
run_queue:
  # Each run holds a Spark driver; two at a time fit a small machine.
  max_concurrent_runs: 2
"""


# Step-by-step events stay in the run log (see `make dev`); the terminal gets warnings and up.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def prepare_environment() -> None:
    if not os.environ.get("ROLES_DATABASE_URL"):
        from roles_assets import local_postgres

        os.environ["ROLES_DATABASE_URL"] = local_postgres.start()
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_DIR / ".local" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML)


def materialize_landed_days() -> int:
    import dagster as dg

    from roles_assets.definitions import LANDING_DIR, defs
    from roles_assets.partitions import landed_days, register_days
    from roles_assets.resources.postgres import PostgresResource

    instance = dg.DagsterInstance.get()
    days = landed_days(Path(LANDING_DIR))
    register_days(instance, days)
    job = defs.resolve_implicit_global_asset_job_def()
    failed = []
    for day in days:
        result = job.execute_in_process(
            partition_key=day, instance=instance, raise_on_error=False, run_config=QUIET
        )
        print(f"{day}: {'ok' if result.success else 'FAILED'} (run {result.run_id})")
        if not result.success:
            failed.append(day)

    postgres = PostgresResource(database_url=os.environ["ROLES_DATABASE_URL"])
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
        dagster = str(Path(sys.executable).parent / "dagster")
        os.execv(dagster, [dagster, "dev", "-w", str(PROJECT_DIR / "workspace.yaml")])
    return materialize_landed_days()


if __name__ == "__main__":
    sys.exit(main())
