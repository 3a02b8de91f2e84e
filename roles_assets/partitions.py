"""The sync-day partitions: one partition per landed day folder, in natural order.

Partitions are dynamic so that a day landing while ``dagster dev`` runs becomes a partition
without a restart (the sensor registers it). The folder name is the key; only safe names
(letters, digits, ``.``, ``_``, ``-``) qualify, because keys end up in file paths and SQL values.
"""

import logging
import re
import warnings
from pathlib import Path

import dagster as dg
import sqlalchemy.exc

from roles_assets.landing import PARTIAL_PREFIX

log = logging.getLogger(__name__)

sync_day_partitions = dg.DynamicPartitionsDefinition(name="sync_day")

# Checks partitioned like their assets are a preview feature of the pinned Dagster; every check
# of the graph is, knowingly (here, since each module that defines one imports this).
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")

_SAFE_KEY = re.compile(r"[A-Za-z0-9._-]+")
_TOKENS = re.compile(r"\d+|\D+")


def is_safe_day(name: str) -> bool:
    """Letters, digits, ``.``, ``_`` and ``-``, not only dots: a key safe in paths and SQL."""
    return bool(_SAFE_KEY.fullmatch(name)) and name.strip(".") != ""


def day_order(day: str) -> str:
    """A string whose plain byte order (SQL ``COLLATE "C"``) is the natural order of days.

    Digit runs compare as numbers (``day9`` < ``day10``): each becomes ``0`` + its length + its
    digits. Text runs become ``1`` + text + ``!``; ``!`` sorts below every safe key character,
    so a shorter text run sorts first. The raw key closes the string to break ties such as
    ``day01`` / ``day1``. Used both to sort days in Python and to compare them in SQL.
    """
    parts = []
    for token in _TOKENS.findall(day):
        if token.isdigit():
            digits = token.lstrip("0") or "0"
            parts.append(f"0{len(digits):03d}{digits}")
        else:
            parts.append(f"1{token}!")
    return "".join(parts) + " " + day


def landed_days(landing_root: Path) -> list[str]:
    """Day folders under the landing root, in natural order; unsafe names are skipped, and so are
    days still being pulled (hidden folders that become the day when complete)."""
    if not landing_root.is_dir():
        log.warning("landing directory %s does not exist", landing_root)
        return []
    days = []
    for entry in landing_root.iterdir():
        if entry.is_symlink() or not entry.is_dir() or entry.name.startswith(PARTIAL_PREFIX):
            continue
        if not is_safe_day(entry.name):
            log.warning("skipping landing folder %r: not a safe partition key", entry.name)
            continue
        days.append(entry.name)
    return sorted(days, key=day_order)


def _unknown_days(instance: dg.DagsterInstance, days: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions(sync_day_partitions.name))
    return [day for day in days if day not in known]


def register_days(instance: dg.DagsterInstance, days: list[str]) -> list[str]:
    """Adds the days the instance does not know yet as partitions; returns those days.

    Safe when several processes register the same days at once (runs started together, each
    loading the code location): PostgreSQL storage inserts with ``ON CONFLICT DO NOTHING``;
    SQLite storage checks, then inserts, so a process that loses the race hits the unique index,
    and a second look shows the days are there.
    """
    new_days = _unknown_days(instance, days)
    if new_days:
        try:
            instance.add_dynamic_partitions(sync_day_partitions.name, new_days)
        except sqlalchemy.exc.IntegrityError:
            still_unknown = _unknown_days(instance, new_days)
            if still_unknown:
                instance.add_dynamic_partitions(sync_day_partitions.name, still_unknown)
    return new_days
