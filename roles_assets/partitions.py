"""The sync-day partitions: one partition per landed day folder, in natural order.

Partitions are dynamic so that a day landing while ``dagster dev`` runs becomes a partition
without a restart (the sensor registers it). The folder name is the key; only safe names
(letters, digits, ``.``, ``_``, ``-``) qualify, because keys end up in file paths and SQL values.
"""

import logging
from pathlib import Path

import dagster as dg
import sqlalchemy.exc

from roles_assets.days import day_order, is_safe_day
from roles_assets.landing import PARTIAL_PREFIX

log = logging.getLogger(__name__)

sync_day_partitions = dg.DynamicPartitionsDefinition(name="sync_day")


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
