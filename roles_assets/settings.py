"""Every variable the code location reads, parsed once, in one place.

``definitions.py`` builds a ``Settings`` from the environment when the code location loads and
hands its values to the resources, so a bad value fails the load with the variable's name instead
of failing a run later. ``ROLES_DATABASE_URL`` is not here: it is a secret, read at run time
through ``dg.EnvVar`` so that it never lands in a resource's stored configuration.

Two defaults depend on where the package runs from. In a checkout (the package's parent folder
holds ``pyproject.toml`` and the bundled sample) the landing folder defaults to the sample and
raw Parquet goes to ``.local/raw``. An installed package has no sample and nothing beside it to
write into: raw Parquet defaults to ``$DAGSTER_HOME/roles_assets/raw`` and the landing folder
must be set.
"""

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from roles_assets.rules import (
    DEFAULT_MAX_MALFORMED_SHARE,
    DEFAULT_MAX_REJECTION_RATE,
    DEFAULT_MAX_REMOVAL_SHARE,
)

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_LANDING = Path("data") / "landing"  # the bundled sample, relative to a checkout

FRESHDESK_VARIABLES = ("FRESHDESK_BASE_URL", "FRESHDESK_DOMAIN", "FRESHDESK_API_KEY")

# Hourly: a day missed by one tick (the API down, a failed run) is tried again within the hour.
DEFAULT_PULL_CRON = "0 * * * *"
# A day and some hours: one daily load, late by a few hours at most, still counts as fresh.
DEFAULT_FRESHNESS_HOURS = 30.0
ALERT_WEBHOOK_VARIABLE = "ROLES_ALERT_WEBHOOK_URL"

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


class SettingsError(ValueError):
    """A ``ROLES_*`` variable is missing or malformed; the message names it and says what fits."""


def find_checkout(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The checkout the package runs from, or None when it is installed (e.g. from a wheel)."""
    root = package_dir.parent
    if (root / "pyproject.toml").is_file() and (root / SAMPLE_LANDING).is_dir():
        return root
    return None


CHECKOUT_DIR = find_checkout()


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    raw_path: str  # a local folder or any Hadoop path Spark can write (s3a://...)
    max_removal_share: float
    max_rejection_rate: float
    max_malformed_share: float
    jdbc_jar: str | None  # None: the driver `make setup` copies into the venv, or Debian's
    spark_ui: bool
    spark_remote: str | None  # sc://host:port: every Spark step on that Spark Connect server
    spark_master: str  # the classic driver's master when there is no remote: local[*] or a cluster
    dagster_home: Path | None  # Dagster's own variable; None: a throw-away instance
    # The FRESHDESK_* variables that are set; their values (the key is a secret) are read at
    # run time through dg.EnvVar by the Freshdesk resource.
    freshdesk_variables: frozenset[str] = frozenset()
    pull_cron: str = DEFAULT_PULL_CRON  # the daily_pull schedule's ticks, in UTC
    freshness_hours: float = DEFAULT_FRESHNESS_HOURS  # the final tables' freshness fail window
    # Whether ROLES_ALERT_WEBHOOK_URL is set; the URL itself (it carries a token) is read at
    # run time through dg.EnvVar by the alert webhook resource.
    alert_webhook_set: bool = False
    ui_url: str | None = None  # the Dagster UI, for links to a failed run in alerts

    @property
    def freshdesk_configured(self) -> bool:
        """An API key and an account: today's day can be pulled, and the schedule runs."""
        return "FRESHDESK_API_KEY" in self.freshdesk_variables and bool(
            {"FRESHDESK_BASE_URL", "FRESHDESK_DOMAIN"} & self.freshdesk_variables
        )

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] = os.environ, checkout: Path | None = CHECKOUT_DIR
    ) -> "Settings":
        return cls(
            landing_dir=_landing_dir(env, checkout),
            raw_path=_raw_path(env, checkout),
            max_removal_share=_share(env, "ROLES_MAX_REMOVAL_SHARE", DEFAULT_MAX_REMOVAL_SHARE),
            max_rejection_rate=_share(env, "ROLES_MAX_REJECTION_RATE", DEFAULT_MAX_REJECTION_RATE),
            max_malformed_share=_share(
                env, "ROLES_MAX_MALFORMED_SHARE", DEFAULT_MAX_MALFORMED_SHARE
            ),
            jdbc_jar=env.get("ROLES_JDBC_JAR") or None,
            spark_ui=_flag(env, "ROLES_SPARK_UI", default=False),
            spark_remote=_spark_remote(env),
            spark_master=env.get("ROLES_SPARK_MASTER") or "local[*]",
            dagster_home=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
            freshdesk_variables=frozenset(name for name in FRESHDESK_VARIABLES if env.get(name)),
            pull_cron=_cron(env, "ROLES_PULL_CRON", DEFAULT_PULL_CRON),
            freshness_hours=_hours(env, "ROLES_FRESHNESS_HOURS", DEFAULT_FRESHNESS_HOURS),
            alert_webhook_set=_alert_webhook_set(env),
            ui_url=_http_url(env, "ROLES_UI_URL", shown=True),
        )


