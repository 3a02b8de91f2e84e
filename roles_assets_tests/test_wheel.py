"""The wheel as a deployment installs it: no checkout, no editable install, Dagster on
PostgreSQL."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from roles_assets_dev import local_postgres
from roles_assets_tests.helpers import (
    LOAD_CODE_LOCATION,
    child_env,
    materialize_args,
    query,
    role,
    write_day,
)

CHECKOUT = Path(__file__).resolve().parent.parent
# What a clone holds; local state and the venv would only slow the copy down.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".local", "__pycache__", "*.egg-info", "build", "dist"
)


def _run(args: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done


def _install_wheel(tmp_path: Path) -> Path:
    """Builds the wheel from a copy of the sources, installs it with the pinned requirements into
    a fresh venv, and returns that venv's bin folder."""
    source = tmp_path / "source"
    shutil.copytree(CHECKOUT, source, ignore=_NOT_SOURCE)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ]
    )
    (wheel,) = (tmp_path / "dist").glob("roles_assets-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    # Without compiling every installed module ahead (the pins and the wheel): the run compiles
    # what it imports.
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-compile"]
    _run([*pip, "-r", str(CHECKOUT / "requirements.lock")])
    _run([*pip, str(wheel)])
    return venv / "bin"


@pytest.mark.slow
def test_the_installed_wheel_materializes_a_day_from_any_folder(tmp_path, pg_admin_url):
    bin_dir = _install_wheel(tmp_path)
    landing = tmp_path / "landing"
    write_day(
        landing,
        "2026-02-01",
        roles=[role(1, "Admin", [10, 11]), role(2, "Agent", [20])],
        agents=[{"id": 30, "role_ids": [2]}],
    )
    warehouse = local_postgres.create_database(pg_admin_url, "wheel_roles")
    local_postgres.create_database(pg_admin_url, "wheel_dagster")
    port = pg_admin_url.rsplit(":", 1)[1].split("/")[0]
    home = tmp_path / "dagster_home"
    home.mkdir()
    # The deployment's own instance file: every value and secret from the environment.
    shutil.copy(CHECKOUT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    work = tmp_path / "work"  # a folder with nothing of the project in it or above it
    work.mkdir()
    env = {
        key: value for key, value in child_env().items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        {
            "PATH": f"{bin_dir}:{env['PATH']}",
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": port,
            "DAGSTER_PG_USER": local_postgres.USER,
            "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
            "DAGSTER_PG_DB": "wheel_dagster",
            "ROLES_LANDING_DIR": str(landing),
            "ROLES_DATABASE_URL": warehouse,
        }
    )

    where = _run(
        [
            str(bin_dir / "python"),
            "-c",
            "import roles_assets, importlib.util; print(roles_assets.__file__);"
            "print(importlib.util.find_spec('roles_assets_dev'))",
        ],
        env=env,
        cwd=work,
    )
    package_file, dev_spec = where.stdout.split()
    assert package_file.startswith(str(tmp_path / "venv" / "lib")) and dev_spec == "None"
    # Installed, there is no bundled sample to fall back on.
    unset = {key: value for key, value in env.items() if key != "ROLES_LANDING_DIR"}
    no_landing = subprocess.run(
        [str(bin_dir / "python"), "-c", LOAD_CODE_LOCATION],
        env=unset,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert no_landing.returncode != 0
    assert (
        "SettingsError: ROLES_LANDING_DIR is not set: an installed roles_assets"
        in no_landing.stderr
    )

    _run(
        [
            str(bin_dir / "dagster"),
            *materialize_args("2026-02-01"),
        ],
        env=env,
        cwd=work,
    )

    assert query(warehouse, "SELECT role_id, name FROM roles ORDER BY 1") == [
        (1, "Admin"),
        (2, "Agent"),
    ]
    assert query(
        warehouse, "SELECT agent_id, role_id, status FROM agent_role_mapping ORDER BY 1, 2"
    ) == [
        (10, 1, "assigned"),
        (11, 1, "assigned"),
        (20, 2, "assigned"),
        (30, 2, "assigned"),
    ]
    dagster_db = warehouse.rsplit("/", 1)[0] + "/wheel_dagster"
    assert query(
        dagster_db,
        "SELECT r.status, t.value FROM runs r JOIN run_tags t"
        " ON t.run_id = r.run_id AND t.key = 'dagster/partition'",
    ) == [("SUCCESS", "2026-02-01")]
    # Raw Parquet went to the installed package's default, under DAGSTER_HOME.
    assert list((home / "roles_assets" / "raw").rglob("*.parquet"))
    assert not (home / "history").exists()  # where SQLite run storage would be
