"""Builds the JVM class archive that shortens Spark's start.

Run it as ``python -m roles_assets_dev.spark_class_archive``.

A Java class-data-sharing archive holds classes already parsed and verified; a JVM started with it
maps them instead of loading thousands of classes from Spark's jars one by one. This records the
classes of a training run (a bundled sample day through the parse and staging transforms) when
its JVM exits. `make setup` runs it once per venv. The archive matches one JVM build and one set
of jars: after either changes, Java ignores it with a warning until it is rebuilt.
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from roles_assets.resources.spark import CLASS_ARCHIVE
from roles_assets_dev.config import JAVA_HOME, SAMPLE_LANDING_DIR

_TRAINING_TIMEOUT_SECONDS = 300
_PID_LINE = "training JVM pid: "


def _train(archive: Path) -> None:
    """A small real run in this process's JVM, which writes ``archive`` as it exits."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from roles_assets.landing import day_files
    from roles_assets.resources.spark import spark_config, spark_resource
    from roles_assets.transforms.parse import parse_records, read_files
    from roles_assets.transforms.stage import stage_days

    config = spark_config(class_archive=None)
    config["spark.driver.extraJavaOptions"] += f' "-XX:ArchiveClassesAtExit={archive}"'
    spark = spark_resource(config).spark_session
    day_dir = sorted(p for p in SAMPLE_LANDING_DIR.iterdir() if p.is_dir())[0]
    with tempfile.TemporaryDirectory() as work:
        raw = parse_records(read_files(spark, [str(f.path) for f in day_files(day_dir)]))
        rows = Observation("rows")
        raw.observe(rows, F.count(F.lit(1))).write.parquet(f"{work}/raw")
        staged = stage_days(spark.read.parquet(f"{work}/raw"), cache=lambda df: df.persist())
        for df in (staged.roles, staged.agent_roles, staged.errors):
            df.write.format("noop").mode("overwrite").save()
    # The JVM outlives this process by the time it takes to write the archive.
    print(f"{_PID_LINE}{spark._jvm.java.lang.ProcessHandle.current().pid()}")
    spark.stop()


def _wait_for_exit(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the training JVM (pid {pid}) did not exit in {timeout:.0f} s")
        time.sleep(0.1)


def _java() -> str:
    return str(Path(JAVA_HOME) / "bin" / "java") if JAVA_HOME else shutil.which("java") or "java"


def build(archive: Path = CLASS_ARCHIVE) -> None:
    """Writes ``archive`` whole or not at all: Java crashes on a truncated archive."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    partial.unlink(missing_ok=True)
    training = subprocess.run(
        [sys.executable, "-m", "roles_assets_dev.spark_class_archive", "--train", str(partial)],
        capture_output=True,
        text=True,
        timeout=_TRAINING_TIMEOUT_SECONDS,
    )
    if training.returncode != 0:
        raise RuntimeError(f"the training run failed:\n{training.stderr[-3000:]}")
    (pid,) = [
        line.removeprefix(_PID_LINE)
        for line in training.stdout.splitlines()
        if line.startswith(_PID_LINE)
    ]
    _wait_for_exit(int(pid), _TRAINING_TIMEOUT_SECONDS)
    check = subprocess.run(
        [_java(), f"-XX:SharedArchiveFile={partial}", "-version"], capture_output=True, text=True
    )
    if check.returncode != 0 or not partial.is_file():
        raise RuntimeError(
            f"the archive at {partial} does not load:\n{check.stdout[-2000:]}{check.stderr[-2000:]}"
        )
    partial.replace(archive)


def main() -> int:
    if sys.argv[1:2] == ["--train"]:
        _train(Path(sys.argv[2]))
        return 0
    started = time.perf_counter()
    try:
        build()
    except (RuntimeError, TimeoutError, subprocess.TimeoutExpired) as error:
        # Spark works without it, only slower to start; set-up goes on.
        print(
            f"warning: no Spark class archive, so each Spark start is slower: {error}",
            file=sys.stderr,
        )
        return 0
    size_mib = CLASS_ARCHIVE.stat().st_size / 2**20
    print(
        f"Spark class archive: {CLASS_ARCHIVE} "
        f"({size_mib:.0f} MiB, {time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