def _landing_dir(env: Mapping[str, str], checkout: Path | None) -> Path:
    if env.get("ROLES_LANDING_DIR"):
        return Path(env["ROLES_LANDING_DIR"])
    if checkout is not None:
        return checkout / SAMPLE_LANDING
    raise SettingsError(
        "ROLES_LANDING_DIR is not set: an installed roles_assets has no default landing folder. "
        "Set it to the folder that holds one sub-folder per sync day."
    )


def _raw_path(env: Mapping[str, str], checkout: Path | None) -> str:
    if env.get("ROLES_RAW_PATH"):
        return env["ROLES_RAW_PATH"]
    if checkout is not None:
        return str(checkout / ".local" / "raw")
    if env.get("DAGSTER_HOME"):
        return str(Path(env["DAGSTER_HOME"]) / "roles_assets" / "raw")
    raise SettingsError(
        "ROLES_RAW_PATH is not set and neither is DAGSTER_HOME, under which an installed "
        "roles_assets keeps raw Parquet by default. Set ROLES_RAW_PATH (a folder or an "
        "s3a://... path)."
    )


def _spark_remote(env: Mapping[str, str]) -> str | None:
    remote = env.get("ROLES_SPARK_REMOTE") or None
    if remote and env.get("ROLES_SPARK_MASTER"):
        raise SettingsError(
            "ROLES_SPARK_REMOTE and ROLES_SPARK_MASTER are both set: a run uses a Spark Connect "
            "server or a driver of its own on a master, not both. Unset one of them."
        )
    if remote and not remote.startswith("sc://"):
        raise SettingsError(
            f"ROLES_SPARK_REMOTE={remote!r} is not a Spark Connect URL: give sc://host:port."
        )
    return remote


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    wanted = f"a share: give a number from 0 to 1, e.g. {default}"
    return _number(env, name, default, lambda value: 0 <= value <= 1, wanted)


def _number(
    env: Mapping[str, str], name: str, default: float, fits: Callable[[float], bool], wanted: str
) -> float:
    """A number that ``fits`` (NaN fits no range), or ``default`` when unset."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not fits(value):
        raise SettingsError(f"{name}={text!r} is not {wanted}.")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise SettingsError(f"{name}={env[name]!r} is not a flag: give true or false.")


def _cron(env: Mapping[str, str], name: str, default: str) -> str:
    text = env.get(name, "").strip()
    if not text:
        return default
    # Dagster's own check of a cron string, run here so that a bad ROLES_PULL_CRON is named;
    # imported only when the variable is set, so importing the settings imports no Dagster.
    from dagster._utils.schedules import is_valid_cron_string

    if not is_valid_cron_string(text):
        raise SettingsError(
            f"{name}={text!r} is not a cron schedule: give five fields (minute hour day month "
            f"weekday), e.g. {default!r} for every hour."
        )
    return text


def _hours(env: Mapping[str, str], name: str, default: float) -> float:
    wanted = f"a number of hours: give one above 0, e.g. {default:g}"
    return _number(env, name, default, lambda value: 0 < value < math.inf, wanted)


def _alert_webhook_set(env: Mapping[str, str]) -> bool:
    return _http_url(env, ALERT_WEBHOOK_VARIABLE, shown=False) is not None


def _http_url(env: Mapping[str, str], name: str, shown: bool) -> str | None:
    """An http(s) URL, or None when unset; an error quotes the value only when ``shown`` (a
    webhook's URL carries its token)."""
    text = env.get(name, "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        value = f"={text!r}" if shown else " (value not shown)"
        raise SettingsError(f"{name}{value} is not an http(s) URL: give https://host/...")
    return text
