"""A staged day folded into roles, agent_role_mapping and their histories by the SQL in sql/.

All four tables change in one transaction per day, under the apply lock, so concurrent runs
(a parallel backfill, a sensor run racing a manual one) apply one day at a time, and a run that
dies or is refused leaves them exactly as they were. A replay of the applied days reads each
day's staging as it was applied (``applied_staging``), never a newer one not applied yet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg2.extensions

from roles_assets.partitions import day_order
from roles_assets.settings import DEFAULT_MAX_REMOVAL_SHARE
from roles_assets.warehouse.sql import lock_apply, run_sql
from roles_assets.warehouse.staging import STAGING_TABLES, applied_staging, drop_applied_copies

if TYPE_CHECKING:
    from roles_assets.resources.postgres import PostgresResource


@dataclass(frozen=True)
class Removals:
    """What a day does to the assigned mappings, against the mass-removal limit."""

    removed: int  # pairs assigned before the day and not after it
    assigned_before: int
    max_share: float

    @property
    def share(self) -> float:
        return self.removed / self.assigned_before if self.assigned_before else 0.0

    @property
    def within_limit(self) -> bool:
        return self.share <= self.max_share

    def metadata(self) -> dict:
        return {
            "removed": self.removed,
            "assigned_before": self.assigned_before,
            "removal_share": self.share,
            "max_removal_share": self.max_share,
        }


@dataclass(frozen=True)
class AppliedDay:
    incremental: bool
    removals: Removals
    rows_written: dict[str, int]  # per table; incremental applies only
    role_count: int
    mapping_by_status: dict[str, int]
    history_counts: dict[str, dict[str, int]]  # per history table: all rows, and the open ones
    replayed_applied_staging: list[str]  # days whose newer, unapplied staging the replay skipped


class MassRemovalRefused(Exception):
    """The day would remove too large a share of the assigned mappings; nothing was applied."""

    def __init__(self, sync_day: str, removals: Removals):
        self.removals = removals
        super().__init__(
            f"sync day {sync_day!r} would remove {removals.removed} of "
            f"{removals.assigned_before} assigned mappings ({removals.share:.0%}), more than the "
            f"allowed {removals.max_share:.0%}; nothing was applied. If this is intended, re-run "
            "the day with the final_tables config allow_mass_removal: true."
        )


def apply_day(
    postgres: PostgresResource,
    sync_day: str,
    synced_at: dt.datetime,
    allow_mass_removal: bool = False,
    max_removal_share: float = DEFAULT_MAX_REMOVAL_SHARE,
) -> AppliedDay:
    """Folds a staged day into the final tables in one transaction, under the apply lock."""
    params = {"sync_day": sync_day, "day_order": day_order(sync_day), "synced_at": synced_at}
    with postgres.transaction() as cur:
        lock_apply(cur)
        cur.execute("SELECT count(*) FROM agent_role_mapping WHERE status = 'assigned'")
        (assigned_before,) = cur.fetchone()
        run_sql(cur, "register_day.sql", params)
        (incremental,) = cur.fetchone()
        drop_applied_copies(cur, STAGING_TABLES, sync_day)
        run_sql(cur, "mark_day_applied.sql", params)
        # An incremental apply reads only this day's staging; a replay reads every applied day's.
        with (
            contextlib.nullcontext([])
            if incremental
            else applied_staging(cur, STAGING_TABLES, except_day=sync_day) as replayed
        ):
            removed, rows_written = _apply(cur, params, incremental)
        removals = Removals(removed, assigned_before, max_removal_share)
        if not removals.within_limit and not allow_mass_removal:
            # Raising rolls the transaction back: the final tables stay as they were.
            raise MassRemovalRefused(sync_day, removals)
        cur.execute("SELECT count(*) FROM roles")
        (role_count,) = cur.fetchone()
        cur.execute("SELECT status, count(*) FROM agent_role_mapping GROUP BY status")
        by_status = dict(cur.fetchall())
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE removed_day IS NULL) FROM agent_role_history"
        )
        intervals, open_intervals = cur.fetchone()
        cur.execute("SELECT count(*), count(*) FILTER (WHERE to_day IS NULL) FROM role_history")
        versions, current_versions = cur.fetchone()
    history = {
        "agent_role_history": {"dagster/row_count": intervals, "open_intervals": open_intervals},
        "role_history": {"dagster/row_count": versions, "current_versions": current_versions},
    }
    return AppliedDay(incremental, removals, rows_written, role_count, by_status, history, replayed)


def _apply(
    cur: psycopg2.extensions.cursor, params: dict, incremental: bool
) -> tuple[int, dict[str, int]]:
    """Runs the day's SQL; returns the pairs it removed and, if incremental, rows written."""
    if incremental:
        run_sql(cur, "apply_day_roles.sql", params)
        run_sql(cur, "upsert_roles.sql")
        roles_written = cur.rowcount
        versions_written = _rowcounts(
            cur, params, "apply_day_close_role_versions.sql", "apply_day_open_role_versions.sql"
        )
        run_sql(cur, "apply_day_reassignments.sql", params)
        assigned = cur.rowcount
        run_sql(cur, "apply_day_assignments.sql", params)
        assigned += cur.rowcount
        run_sql(cur, "apply_day_removals.sql", params)
        removed = cur.rowcount
        intervals_written = _rowcounts(
            cur, params, "apply_day_open_intervals.sql", "apply_day_close_intervals.sql"
        )
        return removed, {
            "roles": roles_written,
            "role_history": versions_written,
            "agent_role_mapping": assigned + removed,
            "agent_role_history": intervals_written,
        }
    run_sql(cur, "snapshot_assigned_pairs.sql")
    run_sql(cur, "rebuild_roles.sql")
    run_sql(cur, "upsert_roles.sql")
    run_sql(cur, "rebuild_role_history.sql")
    run_sql(cur, "rebuild_agent_role_mapping.sql")
    run_sql(cur, "rebuild_agent_role_history.sql")
    run_sql(cur, "clear_pending_replays.sql")
    run_sql(cur, "count_removed_since_snapshot.sql")
    (removed,) = cur.fetchone()
    return removed, {}


def _rowcounts(cur: psycopg2.extensions.cursor, params: dict, *files: str) -> int:
    """Runs the files in order; returns the rows their last statements wrote."""
    written = 0
    for name in files:
        run_sql(cur, name, params)
        written += cur.rowcount
    return written
