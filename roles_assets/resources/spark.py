"""The Spark session: local, pinned to UTC, with the PostgreSQL JDBC driver on the classpath."""

import os
import sys
from pathlib import Path

from dagster_pyspark import LazyPySparkResource

# `make setup` copies the driver into the venv; Debian's package location is the fallback.
_JDBC_JAR_CANDIDATES = (
    Path(sys.prefix) / "share" / "java" / "postgresql.jar",
    Path("/usr/share/java/postgresql.jar"),
)

# Written by `make setup` (roles_assets_dev.spark_class_archive): the classes a run loads, parsed and
# verified once, so each Spark start maps them instead of loading them one by one.
CLASS_ARCHIVE = Path(sys.prefix) / "share" / "java" / "spark-classes.jsa"


def jdbc_driver_jar(configured: str | None = None) -> str:
    """``configured`` (ROLES_JDBC_JAR) if given, else the first driver jar found."""
    if configured:
        return configured
    for candidate in _JDBC_JAR_CANDIDATES:
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(
        "PostgreSQL JDBC driver not found; run `make setup` or set ROLES_JDBC_JAR"
    )


def spark_config(
    master: str = "local[*]",
    class_archive: Path | None = CLASS_ARCHIVE,
    jdbc_jar: str | None = None,
    ui: bool = False,
) -> dict[str, str]:
    # UTC: see below. C1 only: a run's JVM lives for seconds to minutes, and the optimising JIT's
    # warm-up costs a small day more (about 4 s of a 25 s run) than it gains a large one.
    jvm_options = "-Duser.timezone=UTC -XX:TieredStopAtLevel=1"
    if class_archive is not None and class_archive.is_file():
        # Without it Spark still starts, about 2.5 s slower (and 2 s more in a run's first jobs).
        jvm_options += f' "-XX:SharedArchiveFile={class_archive}"'
    return {
        "spark.master": master,
        "spark.app.name": "roles_assets",
        # Both clocks must be UTC: the session zone for parsing, the JVM zone for JDBC writes.
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": jvm_options,
        "spark.executor.extraJavaOptions": jvm_options,
        "spark.jars": jdbc_driver_jar(jdbc_jar),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": str(ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        # Shredding a VARIANT column into Parquet unifies value types (an array holding 10 and
        # 2^64 comes back as two decimals), which would change what validation sees.
        "spark.sql.variant.writeShredding.enabled": "false",
        # Cached intermediates live for one step: gathering compression statistics for them
        # costs more time (about 1.5 s on a million assignments) than the memory it saves.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        # A day is small next to Spark's default of 200 shuffle partitions.
        "spark.sql.shuffle.partitions": "8",
    }


def spark_resource(config: dict[str, str] | None = None) -> LazyPySparkResource:
    """Lazy, so steps that only run SQL never pay for a Spark start; ``spark_config()`` unless
    ``config`` is given."""
    # Hostname resolution is loopback-only on our machines; Spark's launcher reads this.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return LazyPySparkResource(spark_config=config or spark_config())
