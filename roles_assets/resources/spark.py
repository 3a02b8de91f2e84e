"""The Spark session of a run: a local JVM, a cluster master, or a Spark Connect server.

``ROLES_SPARK_REMOTE`` (``sc://host:port``) runs every Spark step on a Spark Connect server, so a
run starts no JVM of its own; ``ROLES_SPARK_MASTER`` (``spark://host:7077``, ``yarn``, ...) runs a
classic driver in the run against that cluster; with neither, ``local[*]``. The transforms and IO
managers use only what both kinds of session offer (DataFrames, SQL, readers and writers).

Timestamps are written to PostgreSQL as text (see the staging IO manager), so no JVM's time zone
shifts them: a cluster's or a Connect server's zone is not ours to set. Spark's session zone,
which is ours in every mode, is UTC.
"""

import os
import sys
from pathlib import Path

from dagster_pyspark import LazyPySparkResource

# `make setup` copies the driver into the venv; Debian's package location is the fallback.
_JDBC_JAR_CANDIDATES = (
    Path(sys.prefix) / "share" / "java" / "postgresql.jar",
    Path("/usr/share/java/postgresql.jar"),
)

# Written by `make setup` (the class archive builder of the developer tooling): the classes a run
# loads, parsed and verified once, so each local Spark start maps them instead of loading them.
CLASS_ARCHIVE = Path(sys.prefix) / "share" / "java" / "spark-classes.jsa"

# C1 only: a run's JVM lives for seconds to minutes, and the optimising JIT's warm-up costs a
# small day more than it gains a large one.
C1_ONLY = "-XX:TieredStopAtLevel=1"

# SQL settings a session may change at run time: they apply on a Connect server too.
SESSION_CONFIG = {
    # Parsing ISO-8601 text without an offset, and current_timestamp(), read this zone.
    "spark.sql.session.timeZone": "UTC",
    # Shredding a VARIANT column into Parquet unifies value types (an array holding 10 and
    # 2^64 comes back as two decimals), which would change what validation sees.
    "spark.sql.variant.writeShredding.enabled": "false",
    # Cached intermediates live for one step: gathering compression statistics for them costs
    # more time than the memory it saves.
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
    # A day is small next to Spark's default of 200 shuffle partitions.
    "spark.sql.shuffle.partitions": "8",
}


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
    """A classic driver in this process, on ``master``; the session adds the JDBC driver."""
    jvm_options = C1_ONLY
    if class_archive is not None and class_archive.is_file():
        jvm_options += f' "-XX:SharedArchiveFile={class_archive}"'
    config = {
        **SESSION_CONFIG,
        "spark.master": master,
        "spark.app.name": "roles_assets",
        "spark.driver.extraJavaOptions": jvm_options,
        "spark.jars": jdbc_driver_jar(jdbc_jar),
        "spark.ui.enabled": str(ui).lower(),
        "spark.ui.showConsoleProgress": "false",
    }
    if master.startswith("local"):
        # Hostname resolution is loopback-only on our machines; a cluster's executors must reach
        # the driver by the address Spark picks (SPARK_LOCAL_IP), so only local mode pins it.
        config |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    return config


def connect_config(remote: str) -> dict[str, str]:
    """A session on the Spark Connect server at ``remote`` (``sc://host:port``).

    The server's own settings (its JVM, its jars, its master) are fixed when it starts; it must
    have the PostgreSQL JDBC driver on its class path (``--jars``).
    """
    return {"spark.remote": remote, **SESSION_CONFIG}


def spark_resource(config: dict[str, str] | None = None) -> LazyPySparkResource:
    """Lazy, so steps that only run SQL never pay for a Spark start; ``spark_config()`` unless
    ``config`` is given."""
    # Spark's launcher reads this; loopback is what resolves on our machines.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return LazyPySparkResource(spark_config=config or spark_config())
