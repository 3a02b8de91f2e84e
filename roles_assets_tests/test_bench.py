"""The benchmark runs end to end on a tiny scale. It measures nothing here: timings are not
tests. It only proves `make bench` works and reports every figure."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from roles_assets_tests.helpers import child_env

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_benchmark_runs_on_a_tiny_scale(tmp_path, connect_url):
    out = tmp_path / "results.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--roles",
            "200",
            "--history-roles",
            "50",
            # Day 2 is the history's last day, and its backfill a re-run of it: the same paths
            # as a longer history, one run fewer.
            "--history-days",
            "2",
            # The year at the least cost: day 2 is its last day.
            "--year-roles",
            "10",
            "--year-days",
            "2",
            # Both days in one run, and in a run each; those runs are the year's figures too
            # (the history's side loads days by the floor and runs its last day).
            "--range-days",
            "2",
            "--repeats",
            "1",
            # The Connect figures on the suite's server, as a deployment's: no server and no
            # warm-up run of the bench's own.
            "--spark-remote",
            connect_url,
            "--out",
            str(out),
        ],
        env=child_env(),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads(out.read_text())
    assert results["scale"]["spark_remote"] is True and connect_url not in out.read_text()
    assert results["large_day"]["assignments"] == 2000
    graph = results["large_day"]["graph"]
    assert set(graph) == {
        "total",
        "peak_mib",
        "spark_session_start",
        "read_parse_raw_write",
        "validate_dedup_stage_write",
        "final_apply",
        "asset_checks",
        "dagster_cli_overhead",
    }
    assert graph["spark_session_start"] > 1  # a fresh process starts its own session
    assert 0 < graph["dagster_cli_overhead"] < graph["total"]
    assert all(results["large_day"][k] > 0 for k in ("floor", "dlt_merge"))
    starts = ("", "_no_class_archive", "_pyspark_defaults")
    assert all(results[f"spark_start_stop{variant}"] > 0 for variant in starts)
    assert "the same without the class archive" in run.stdout
    assert 0 < results["dagster_floor"] < graph["total"]
    assert "large day, dlt merge" in run.stdout and "history: last day" in run.stdout
    year = results["year"]
    assert (year["roles"], year["days"]) == (10, 2)
    for figures in (results["history"], year):
        assert 0 < figures["apply_and_checks_last_day"] < figures["last_day"]
    assert "year (10 roles): day 2" in run.stdout
    ranges = results["ranges"]
    assert (ranges["days"], ranges["year_days"]) == (2, 2)
    assert set(ranges["in_one_run"]) == set(graph)
    assert ranges["one_day"] == pytest.approx(ranges["one_run_each"] / 2)  # both runs summed
    assert "2 small days in one run" in run.stdout
    # Nothing done but Dagster's records of the two days: less than the graph's run of them.
    assert 0 < ranges["year_dagster_floor"] < ranges["year_in_one_run"]["total"]
    assert "Dagster floor: the graph's shape doing nothing, 2 days" in run.stdout
    for mode in ("sample_day", "large_day"):  # on a warm Spark Connect server: every stage
        assert set(results["connect"][mode]) == set(graph)
        assert results["connect"][mode]["validate_dedup_stage_write"] > 0
    assert results["sample_day_dlt"] > 0
    assert "warm Spark Connect" in run.stdout
