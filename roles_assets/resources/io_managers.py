"""IO managers: Parquet for the raw layer, PostgreSQL list partitions for staging.

Both store one partition per sync day and always report the row count they stored.
"""

import contextlib
import hashlib
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence

import dagster as dg
import fsspec
import psycopg2
from dagster_pyspark import LazyPySparkResource
from psycopg2 import sql
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from roles_assets.resources.postgres import ADVISORY_LOCK_NAMESPACE, APPLY_LOCK, PostgresResource


class SparkParquetIOManager(dg.ConfigurableIOManager):
    """Stores DataFrames as Parquet under ``<base_path>/<asset>/sync_day=<day>/run_id=<run>``.

    Each run writes a folder of its own, so two runs of the same day (a sensor run racing a
    manual one) never write into each other's files; a run reads the folder it wrote, or else
    the newest one. Folders of earlier runs older than ``keep_seconds`` are deleted.
    ``base_path`` is a local folder or an object-store URL (``s3://...``): Spark writes and reads
    it, and fsspec lists and deletes the run folders, so the same code serves a local session
    and a remote one (a cluster or a Spark Connect server, whose executors must reach the path).
    """

    base_path: str
    spark: dg.ResourceDependency[LazyPySparkResource]
    keep_seconds: int = 3600

    def _day_path(self, asset_key: dg.AssetKey, sync_day: str) -> str:
        return (
            f"{self.base_path.rstrip('/')}/{asset_key.to_python_identifier()}/sync_day={sync_day}"
        )

    def _runs(self, day_path: str) -> list[tuple[str, float]]:
        """The day's run folders (name, modified at as epoch seconds), newest first."""
        fs, path = fsspec.core.url_to_fs(day_path)
        if not fs.exists(path):
            return []
        folders = [
            (entry["name"].rstrip("/").rsplit("/", 1)[-1], _modified_at(entry))
            for entry in fs.ls(path, detail=True)
            if entry["type"] == "directory"
        ]
        runs = [(name, modified) for name, modified in folders if name.startswith("run_id=")]
        return sorted(runs, key=lambda run: run[1], reverse=True)

    def handle_output(self, context: dg.OutputContext, df: DataFrame) -> None:
        day_path = self._day_path(context.asset_key, context.partition_key)
        path = f"{day_path}/run_id={context.run_id}"
        # Counted while written: no second pass over the data.
        written = Observation(f"{context.asset_key.to_python_identifier()}_rows")
        df.observe(written, F.count(F.lit(1)).alias("row_count")).write.mode("overwrite").parquet(
            path
        )
        context.add_output_metadata(
            {"dagster/row_count": written.get["row_count"], "dagster/uri": path}
        )
        self._delete_stale_runs(day_path, keep=f"run_id={context.run_id}")

    def _delete_stale_runs(self, day_path: str, keep: str) -> None:
        cutoff = time.time() - self.keep_seconds
        fs, path = fsspec.core.url_to_fs(day_path)
        for name, modified in self._runs(day_path):
            if name != keep and modified < cutoff:
                fs.rm(f"{path}/{name}", recursive=True)

    def load_input(self, context: dg.InputContext) -> DataFrame:
        day_path = self._day_path(context.asset_key, context.partition_key)
        names = [name for name, _ in self._runs(day_path)]
        own = f"run_id={context.upstream_output.run_id}"
        if not names:
            raise FileNotFoundError(f"no {context.asset_key.to_user_string()} data at {day_path}")
        return self.spark.spark_session.read.parquet(
            f"{day_path}/{own if own in names else names[0]}"
        )


def _modified_at(entry: dict) -> float:
    """An fsspec listing entry's modification time: ``mtime`` locally, ``LastModified`` on S3."""
    modified = entry.get("mtime", entry.get("LastModified"))
    return modified.timestamp() if hasattr(modified, "timestamp") else float(modified or 0)


ABANDONED_AFTER_SECONDS = 24 * 3600
SAMPLE_ROWS = 5
MAX_CELL_CHARS = 120


def markdown_table(columns: Sequence[str], rows: Iterable[tuple]) -> str:
    """Rows as a markdown table; long values are cut, and ``|`` and line breaks escaped."""

    def cell(value) -> str:
        text = "" if value is None else " ".join(str(value).split())
        if len(text) > MAX_CELL_CHARS:
            text = text[: MAX_CELL_CHARS - 1] + "…"
        return text.replace("\\", "\\\\").replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) if len(lines) > 2 else "(no rows)"


class StagingWriteFailed(RuntimeError):
    """Spark could not write a day's rows into their load table."""


def partition_table(table: str, sync_day: str) -> str:
    """The name of ``table``'s partition for a day: a hash, so no key ever becomes SQL text."""
    return f"{table}__{hashlib.sha256(sync_day.encode()).hexdigest()[:16]}"


