"""raw_roles: every landed record of the run's sync days, as its original JSON, kept as Parquet
(one folder per day)."""

import time

import dagster as dg
from dagster_pyspark import LazyPySparkResource
from pyspark.sql import DataFrame

from roles_assets.assets import LOAD_POOL
from roles_assets.assets.landed import landed_day, landed_dirs
from roles_assets.code_version import CODE_VERSION
from roles_assets.landing import day_files
from roles_assets.partitions import (
    ONE_RUN_PER_RANGE,
    add_day_metadata,
    run_days,
    sync_day_partitions,
)
from roles_assets.resources.landing_zone import LandingZone
from roles_assets.transforms.parse import RAW_SCHEMA, parse_records, read_files
from roles_assets.ui_metadata import spark_column_schema

RAW_COLUMNS = {
    "sync_day": "The record's sync day (stored as its folder's name, not in the files).",
    "source_folder": "The landed file's folder: admin_roles or agent_details.",
    "source_file": "The landed file, relative to the day's folder.",
    "record_index": "The record's position in its file (0-based); NULL for an unreadable file.",
    "record": "The record, as its original JSON (a Spark VARIANT).",
    "unreadable_file": "An unreadable file's text; NULL for a record.",
    "file_error": "Why the file could not be read; NULL for a record.",
}


@dg.asset(
    partitions_def=sync_day_partitions,
    backfill_policy=ONE_RUN_PER_RANGE,
    pool=LOAD_POOL,
    io_manager_key="parquet_io_manager",
    group_name="roles",
    kinds={"spark", "parquet"},
    deps=[landed_day],
    # The storage root (dagster/uri) is added by build_definitions, which knows ROLES_RAW_PATH.
    metadata={"dagster/column_schema": spark_column_schema(RAW_SCHEMA, RAW_COLUMNS)},
    code_version=CODE_VERSION,
)
def raw_roles(
    context: dg.AssetExecutionContext, landing: LandingZone, spark: LazyPySparkResource
) -> DataFrame:
    """One row per landed record (or per unreadable file), with its day, source file and position;
    every day of a range run is read in one pass."""
    days = run_days(context)
    files = {day: day_files(folder) for day, folder in landed_dirs(landing, days).items()}
    for day, landed in files.items():
        add_day_metadata(context, day, {"files": len(landed)}, "raw_roles")
    started = time.perf_counter()
    session = spark.spark_session  # started here, on first use in the run
    context.add_output_metadata({"spark_session_seconds": round(time.perf_counter() - started, 2)})
    paths = [str(f.path) for landed in files.values() for f in landed]
    return parse_records(read_files(session, paths))
