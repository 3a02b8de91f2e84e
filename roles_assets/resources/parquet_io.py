"""The raw layer's IO manager: the run's days of a DataFrame as Parquet, a folder per day and run.

It always reports the row count it stored.
"""

import time

import dagster as dg
import fsspec
from dagster_pyspark import LazyPySparkResource
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from roles_assets.partitions import add_day_metadata


class SparkParquetIOManager(dg.ConfigurableIOManager):
    """Stores DataFrames as Parquet under ``<base_path>/<asset>/sync_day=<day>/run_id=<run>``.

    The stored DataFrame has a ``sync_day`` column: one Spark job writes every day of a range
    run, and each day's rows then move to that day's folder, without the column (the folder names
    the day; a day without rows gets an empty folder of its own). Loading gives the days back
    with the column.

    Each run writes a folder of its own, so two runs of the same day (a sensor run racing a
    manual one) never write into each other's files; a run reads the folder it wrote, or else
    the newest one. Folders of earlier runs older than ``keep_seconds`` are deleted. Stored days
    of at most ``one_partition_bytes`` in all are read as one Spark partition: the steps
    downstream then need no shuffles, whose jobs and tasks cost a small day more than its data
    does. ``base_path`` is a local folder or an object-store URL (``s3://...``): Spark writes
    and reads it, and fsspec lists, moves and deletes the run folders, so the same code serves a
    local session and a remote one (a cluster or a Spark Connect server, whose executors must
    reach the path).
    """

    base_path: str
    spark: dg.ResourceDependency[LazyPySparkResource]
    keep_seconds: int = 3600
    one_partition_bytes: int = 1024 * 1024

    def _asset_path(self, asset_key: dg.AssetKey) -> str:
        return f"{self.base_path.rstrip('/')}/{asset_key.to_python_identifier()}"

    def _day_path(self, asset_key: dg.AssetKey, sync_day: str) -> str:
        return f"{self._asset_path(asset_key)}/sync_day={sync_day}"

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
        run = f"run_id={context.run_id}"
        written = f"{self._asset_path(context.asset_key)}/_written/{run}"
        # Counted while written, each day's rows: no second pass over the data.
        days = context.asset_partition_keys
        rows = Observation(f"{context.asset_key.to_python_identifier()}_rows")
        counts = [F.count_if(F.col("sync_day") == day).alias(day) for day in days]
        df.observe(rows, *counts).write.mode("overwrite").partitionBy("sync_day").parquet(written)
        fs, written_path = fsspec.core.url_to_fs(written)
        counted = rows.get  # each read of it converts every day's count again
        for day in days:
            day_path = self._day_path(context.asset_key, day)
            if fs.exists(f"{written_path}/sync_day={day}"):
                fs.mv(f"{written_path}/sync_day={day}", f"{day_path}/{run}", recursive=True)
            else:
                empty = self.spark.spark_session.createDataFrame([], df.drop("sync_day").schema)
                empty.write.parquet(f"{day_path}/{run}")
            self._delete_stale_runs(day_path, keep=run)
            uri = f"{day_path}/{run}"
            add_day_metadata(context, day, {"dagster/row_count": counted[day], "dagster/uri": uri})
        fs.rm(written_path, recursive=True)

    def _delete_stale_runs(self, day_path: str, keep: str) -> None:
        cutoff = time.time() - self.keep_seconds
        fs, path = fsspec.core.url_to_fs(day_path)
        for name, modified in self._runs(day_path):
            if name != keep and modified < cutoff:
                fs.rm(f"{path}/{name}", recursive=True)

    def load_input(self, context: dg.InputContext) -> DataFrame:
        own = f"run_id={context.upstream_output.run_id}"
        folders, size = [], 0
        for day in context.asset_partition_keys:
            day_path = self._day_path(context.asset_key, day)
            names = [name for name, _ in self._runs(day_path)]
            if not names:
                raise FileNotFoundError(
                    f"no {context.asset_key.to_user_string()} data at {day_path}"
                )
            folders.append(f"{day_path}/{own if own in names else names[0]}")
            fs, path = fsspec.core.url_to_fs(folders[-1])
            size += fs.du(path)
        # One read of every day's folder; each row's day is the folder its file is in.
        df = self.spark.spark_session.read.parquet(*folders).withColumn(
            "sync_day", F.regexp_extract("_metadata.file_path", _DAY_OF_FILE, 1)
        )
        return df.coalesce(1) if size <= self.one_partition_bytes else df


_DAY_OF_FILE = r"/sync_day=([^/]+)/run_id=[^/]+/[^/]+$"


def _modified_at(entry: dict) -> float:
    """An fsspec listing entry's modification time: ``mtime`` locally, ``LastModified`` on S3."""
    modified = entry.get("mtime", entry.get("LastModified"))
    return modified.timestamp() if hasattr(modified, "timestamp") else float(modified or 0)