def applied_copy(partition: str) -> str:
    """Where a day's applied partition is kept while a newer staging of the day, not applied
    yet, holds its place."""
    return f"{partition}_applied"


@contextlib.contextmanager
def applied_staging(cur, tables: Iterable[str], except_day: str) -> Iterator[list[str]]:
    """Within the block, each applied day but ``except_day`` has the staging its apply read;
    yields the days that needed their kept copy for it. Call it holding the apply lock, which
    keeps staging swaps out.

    A day's staging is replaced before its checks and its apply run. When they fail or refuse it
    (or have not run yet), the final tables still hold what the previous staging said, and that
    partition is kept aside (see ``PostgresPartitionIOManager``). A replay of the applied days
    must read it, not the newer rows; afterwards the newer rows are put back for their own run.
    """
    cur.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE %s",
        ("%\\_applied",),
    )
    kept = {name for (name,) in cur.fetchall()}
    moves = []
    if kept:
        cur.execute(
            "SELECT sync_day FROM sync_days WHERE applied AND sync_day <> %s ORDER BY day_order",
            (except_day,),
        )
        moves = [
            (day, table, partition_table(table, day))
            for (day,) in cur.fetchall()
            for table in tables
            if applied_copy(partition_table(table, day)) in kept
        ]
    for day, table, partition in moves:
        _exchange_with_applied_copy(cur, table, partition, day)
    yield sorted({day for day, _, _ in moves})
    for day, table, partition in moves:
        _exchange_with_applied_copy(cur, table, partition, day)


def _exchange_with_applied_copy(cur, table: str, partition: str, sync_day: str) -> None:
    """Swaps the day's partition of ``table`` with its applied copy; twice restores both."""
    swapping = f"{partition}_swapping"
    for statement, *names in [
        ("ALTER TABLE {} DETACH PARTITION {}", table, partition),
        ("ALTER TABLE {} RENAME TO {}", partition, swapping),
        ("ALTER TABLE {} RENAME TO {}", applied_copy(partition), partition),
        ("ALTER TABLE {} RENAME TO {}", swapping, applied_copy(partition)),
    ]:
        cur.execute(sql.SQL(statement).format(*map(sql.Identifier, names)))
    _attach(cur, table, partition, sync_day)


def drop_applied_copies(cur, tables: Iterable[str], sync_day: str) -> None:
    """Drops the day's kept partitions: the day's current staging is now the applied one."""
    for table in tables:
        cur.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(
                sql.Identifier(applied_copy(partition_table(table, sync_day)))
            )
        )


