"""Spark starts from the class archive `make setup` builds, and without it when it is missing."""

import subprocess
import sys

from roles_assets.resources.spark import CLASS_ARCHIVE, spark_config
from roles_assets_tests.helpers import child_env


def _spark_class_source(tmp_path, config: str) -> list[str]:
    """Where a fresh Spark start with ``config`` loaded SparkContext from (the JVM's class log)."""
    class_log = tmp_path / "classes.log"
    start = (
        "from roles_assets.resources.spark import spark_config, spark_resource; "
        f"from pathlib import Path; spark_resource({config}).spark_session.stop()"
    )
    subprocess.run(
        [sys.executable, "-c", start],
        env={**child_env(), "JAVA_TOOL_OPTIONS": f"-Xlog:class+load=info:file={class_log}"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    return [
        line
        for line in class_log.read_text().splitlines()
        if " org.apache.spark.SparkContext " in line
    ]


def test_spark_maps_its_classes_from_the_archive_setup_built(tmp_path):
    loaded = _spark_class_source(tmp_path, "spark_config()")
    assert CLASS_ARCHIVE.is_file()
    assert len(loaded) == 1 and loaded[0].endswith("source: shared objects file (top)"), loaded


def test_spark_starts_without_the_archive_when_it_is_missing(tmp_path):
    missing = tmp_path / "missing.jsa"
    assert (
        "SharedArchiveFile"
        not in spark_config(class_archive=missing)["spark.driver.extraJavaOptions"]
    )
    loaded = _spark_class_source(tmp_path, f"spark_config(class_archive=Path({str(missing)!r}))")
    assert len(loaded) == 1 and loaded[0].endswith(".jar") and "/spark-core_" in loaded[0], loaded
