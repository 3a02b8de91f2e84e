"""The code location: assets, checks, sensor and resources.

Configuration comes from the environment: ``ROLES_DATABASE_URL`` (required, a secret, read through
``dg.EnvVar`` at run time), ``ROLES_LANDING_DIR`` (default: the bundled sample) and
``ROLES_RAW_PATH`` (where raw Parquet goes; default ``.local/raw``). The Freshdesk API, for
pulling today's day, comes from ``FRESHDESK_BASE_URL`` or ``FRESHDESK_DOMAIN`` and
``FRESHDESK_API_KEY`` (a secret, read through ``dg.EnvVar`` at run time).
"""

import logging
import os
from pathlib import Path

import dagster as dg

from roles_assets.assets.final import final_tables
from roles_assets.assets.landed import landed_day
from roles_assets.assets.raw import raw_roles
from roles_assets.assets.staging import staging_tables
from roles_assets.checks import ALL_CHECKS
from roles_assets.extract.pull import today_utc
from roles_assets.landing import DEFAULT_LANDING_DIR, LandingZone
from roles_assets.partitions import landed_days, register_days
from roles_assets.resources.freshdesk import api_configured, freshdesk_from_env
from roles_assets.resources.io_managers import PostgresPartitionIOManager, SparkParquetIOManager
from roles_assets.resources.postgres import PostgresResource
from roles_assets.resources.spark import spark_resource
from roles_assets.schedules import daily_pull_schedule
from roles_assets.sensors import landing_sensor

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent


def build_resources(landing_dir: str, raw_path: str, database_url: str | dg.EnvVar) -> dict:
    postgres = PostgresResource(database_url=database_url)
    spark = spark_resource()
    return {
        "landing": LandingZone(root=landing_dir),
        "freshdesk": freshdesk_from_env(),
        "postgres": postgres,
        "spark": spark,
        "parquet_io_manager": SparkParquetIOManager(base_path=raw_path, spark=spark),
        "staging_io_manager": PostgresPartitionIOManager(postgres=postgres),
    }


def register_landed_days(landing_dir: str) -> None:
    """Makes every landed day a partition of the current instance, if there is one; with the
    Freshdesk API configured, today's UTC date too, since it can be pulled.

    `dagster asset materialize --partition DAY` checks DAY against the instance before any code
    runs, so on a fresh DAGSTER_HOME the days must be known by the time the code location loads.
    Days landing later are registered by the sensor, later todays by the daily pull schedule.
    """
    if not os.environ.get("DAGSTER_HOME"):
        return
    days = landed_days(Path(landing_dir))
    if api_configured() and today_utc() not in days:
        days.append(today_utc())
    try:
        register_days(dg.DagsterInstance.get(), days)
    except Exception as error:  # the location must load even when the instance is unreachable
        log.warning("could not register landed days as partitions: %s", error)


def with_storage(asset: dg.AssetsDefinition, uri: str) -> dg.AssetsDefinition:
    """The asset, declaring ``uri`` as its storage root (``dagster/uri``, the UI's Storage)."""
    return asset.map_asset_specs(lambda spec: spec.merge_attributes(metadata={"dagster/uri": uri}))


def build_definitions(resources: dict) -> dg.Definitions:
    raw_root = resources["parquet_io_manager"].base_path.rstrip("/")
    return dg.Definitions(
        assets=[
            with_storage(landed_day, str(Path(resources["landing"].root).resolve())),
            with_storage(raw_roles, f"{raw_root}/{raw_roles.key.to_python_identifier()}"),
            staging_tables,
            final_tables,
        ],
        asset_checks=ALL_CHECKS,
        sensors=[landing_sensor],
        schedules=[daily_pull_schedule(api_configured())],
        resources=resources,
        # One process per run: every step shares one Spark session instead of starting its own.
        executor=dg.in_process_executor,
    )


LANDING_DIR = os.environ.get("ROLES_LANDING_DIR", str(DEFAULT_LANDING_DIR))
register_landed_days(LANDING_DIR)

defs = build_definitions(
    build_resources(
        landing_dir=LANDING_DIR,
        raw_path=os.environ.get("ROLES_RAW_PATH", str(PROJECT_DIR / ".local" / "raw")),
        database_url=dg.EnvVar("ROLES_DATABASE_URL"),
    )
)
