"""Spark starts from the class archive `make setup` builds, and without it when it is missing."""

import os
import subprocess
import sys

from roles_assets.resources.spark import CLASS_ARCHIVE, spark_config


def test_spark_maps_its_classes_from_the_archive_setup_built(tmp_path):
    class_log = tmp_path / "classes.log"
    start = "from roles_assets.resources.spark import spark_resource; spark_resource().spark_session.stop()"
    subprocess.run(
        [sys.executable, "-c", start],
        env={**os.environ, "JAVA_TOOL_OPTIONS": f"-Xlog:class+load=info:file={class_log}"},
        check=True, capture_output=True, timeout=120,
    )
    loaded = [line for line in class_log.read_text().splitlines() if " org.apache.spark.SparkContext " in line]
    assert CLASS_ARCHIVE.is_file()
    assert len(loaded) == 1 and loaded[0].endswith("source: shared objects file (top)"), loaded


def test_spark_starts_without_the_archive_when_it_is_missing(tmp_path):
    options = spark_config(class_archive=tmp_path / "missing.jsa")["spark.driver.extraJavaOptions"]
    assert "SharedArchiveFile" not in options
    assert f'"-XX:SharedArchiveFile={CLASS_ARCHIVE}"' in spark_config()["spark.driver.extraJavaOptions"]
