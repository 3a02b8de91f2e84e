"""stg_roles, stg_agent_roles, role_errors: one validation pass over a day's raw records."""

from collections.abc import Iterator

import dagster as dg
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from roles_assets.assets import LOAD_POOL
from roles_assets.partitions import sync_day_partitions
from roles_assets.schema import code_version, table_metadata
from roles_assets.transforms.stage import stage_day

# The staging rows are made by the transforms and written by the IO manager into tables the
# schema steps define: a change to any of them is a new version of the three assets.
CODE_VERSION = code_version(
    __name__,
    "roles_assets.schema",
    "roles_assets.transforms.stage",
    "roles_assets.transforms.validate",
    "roles_assets.transforms.assignments",
    "roles_assets.resources.staging_io",
    "roles_assets.warehouse.staging",
    "roles_assets.warehouse.sql",
    sql=["schema/*.sql"],
)

# Every error type, so each day reports a count (0 included) for each and the UI plots them.
ERROR_TYPES = (
    "MALFORMED_JSON",
    "MISSING_ROLE_ID",
    "INVALID_ROLE_ID",
    "MISSING_NAME",
    "DUPLICATE_ROLE",
    "MISSING_AGENT_ID",
    "INVALID_AGENT_ID",
    "INVALID_ROLE_IDS",
    "UNKNOWN_ROLE",
    "INVALID_VALUE",
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
            count_values=list(ERROR_TYPES),
            sample_columns=["error_type", "role_id", "error_message", "source_file"],
        ),
    },
)
def staging_tables(context: dg.AssetExecutionContext, raw_roles: DataFrame) -> Iterator[dg.Output]:
    """The day's raw records through the validation and dedup rules into its staging tables."""
    # Three tables are written from one set of records: decode them and apply the rules once.
    persisted: list[DataFrame] = []

    def persist(df: DataFrame) -> DataFrame:
        persisted.append(df.persist(StorageLevel.MEMORY_AND_DISK))
        return persisted[-1]

    # The raw records themselves are not cached: the agents and the file errors are a small part
    # of them, which Parquet reads again faster than a cache of every record is built.
    staged = stage_day(raw_roles, context.partition_key, cache=persist)
    yield dg.Output(
        staged.roles.withColumn(
            "ingested_at", F.expr("CAST(current_timestamp() AS TIMESTAMP_NTZ)")
        ),
        "stg_roles",
    )
    yield dg.Output(staged.agent_roles, "stg_agent_roles")
    yield dg.Output(staged.errors, "role_errors")
    for df in persisted:
        df.unpersist()
