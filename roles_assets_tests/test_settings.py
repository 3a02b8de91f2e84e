"""One settings surface: every ROLES_* variable parsed, checkout vs installed defaults, bad values
named, and runtime code free of scattered environment reads (the imports are .importlinter's)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from roles_assets.settings import CHECKOUT_DIR, Settings, SettingsError, find_checkout
from roles_assets_tests.helpers import LOAD_CODE_LOCATION

pytestmark = pytest.mark.fast

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "roles_assets"


def test_every_variable_is_parsed():
    settings = Settings.from_env(
        {
            "ROLES_LANDING_DIR": "/data/landing",
            "ROLES_RAW_PATH": "s3a://bucket/raw",
            "ROLES_MAX_REMOVAL_SHARE": "0.25",
            "ROLES_MAX_REJECTION_RATE": " 1 ",
            "ROLES_MAX_MALFORMED_SHARE": "0.75",
            "ROLES_JDBC_JAR": "/opt/jdbc/postgresql.jar",
            "ROLES_SPARK_UI": "TRUE",
            "ROLES_SPARK_MASTER": "spark://spark-master:7077",
            "DAGSTER_HOME": "/var/dagster",
            "FRESHDESK_DOMAIN": "acme",
            "ROLES_PULL_CRON": "*/20 6-18 * * 1-5",
            "ROLES_FRESHNESS_HOURS": "26.5",
            "ROLES_ALERT_WEBHOOK_URL": "https://hooks.example.com/services/T0/B0/x",
            "ROLES_UI_URL": "https://dagster.example.com",
        }
    )
    assert settings == Settings(
        landing_dir=Path("/data/landing"),
        raw_path="s3a://bucket/raw",
        max_removal_share=0.25,
        max_rejection_rate=1.0,
        max_malformed_share=0.75,
        jdbc_jar="/opt/jdbc/postgresql.jar",
        spark_ui=True,
        spark_remote=None,
        spark_master="spark://spark-master:7077",
        dagster_home=Path("/var/dagster"),
        freshdesk_variables=frozenset({"FRESHDESK_DOMAIN"}),
        pull_cron="*/20 6-18 * * 1-5",
        freshness_hours=26.5,
        alert_webhook_set=True,
        ui_url="https://dagster.example.com",
    )
    assert "hooks.example.com" not in repr(settings)  # the webhook's URL carries its token
    remote = Settings.from_env({"ROLES_SPARK_REMOTE": "sc://spark-connect:15002"})
    assert (remote.spark_remote, remote.spark_master) == ("sc://spark-connect:15002", "local[*]")


def test_a_checkout_defaults_to_the_sample_and_local_raw():
    assert PACKAGE_DIR.parent == CHECKOUT_DIR
    settings = Settings.from_env({})
    assert settings.landing_dir == CHECKOUT_DIR / "data" / "landing"
    assert settings.raw_path == str(CHECKOUT_DIR / ".local" / "raw")
    assert (settings.max_removal_share, settings.max_rejection_rate) == (0.5, 0.2)
    assert (settings.jdbc_jar, settings.spark_ui, settings.dagster_home) == (None, False, None)
    assert (settings.spark_remote, settings.spark_master) == (None, "local[*]")
    assert (settings.pull_cron, settings.freshness_hours) == ("0 * * * *", 30.0)
    assert (settings.alert_webhook_set, settings.ui_url) == (False, None)


def test_an_installed_package_keeps_raw_under_dagster_home_and_needs_a_landing_dir(tmp_path):
    site_packages = tmp_path / "site-packages"
    (site_packages / "roles_assets").mkdir(parents=True)
    assert find_checkout(site_packages / "roles_assets") is None

    settings = Settings.from_env(
        {"ROLES_LANDING_DIR": "/in", "DAGSTER_HOME": "/home/dg"}, checkout=None
    )
    assert settings.raw_path == "/home/dg/roles_assets/raw"
    with pytest.raises(SettingsError, match="ROLES_LANDING_DIR is not set"):
        Settings.from_env({"DAGSTER_HOME": "/home/dg"}, checkout=None)
    with pytest.raises(
        SettingsError, match="ROLES_RAW_PATH is not set and neither is DAGSTER_HOME"
    ):
        Settings.from_env({"ROLES_LANDING_DIR": "/in"}, checkout=None)


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("ROLES_MAX_REMOVAL_SHARE", "half", "ROLES_MAX_REMOVAL_SHARE='half' is not a share"),
        ("ROLES_MAX_REMOVAL_SHARE", "1.5", "ROLES_MAX_REMOVAL_SHARE='1.5' is not a share"),
        ("ROLES_MAX_REJECTION_RATE", "-0.1", "ROLES_MAX_REJECTION_RATE='-0.1' is not a share"),
        ("ROLES_MAX_REJECTION_RATE", "nan", "ROLES_MAX_REJECTION_RATE='nan' is not a share"),
        ("ROLES_SPARK_UI", "on please", "ROLES_SPARK_UI='on please' is not a flag"),
        (
            "ROLES_SPARK_REMOTE",
            "spark-connect:15002",
            "ROLES_SPARK_REMOTE='spark-connect:15002' is not a Spark Connect URL",
        ),
        ("ROLES_PULL_CRON", "hourly", "ROLES_PULL_CRON='hourly' is not a cron schedule"),
        ("ROLES_PULL_CRON", "61 * * * *", "ROLES_PULL_CRON='61 * * * *' is not a cron schedule"),
        ("ROLES_FRESHNESS_HOURS", "0", "ROLES_FRESHNESS_HOURS='0' is not a number of hours"),
        ("ROLES_FRESHNESS_HOURS", "a day", "ROLES_FRESHNESS_HOURS='a day' is not a number"),
        ("ROLES_FRESHNESS_HOURS", "inf", "ROLES_FRESHNESS_HOURS='inf' is not a number of hours"),
        ("ROLES_UI_URL", "dagster:3000", "ROLES_UI_URL='dagster:3000' is not an http(s) URL"),
        (
            "ROLES_ALERT_WEBHOOK_URL",
            "hooks.example.com/T0K3N",
            "ROLES_ALERT_WEBHOOK_URL (value not shown) is not an http(s) URL",
        ),
    ],
)
def test_bad_values_are_named(name, value, expected):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: value})
    assert str(raised.value).startswith(expected)
    assert "T0K3N" not in str(raised.value)  # a webhook's URL carries a token: never quoted


def test_a_spark_connect_server_and_a_master_are_not_both_set():
    with pytest.raises(
        SettingsError, match="ROLES_SPARK_REMOTE and ROLES_SPARK_MASTER are both set"
    ):
        Settings.from_env(
            {"ROLES_SPARK_REMOTE": "sc://a:1", "ROLES_SPARK_MASTER": "spark://m:7077"}
        )


def test_a_bad_value_fails_the_code_location_load(tmp_path):
    env = {
        "ROLES_MAX_REMOVAL_SHARE": "70%",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(PACKAGE_DIR.parent),
    }
    load = subprocess.run(
        [sys.executable, "-c", LOAD_CODE_LOCATION],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert load.returncode != 0
    assert "SettingsError: ROLES_MAX_REMOVAL_SHARE='70%' is not a share" in load.stderr


def _runtime_modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(PACKAGE_DIR)): ast.parse(path.read_text())
        for path in PACKAGE_DIR.rglob("*.py")
    }


def test_runtime_code_reads_the_environment_only_in_settings():
    readers = set()
    for name, tree in _runtime_modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                line = ast.get_source_segment((PACKAGE_DIR / name).read_text(), node.value)
                if line == "os":
                    readers.add(name)
    # spark.py only sets SPARK_LOCAL_IP, for Spark's launcher.
    assert readers == {"settings.py", "resources/spark.py"}


def test_the_freshdesk_api_is_configured_by_a_key_and_an_account():
    base = {"ROLES_LANDING_DIR": "/in", "ROLES_RAW_PATH": "/raw"}
    assert not Settings.from_env(base).freshdesk_configured
    assert not Settings.from_env(base | {"FRESHDESK_API_KEY": "k"}).freshdesk_configured
    for account in ({"FRESHDESK_DOMAIN": "acme"}, {"FRESHDESK_BASE_URL": "http://127.0.0.1:9"}):
        settings = Settings.from_env(base | account | {"FRESHDESK_API_KEY": "k"})
        assert settings.freshdesk_configured
        assert settings.freshdesk_variables == frozenset({"FRESHDESK_API_KEY", *account})
