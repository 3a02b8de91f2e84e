"""Importing builds nothing: every module of the package imports with no settings and no Dagster
instance, and leaves the environment, the warning filters and DAGSTER_HOME as they were."""

import subprocess
import sys
from pathlib import Path

import pytest

from roles_assets_tests.helpers import child_env

pytestmark = pytest.mark.fast

CHECKOUT = Path(__file__).resolve().parent.parent

# Dagster's instance cannot be created or fetched in this process; the libraries that add warning
# filters of their own on import (urllib3, requests) are imported before the filters are compared.
_IMPORT_EVERY_MODULE = """
import importlib, os, pkgutil, warnings
import dagster as dg
import pyspark.sql
import requests

def touched(*args, **kwargs):
    raise RuntimeError("a Dagster instance was created or fetched while importing")

dg.DagsterInstance.__init__ = touched
dg.DagsterInstance.get = touched
environ, filters = dict(os.environ), list(warnings.filters)
import roles_assets
names = [m.name for m in pkgutil.walk_packages(roles_assets.__path__, "roles_assets.")]
for name in names:
    importlib.import_module(name)
assert dict(os.environ) == environ, "importing changed os.environ"
assert warnings.filters == filters, "importing added process-wide warning filters"
print(len(names))
"""


def _import_every_module(env: dict) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_MODULE],
        env=env,
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return int(done.stdout.split()[-1])


def _without_settings() -> dict:
    return {
        name: value
        for name, value in child_env().items()
        if not name.startswith(("ROLES_", "FRESHDESK_", "DAGSTER_"))
    }


def test_every_module_imports_without_settings_or_an_instance():
    assert _import_every_module(_without_settings()) > 30


def test_importing_reads_no_setting_and_leaves_dagster_home_empty(tmp_path):
    """Each setting below fails when it is read; DAGSTER_HOME would get files if it were used."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    not_a_folder = tmp_path / "landing"
    not_a_folder.write_text("a file where the landing folder should be")
    env = _without_settings() | {
        "DAGSTER_HOME": str(home),
        "ROLES_LANDING_DIR": str(not_a_folder),
        "ROLES_MAX_REMOVAL_SHARE": "not a share",
        "ROLES_SPARK_REMOTE": "not a url",
    }
    _import_every_module(env)
    assert list(home.iterdir()) == []


def test_the_plain_modules_import_no_dagster():
    """.importlinter lets settings.py import Dagster's cron check inside the function that uses
    it; this holds the rest of the module to the contract at run time."""
    plain = "roles_assets.days, roles_assets.landing, roles_assets.settings"
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, {plain}; print(sorted(sys.modules))"],
        env=_without_settings(),
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = done.stdout.strip()
    assert "'roles_assets.settings'" in loaded
    assert "'dagster'" not in loaded and "'pyspark'" not in loaded
