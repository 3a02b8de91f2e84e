"""The code location: assets, checks, sensor, schedule and resources.

Configuration is read once per load, by ``Settings.from_env()`` (settings.py) inside ``defs``,
and handed to the resources; the secrets (``ROLES_DATABASE_URL``, ``FRESHDESK_API_KEY``) are
read through ``dg.EnvVar`` at run time.
"""

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg

from roles_assets.assets import LOAD_POOL
from roles_assets.assets.landed import landed_day
from roles_assets.assets.raw import raw_roles
from roles_assets.extract.pull import today_utc
from roles_assets.instance import open_instance
from roles_assets.partitions import landed_days, register_days
from roles_assets.resources.alert_webhook import alert_webhook_resource
from roles_assets.resources.freshdesk import freshdesk_resource
from roles_assets.resources.landing_zone import LandingZone
from roles_assets.resources.limits import GuardLimits
from roles_assets.resources.parquet_io import SparkParquetIOManager
from roles_assets.resources.postgres import PostgresResource
from roles_assets.resources.spark import connect_config, spark_config, spark_resource
from roles_assets.resources.staging_io import PostgresPartitionIOManager
from roles_assets.schedules import daily_pull_schedule
from roles_assets.sensors import failure_alert_sensor, landing_sensor
from roles_assets.settings import Settings

# Checks partitioned like their assets are a preview feature of the pinned Dagster; every check of
# the graph is, knowingly. Scoped to the imports that declare them, so no process-wide filter.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")
    from roles_assets.assets.final import final_tables
    from roles_assets.assets.staging import staging_tables
    from roles_assets.checks import ALL_CHECKS, history_full_checks


class PartitionRegistrationFailed(RuntimeError):
    """The landed days could not be made partitions of the Dagster instance."""


def build_resources(settings: Settings, database_url: str | dg.EnvVar) -> dict:
    """Every resource of the code location, from the settings and the warehouse's URL."""
    postgres = PostgresResource(database_url=database_url)
    spark = spark_resource(
        connect_config(settings.spark_remote)
        if settings.spark_remote
        else spark_config(settings.spark_master, jdbc_jar=settings.jdbc_jar, ui=settings.spark_ui)
    )
    return {
        "landing": LandingZone(root=str(settings.landing_dir)),
        "freshdesk": freshdesk_resource(settings.freshdesk_variables),
        "alert_webhook": alert_webhook_resource(settings),
        "limits": GuardLimits(
            max_removal_share=settings.max_removal_share,
            max_rejection_rate=settings.max_rejection_rate,
            max_malformed_share=settings.max_malformed_share,
        ),
        "postgres": postgres,
        "spark": spark,
        "parquet_io_manager": SparkParquetIOManager(base_path=settings.raw_path, spark=spark),
        "staging_io_manager": PostgresPartitionIOManager(postgres=postgres),
    }


def register_landed_days(settings: Settings) -> None:
    """Makes every landed day a partition of the instance in ``DAGSTER_HOME``, if one is set;
    with the Freshdesk API configured, today's UTC date too, since it can be pulled.

    `dagster asset materialize --partition DAY` checks DAY against the instance before any code
    runs, so on a fresh DAGSTER_HOME the days must be known by the time the code location loads
    (days landing later are registered by the sensor, later todays by the daily pull schedule).
    On a brand-new PostgreSQL instance, the first load creates its storage, one process at a time.
    A failure stops the load: a location that loaded without its days would only fail later,
    with Dagster's "Could not find a partition".
    """
    home = settings.dagster_home
    if home is None:
        return
    days = landed_days(settings.landing_dir)
    if settings.freshdesk_configured and today_utc() not in days:
        days.append(today_utc())
    try:
        with open_instance(home, pools=[LOAD_POOL]) as instance:
            register_days(instance, days)
    except Exception as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:500]
        raise PartitionRegistrationFailed(
            f"could not register the {len(days)} landed days of {settings.landing_dir} as "
            f"partitions of the Dagster instance in DAGSTER_HOME={home}: {reason}. Runs of those "
            "days cannot start until they are. Check that the storage named in "
            f"{home}/dagster.yaml is reachable with the credentials it is given, then load the "
            "code location again."
        ) from None


def with_storage(asset: dg.AssetsDefinition, uri: str) -> dg.AssetsDefinition:
    """The asset, declaring ``uri`` as its storage root (``dagster/uri``, the UI's Storage)."""
    return asset.map_asset_specs(lambda spec: spec.merge_attributes(metadata={"dagster/uri": uri}))


def with_freshness(asset: dg.AssetsDefinition, hours: float) -> dg.AssetsDefinition:
    """The asset, failing its freshness when it has not been materialized for ``hours``."""
    policy = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=hours))
    return asset.map_asset_specs(lambda spec: spec.replace_attributes(freshness_policy=policy))


def build_definitions(resources: dict, settings: Settings) -> dg.Definitions:
    """The code location on ``resources``; the daily pull runs only with the API configured,
    the failure alerts only with a webhook."""
    raw_root = resources["parquet_io_manager"].base_path.rstrip("/")
    return dg.Definitions(
        assets=[
            with_storage(landed_day, str(Path(resources["landing"].root).resolve())),
            with_storage(raw_roles, f"{raw_root}/{raw_roles.key.to_python_identifier()}"),
            staging_tables,
            with_freshness(final_tables, settings.freshness_hours),
        ],
        asset_checks=ALL_CHECKS,
        jobs=[history_full_checks],
        sensors=[landing_sensor, failure_alert_sensor(settings.alert_webhook_set)],
        schedules=[daily_pull_schedule(settings.freshdesk_configured, settings.pull_cron)],
        resources=resources,
        # One process per run: every step shares one Spark session instead of starting its own.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location, built when Dagster loads it, not when this module is imported: the
    settings are read and the landed days registered here."""
    settings = Settings.from_env()
    register_landed_days(settings)
    return build_definitions(build_resources(settings, dg.EnvVar("ROLES_DATABASE_URL")), settings)
