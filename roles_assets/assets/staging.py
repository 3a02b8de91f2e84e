"""stg_roles, stg_agent_roles, role_errors: one validation pass over a day's raw records."""

from collections.abc import Iterator

import dagster as dg
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from roles_assets.assets import LOAD_POOL
from roles_assets.assets.source_fields import SOURCE_FIELDS, new_fields
from roles_assets.code_version import CODE_VERSION
from roles_assets.partitions import (
    ONE_RUN_PER_RANGE,
    add_day_metadata,
    check_results,
    run_days,
    sync_day_partitions,
)
from roles_assets.rules import ErrorType
from roles_assets.transforms.parse import record_fields
from roles_assets.transforms.stage import stage_days
from roles_assets.ui_metadata import table_metadata

# A field the source starts sending is kept in raw_roles and loaded nowhere: say so on the day.
NEW_FIELDS_CHECK = dg.AssetCheckSpec(
    "stg_roles_no_new_source_fields",
    asset="stg_roles",
    partitions_def=sync_day_partitions,
    metadata={"code_version": CODE_VERSION},
    description=(
        "Warns when the day's role or agent records carry a field that no earlier day (in the "
        "days' natural order) carried: the source changed shape. The field is kept in raw_roles "
        "and loaded nowhere until the contract says what it means."
    ),
)


def _staging_out(table: str, description: str, **metadata) -> dg.AssetOut:
    return dg.AssetOut(
        io_manager_key="staging_io_manager",
        metadata={**table_metadata(table), **metadata},
        description=description,
        kinds={"postgres"},
        code_version=CODE_VERSION,
    )


@dg.multi_asset(
    partitions_def=sync_day_partitions,
    backfill_policy=ONE_RUN_PER_RANGE,
    pool=LOAD_POOL,
    group_name="roles",
    outs={
        "stg_roles": _staging_out("stg_roles", "The day's valid roles, one row per role id."),
        "stg_agent_roles": _staging_out(
            "stg_agent_roles", "The (agent, role) pairs the day asserts, from both sources."
        ),
        "role_errors": _staging_out(
            "role_pipeline_errors",
            "The day's rejected and corrected records, with their original JSON.",
            count_by="error_type",
            # A count (0 included) for every error type each day, so the UI plots them all.
            count_values=list(ErrorType),
            sample_columns=["error_type", "role_id", "error_message", "source_file"],
        ),
    },
    check_specs=[NEW_FIELDS_CHECK],
)
def staging_tables(
    context: dg.AssetExecutionContext, raw_roles: DataFrame
) -> Iterator[dg.Output | dg.AssetCheckResult | dg.AssetCheckEvaluation]:
    """The run's raw records through the validation and dedup rules into its staging tables, in
    one pass for every day of a range run, and each day's fields against earlier days'."""
    days = run_days(context)
    fields: dict[str, dict[str, list[str]]] = {day: {} for day in days}
    rows = record_fields(raw_roles).orderBy("sync_day", "source_folder", "field").collect()
    for row in rows:
        fields[row.sync_day].setdefault(row.source_folder, []).append(row.field)
    for day in days:
        add_day_metadata(
            context, day, {SOURCE_FIELDS: dg.MetadataValue.json(fields[day])}, "stg_roles"
        )

    # Three tables are written from one set of records: decode them and apply the rules once.
    persisted: list[DataFrame] = []

    def persist(df: DataFrame) -> DataFrame:
        persisted.append(df.persist(StorageLevel.MEMORY_AND_DISK))
        return persisted[-1]

    # The raw records themselves are not cached: the agents and the file errors are a small part
    # of them, which Parquet reads again faster than a cache of every record is built.
    staged = stage_days(raw_roles, cache=persist)
    yield dg.Output(
        staged.roles.withColumn(
            "ingested_at", F.expr("CAST(current_timestamp() AS TIMESTAMP_NTZ)")
        ),
        "stg_roles",
    )
    yield dg.Output(staged.agent_roles, "stg_agent_roles")
    yield dg.Output(staged.errors, "role_errors")
    yield from _new_fields_checks(context, fields)
    for df in persisted:
        df.unpersist()


def _new_fields_checks(
    context: dg.AssetExecutionContext, fields: dict[str, dict[str, list[str]]]
) -> Iterator[dg.AssetCheckResult | dg.AssetCheckEvaluation | dg.Output]:
    """Per day, fails (a warning) naming each field no earlier day carried; the first day has
    nothing to compare with and passes, saying so."""
    results = {}
    for day, new in new_fields(context.instance, fields, NEW_FIELDS_CHECK.asset_key).items():
        if new:
            context.log.warning("; ".join(new))
        results[day] = dg.AssetCheckResult(
            check_name=NEW_FIELDS_CHECK.name,
            asset_key=NEW_FIELDS_CHECK.asset_key,
            passed=not new,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(new or []) or None,
            metadata={"new_fields": dg.MetadataValue.json(new or []), "compared": new is not None},
        )
    key = NEW_FIELDS_CHECK.key
    output = context.assets_def.get_output_name_for_asset_check_key(key)
    yield from check_results(context, key, results, output)