def _attach(cur, table: str, partition: str, sync_day: str) -> None:
    cur.execute(
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
            sql.Identifier(table), sql.Identifier(partition), sql.Literal(sync_day)
        )
    )


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
    """Writes a day's DataFrame into the asset's staging table, replacing that day as a whole.

    Spark appends into a fresh table; one transaction then drops the day's old partition and
    attaches the new one, so readers see either the old day or the new one, never a mix.
    The target table is the asset's ``dagster/table_name`` metadata, or else its name. The
    day's row count is reported as ``dagster/row_count``. A ``count_by`` metadata entry names a
    column whose value counts are reported too, one number each (``error_type/INVALID_VALUE``),
    with 0 for each of the ``count_values`` the day lacks; ``sample_columns`` names columns of a
    few of the day's rows to show as a markdown table (``sample_rows``).
    """

    postgres: dg.ResourceDependency[PostgresResource]

    def handle_output(self, context: dg.OutputContext, df: DataFrame) -> None:
        metadata = context.definition_metadata or {}
        table = metadata.get("dagster/table_name", context.asset_key.path[-1])
        count_by = metadata.get("count_by")
        sample_columns = metadata.get("sample_columns") or []
        row_count, counts, sample = self.replace_partition(
            table, context.partition_key, df, count_by, sample_columns
        )
        output = {"dagster/row_count": row_count}
        if count_by:
            every = {value: 0 for value in metadata.get("count_values") or []} | counts
            output |= {f"{count_by}/{value}": int(n) for value, n in sorted(every.items())}
        if sample_columns:
            output["sample_rows"] = dg.MetadataValue.md(markdown_table(sample_columns, sample))
        context.add_output_metadata(output)

    def load_input(self, context: dg.InputContext) -> DataFrame:
        raise NotImplementedError(
            "staging tables are read by the SQL apply steps; depend on them with `deps`"
        )

    def replace_partition(
        self,
        table: str,
        sync_day: str,
        df: DataFrame,
        count_by: str | None = None,
        sample_columns: Sequence[str] = (),
    ) -> tuple[int, dict[str, int], list[tuple]]:
        """Replaces the day's rows of ``table`` with ``df``; returns the row count, the row
        count per value of the ``count_by`` column (if any), and up to ``SAMPLE_ROWS`` rows of
        ``sample_columns``."""
        load_table = f"{table}__load_{int(time.time())}_{uuid.uuid4().hex[:8]}"
        with self.postgres.transaction() as cur:
            self._drop_abandoned_load_tables(cur, table)
            cur.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
                    sql.Identifier(load_table), sql.Identifier(table)
                )
            )
        try:
            try:
                _timestamps_as_text(df).write.jdbc(
                    self.postgres.jdbc_url(),
                    table=load_table,
                    mode="append",
                    properties={**self.postgres.jdbc_properties(), "batchsize": "10000"},
                )
            except Exception as error:  # Spark's own errors, or the driver's, via Py4J or gRPC
                raise StagingWriteFailed(
                    f"writing {table} for sync day {sync_day!r} to PostgreSQL at "
                    f"{self.postgres.target} failed; the day's previous rows are kept: "
                    f"{self.postgres.error_summary(_innermost_cause(error))}"
                    + (_MISSING_DRIVER_HINT if _lacks_jdbc_driver(error) else "")
                ) from error
            try:
                return self.swap_in(table, sync_day, load_table, count_by, sample_columns)
            except psycopg2.IntegrityError as error:  # the new partition's key index refused them
                raise StagingWriteFailed(
                    f"the {table} rows for sync day {sync_day!r} break the table's key; the day's "
                    f"previous rows are kept: {self.postgres.error_summary(error)}"
                    + (f" ({error.diag.message_detail})" if error.diag.message_detail else "")
                ) from error
        finally:
            with self.postgres.transaction() as cur:
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(load_table)))

    def _drop_abandoned_load_tables(self, cur, table: str) -> None:
        """Drops load tables left by runs that were killed before they could clean up.

        A load table lives for one write; one older than a day belongs to no live run.
        """
        cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND starts_with(tablename, %s)",
            (f"{table}__load_",),
        )
        for (name,) in cur.fetchall():
            started = name.removeprefix(f"{table}__load_").split("_")[0]
            if started.isdigit() and int(started) < time.time() - ABANDONED_AFTER_SECONDS:
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))

    def swap_in(
        self,
        table: str,
        sync_day: str,
        load_table: str,
        count_by: str | None = None,
        sample_columns: Sequence[str] = (),
    ) -> tuple[int, dict[str, int], list[tuple]]:
        """Makes the filled ``load_table`` the day's partition of ``table`` in one transaction;
        returns its row count, the count per ``count_by`` value and a sample of its rows."""
        partition = partition_table(table, sync_day)
        with self.postgres.transaction() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(load_table)))
            (row_count,) = cur.fetchone()
            counts = {}
            if count_by:
                cur.execute(
                    sql.SQL("SELECT {0}, count(*) FROM {1} GROUP BY {0} ORDER BY {0}").format(
                        sql.Identifier(count_by), sql.Identifier(load_table)
                    )
                )
                counts = dict(cur.fetchall())
            sample = []
            if sample_columns:
                cur.execute(
                    sql.SQL("SELECT {} FROM {} ORDER BY 1, 2 LIMIT {}").format(
                        sql.SQL(", ").join(map(sql.Identifier, sample_columns)),
                        sql.Identifier(load_table),
                        sql.Literal(SAMPLE_ROWS),
                    )
                )
                sample = cur.fetchall()
            # Swaps wait for a running apply (which reads every day's staging) and same-day
            # swaps from concurrent runs take turns; swaps of other days never wait for each other.
            cur.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, %s)", (ADVISORY_LOCK_NAMESPACE, APPLY_LOCK)
            )
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (partition,))
            self._retire(cur, table, sync_day, partition)
            cur.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    sql.Identifier(load_table), sql.Identifier(partition)
                )
            )
            _attach(cur, table, partition, sync_day)
            cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(partition)))
        return row_count, counts, sample

    def _retire(self, cur, table: str, sync_day: str, partition: str) -> None:
        """Takes the day's current partition out: kept aside if the final tables were built from
        it and nothing is kept for the day yet (see ``applied_staging``), else dropped."""
        kept = applied_copy(partition)
        cur.execute(
            "SELECT to_regclass(quote_ident(%s)) IS NOT NULL"
            " AND to_regclass(quote_ident(%s)) IS NULL"
            " AND EXISTS (SELECT 1 FROM sync_days WHERE sync_day = %s AND applied)",
            (partition, kept, sync_day),
        )
        (keep,) = cur.fetchone()
        if keep:
            cur.execute(
                sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                    sql.Identifier(table), sql.Identifier(partition)
                )
            )
            cur.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    sql.Identifier(partition), sql.Identifier(kept)
                )
            )
        else:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition)))
