"""The staging layer's IO manager: the run's days of a DataFrame into new loads of its
PostgreSQL table through Spark's JDBC writer, each then staged as its day's load
(``warehouse/staging.py``).

It always reports the row count it stored, per day.
"""

import re
from collections.abc import Sequence

import dagster as dg
import psycopg2
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from roles_assets.partitions import add_day_metadata
from roles_assets.resources.postgres import PostgresResource
from roles_assets.warehouse import staging
from roles_assets.warehouse.sql import drop_table


def sample_table(
    schema: dg.TableSchema, columns: Sequence[str], rows: list[tuple]
) -> dg.MetadataValue:
    """``rows`` of ``columns`` as a table the UI renders, typed and described by ``schema``."""
    declared = {column.name: column for column in schema.columns}
    return dg.MetadataValue.table(
        records=[dg.TableRecord(dict(zip(columns, row, strict=True))) for row in rows],
        schema=dg.TableSchema(columns=[declared[name] for name in columns]),
    )


class StagingWriteFailed(RuntimeError):
    """The run's rows could not be written into their load table, or staged as their days'."""


def _timestamps_as_text(df: DataFrame) -> DataFrame:
    """``df`` with its timestamp columns as ISO text, which PostgreSQL casts to its column type.

    Spark's JDBC writer hands timestamps to the driver through the JVM's default time zone,
    which a cluster or a Spark Connect server sets, not us; text carries the UTC wall time as is.
    """
    return df.select(
        *(
            F.col(field.name).cast("string").alias(field.name)
            if isinstance(field.dataType, (T.TimestampType, T.TimestampNTZType))
            else F.col(field.name)
            for field in df.schema.fields
        )
    )


_MISSING_DRIVER_HINT = (
    ". The Spark session has no PostgreSQL JDBC driver: a local or cluster session adds it "
    "(ROLES_JDBC_JAR), a Spark Connect server must be started with it on its class path "
    "(start-connect-server.sh --jars /path/to/postgresql.jar)"
)


def _lacks_jdbc_driver(error: Exception) -> bool:
    text = str(error)
    return "No suitable driver" in text or "ClassNotFoundException: org.postgresql.Driver" in text


def _innermost_cause(error: Exception) -> Exception | str:
    """The deepest ``Caused by`` message of a Spark job failure (the driver's own words, such as
    a violated constraint), else the error itself."""
    causes = re.findall(r"^Caused by: [\w.$]+: (.+)$", str(error), flags=re.MULTILINE)
    return causes[-1] if causes else error


class PostgresPartitionIOManager(dg.ConfigurableIOManager):
    """Writes the run's days of a DataFrame (by its ``sync_day``) into the asset's staging table,
    replacing each day as a whole.

    Spark appends into a fresh load table; one transaction then attaches each day's rows and
    makes them the day's staged load, so readers see either the old days or the new ones, never
    a mix.
    The target table is the asset's ``dagster/table_name`` metadata, or else its name. The
    day's row count is reported as ``dagster/row_count``. A ``count_by`` metadata entry names a
    column whose value counts are reported too, one number each (``error_type/INVALID_VALUE``),
    with 0 for each of the ``count_values`` the day lacks; ``sample_columns`` names columns of a
    few of the day's rows to show as a table (``sample_rows``), typed by its
    ``dagster/column_schema``.
    """

    postgres: dg.ResourceDependency[PostgresResource]

    def handle_output(self, context: dg.OutputContext, df: DataFrame) -> None:
        metadata = context.definition_metadata or {}
        table = metadata.get("dagster/table_name", context.asset_key.path[-1])
        count_by = metadata.get("count_by")
        sample_columns = metadata.get("sample_columns") or []
        by_day = self.replace_days(
            table, context.asset_partition_keys, df, count_by, sample_columns
        )
        for day, (row_count, counts, sample) in by_day.items():
            output = {"dagster/row_count": row_count}
            if count_by:
                every = {value: 0 for value in metadata.get("count_values") or []} | counts
                output |= {f"{count_by}/{value}": int(n) for value, n in sorted(every.items())}
            if sample_columns:
                output["sample_rows"] = sample_table(
                    metadata["dagster/column_schema"], sample_columns, sample
                )
            add_day_metadata(context, day, output)

    def load_input(self, context: dg.InputContext) -> DataFrame:
        raise NotImplementedError(
            "staging tables are read by the SQL apply steps; depend on them with `deps`"
        )

    def replace_days(
        self,
        table: str,
        days: Sequence[str],
        df: DataFrame,
        count_by: str | None = None,
        sample_columns: Sequence[str] = (),
    ) -> dict[str, tuple[int, dict[str, int], list[tuple]]]:
        """Replaces the rows of ``table`` of each of ``days`` with those of ``df`` (by its
        ``sync_day``; a day without rows is staged empty); returns per day the row count, the
        row count per value of the ``count_by`` column (if any), and up to ``rules.SAMPLE_ROWS``
        rows of ``sample_columns``. Spark writes every day in one job; the days are then staged
        in one transaction."""
        named = f"day {days[0]!r}" if len(days) == 1 else f"days {', '.join(days)}"
        self.postgres.migrate()
        with self.postgres.transaction() as cur:
            staging.drop_abandoned_load_tables(cur, table)
            written = staging.create_load(cur, table)
        try:
            try:
                _timestamps_as_text(df).write.jdbc(
                    self.postgres.jdbc_url(),
                    table=written.name,
                    mode="append",
                    properties={**self.postgres.jdbc_properties(), "batchsize": "10000"},
                )
            except Exception as error:  # Spark's own errors, or the driver's, via Py4J or gRPC
                raise StagingWriteFailed(
                    f"writing {table} for sync {named} to PostgreSQL at "
                    f"{self.postgres.target} failed; the previous rows are kept: "
                    f"{self.postgres.error_summary(_innermost_cause(error))}"
                    + (_MISSING_DRIVER_HINT if _lacks_jdbc_driver(error) else "")
                ) from error
            figures = {}
            # Every day in one transaction: a day whose rows break the key leaves them all as
            # they were, so no day of the run is staged without its checks.
            try:
                with self.postgres.transaction() as cur:
                    if len(days) > 1:  # each day's load then reads its own rows, not the range's
                        staging.index_days(cur, written)
                    for day in days:
                        load = (
                            written
                            if len(days) == 1
                            else staging.day_of_load(cur, written, day, df.columns)
                        )
                        figures[day] = staging.stage_load(cur, load, day, count_by, sample_columns)
            except psycopg2.IntegrityError as error:  # a load's key index refused them
                kept = "the day's" if len(days) == 1 else "every day's"
                raise StagingWriteFailed(
                    f"the {table} rows for sync day {day!r} break the table's key; {kept} "
                    f"previous rows are kept: {self.postgres.error_summary(error)}"
                    + (f" ({error.diag.message_detail})" if error.diag.message_detail else "")
                ) from error
            return figures
        finally:
            with self.postgres.transaction() as cur:
                drop_table(cur, written.name)
