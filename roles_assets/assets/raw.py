"""raw_roles: every landed record of a sync day, as its original JSON, kept as Parquet."""

import time

import dagster as dg
from dagster_pyspark import LazyPySparkResource
from pyspark.sql import DataFrame

from roles_assets.assets import LOAD_POOL
from roles_assets.assets.landed import landed_day
from roles_assets.days import day_order
from roles_assets.landing import day_files
from roles_assets.partitions import sync_day_partitions
from roles_assets.resources.landing import LandingZone
from roles_assets.schema import code_version, spark_column_schema
from roles_assets.transforms.parse import RAW_SCHEMA, parse_records, read_files, record_fields

# The metadata entry in which each day records its fields, per source folder.
SOURCE_FIELDS = "source_fields"

RAW_COLUMNS = {
    "source_folder": "The landed file's folder: admin_roles or agent_details.",
    "source_file": "The landed file, relative to the day's folder.",
    "record_index": "The record's position in its file (0-based); NULL for an unreadable file.",
    "record": "The record, as its original JSON (a Spark VARIANT).",
    "unreadable_file": "An unreadable file's text; NULL for a record.",
    "file_error": "Why the file could not be read; NULL for a record.",
}


@dg.asset(
    partitions_def=sync_day_partitions,
    pool=LOAD_POOL,
    io_manager_key="parquet_io_manager",
    group_name="roles",
    kinds={"spark", "parquet"},
    deps=[landed_day],
    # The storage root (dagster/uri) is added by build_definitions, which knows ROLES_RAW_PATH.
    metadata={"dagster/column_schema": spark_column_schema(RAW_SCHEMA, RAW_COLUMNS)},
    code_version=code_version(
        __name__, "roles_assets.transforms.parse", "roles_assets.resources.parquet_io"
    ),
)
def raw_roles(
    context: dg.AssetExecutionContext, landing: LandingZone, spark: LazyPySparkResource
) -> DataFrame:
    """One row per landed record (or per unreadable file), with its source file and position."""
    day_dir = landing.day_dir(context.partition_key)
    if not day_dir.is_dir():
        raise dg.Failure(f"sync day {context.partition_key!r} has no folder in the landing zone")
    files = day_files(day_dir)
    started = time.perf_counter()
    session = spark.spark_session  # started here, on first use in the run
    context.add_output_metadata(
        {"files": len(files), "spark_session_seconds": round(time.perf_counter() - started, 2)}
    )
    records = parse_records(read_files(session, [str(f.path) for f in files]))
    context.add_output_metadata(_field_metadata(context, records))
    return records


def _field_metadata(context: dg.AssetExecutionContext, records: DataFrame) -> dict:
    """The day's fields per source folder, and those no earlier day (in natural order) carried:
    a field the source starts sending is kept in the records, and named here for the UI."""
    fields: dict[str, list[str]] = {}
    for row in record_fields(records).orderBy("source_folder", "field").collect():
        fields.setdefault(row.source_folder, []).append(row.field)
    seen = _fields_of_earlier_days(context)
    metadata = {SOURCE_FIELDS: dg.MetadataValue.json(fields)}
    if seen is None:  # the first day known: nothing to compare with
        return metadata
    new = [
        f"new field `{field}` in {folder} since day {context.partition_key}"
        for folder, names in fields.items()
        for field in names
        if field not in seen.get(folder, set())
    ]
    if not new:
        return metadata
    context.log.warning("; ".join(new))
    return {**metadata, "new_fields": dg.MetadataValue.md("\n".join(f"- {n}" for n in new))}


def _fields_of_earlier_days(context: dg.AssetExecutionContext) -> dict[str, set[str]] | None:
    """The fields per folder that raw_roles recorded for any day before this one, or None when
    no earlier day recorded any."""
    instance, key = context.instance, context.asset_key
    this_day = day_order(context.partition_key)
    earlier = [
        day
        for day in instance.get_dynamic_partitions(sync_day_partitions.name)
        if day_order(day) < this_day
    ]
    seen: dict[str, set[str]] | None = None
    cursor = None
    while earlier:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=earlier), limit=500, cursor=cursor
        )
        for record in page.records:
            recorded = record.asset_materialization.metadata.get(SOURCE_FIELDS)
            if recorded is not None:
                seen = seen or {}
                for folder, names in recorded.value.items():
                    seen.setdefault(folder, set()).update(names)
        if not page.has_more:
            break
        cursor = page.cursor
    return seen
