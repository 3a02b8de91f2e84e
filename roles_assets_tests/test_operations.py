"""Unattended operation on a PostgreSQL-backed instance, as a deployment runs it: the instance
`make run` writes bounds runs and the load pool."""

import os
import subprocess
import sys

import dagster as dg

from roles_assets.assets import LOAD_POOL
from roles_assets_dev import config
from roles_assets_tests.helpers import postgres_home


def test_make_runs_instance_bounds_the_run_queue_and_the_load_pool(tmp_path, pg_admin_url):
    assert (config.MAX_CONCURRENT_RUNS, config.LOAD_POOL_LIMIT) == (2, 1)  # the defaults
    home = postgres_home(
        tmp_path / "home", pg_admin_url, "dagster_limits", pool_limit=config.LOAD_POOL_LIMIT
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        limits = instance.get_concurrency_config()
        assert limits.run_queue_config.max_concurrent_runs == 2
        assert limits.pool_config.default_pool_limit == 1
        # A pool takes the default limit when a step first asks for one of its slots.
        instance.event_log_storage.initialize_concurrency_limit_to_default(LOAD_POOL)
        assert instance.event_log_storage.get_concurrency_info(LOAD_POOL).slot_count == 1


def test_the_limits_are_settings_of_make_run():
    write = "from roles_assets_dev import run_days; print(run_days.dagster_yaml(5432))"
    env = {**os.environ, "ROLES_MAX_CONCURRENT_RUNS": "4", "ROLES_LOAD_POOL_LIMIT": "3"}
    yaml = subprocess.run(
        [sys.executable, "-c", write], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "  runs:\n    # " in yaml and "max_concurrent_runs: 4\n" in yaml
    assert "  pools:\n    # " in yaml and "default_limit: 3\n" in yaml
    bad = subprocess.run(
        [sys.executable, "-c", write],
        env={**env, "ROLES_LOAD_POOL_LIMIT": "one"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    assert "ROLES_LOAD_POOL_LIMIT='one' is not a count" in bad.stderr
