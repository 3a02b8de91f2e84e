"""A staged day folded into roles, agent_role_mapping and their histories by the SQL in sql/.

A day newer than every applied day runs its steps (``DAY_STEPS``) on the tables. Any other day
is a replay: the same steps for every applied day, in natural order, into copies of the tables,
then only the rows that differ are written; the rules are stated once, for both.

All four tables change in one transaction per day, under the apply lock, so concurrent runs
(a parallel backfill, a sensor run racing a manual one) apply one day at a time, and a run that
dies or is refused leaves them exactly as they were. The apply reads each day's applied loads
(``warehouse/staging.py``): a replay never reads a newer staging not applied yet.
The tables' triggers keep their counts and note the keys each day writes as it writes them
(``schema/001_initial.sql``), so neither the metadata nor a day's checks read whole tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg2.extensions

from roles_assets.days import day_order
from roles_assets.rules import DEFAULT_MAX_REMOVAL_SHARE
from roles_assets.warehouse.sql import APPLY_LOCK, advisory_lock, run_sql, sql_file
from roles_assets.warehouse.staging import day_loads, drop_unreferenced_loads

if TYPE_CHECKING:
    from roles_assets.resources.postgres import PostgresResource


@dataclass(frozen=True)
class Losses:
    """What a day takes away, against the mass-removal limit: assigned mappings it removes and
    existing roles it deletes, each as a share of what there was before it."""

    removed: int  # pairs assigned before the day and not after it
    assigned_before: int
    deleted: int  # roles not deleted before the day and deleted (or gone) after it
    roles_before: int
    max_share: float

    @property
    def removal_share(self) -> float:
        return self.removed / self.assigned_before if self.assigned_before else 0.0

    @property
    def deletion_share(self) -> float:
        return self.deleted / self.roles_before if self.roles_before else 0.0

    @property
    def removals_within_limit(self) -> bool:
        return self.removal_share <= self.max_share

    @property
    def deletions_within_limit(self) -> bool:
        return self.deletion_share <= self.max_share

    @property
    def within_limit(self) -> bool:
        return self.removals_within_limit and self.deletions_within_limit

    def removal_metadata(self) -> dict:
        return {
            "removed": self.removed,
            "assigned_before": self.assigned_before,
            "removal_share": self.removal_share,
            "max_removal_share": self.max_share,
        }

    def deletion_metadata(self) -> dict:
        return {
            "deleted": self.deleted,
            "roles_before": self.roles_before,
            "deletion_share": self.deletion_share,
            "max_removal_share": self.max_share,
        }

    def refusal(self) -> str:
        """What is beyond the limit, in words."""
        beyond = []
        if not self.removals_within_limit:
            beyond.append(
                f"remove {self.removed} of {self.assigned_before} assigned mappings "
                f"({self.removal_share:.0%})"
            )
        if not self.deletions_within_limit:
            beyond.append(
                f"delete {self.deleted} of {self.roles_before} roles ({self.deletion_share:.0%})"
            )
        return " and ".join(beyond)


@dataclass(frozen=True)
class AppliedDay:
    synced_at: dt.datetime
    incremental: bool
    losses: Losses
    rows_written: dict[str, int]  # per table; incremental applies only
    counts: dict[str, dict[str, int]]  # per final table, as its metadata names them
    replayed_applied_staging: list[str]  # days whose newer, unapplied staging the replay skipped

    @property
    def mode(self) -> str:
        return "incremental" if self.incremental else "rebuild"


class MassRemovalRefused(Exception):
    """The day would take away too large a share of the assigned mappings or of the roles;
    nothing was applied."""

    def __init__(self, sync_day: str, losses: Losses):
        self.losses = losses
        super().__init__(
            f"sync day {sync_day!r} would {losses.refusal()}, more than the allowed "
            f"{losses.max_share:.0%}; nothing was applied. If this is intended, re-run the day "
            "with the final_tables config allow_mass_removal: true."
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
    postgres.migrate()
    with postgres.transaction() as cur:
        advisory_lock(cur, APPLY_LOCK)
        # The replay's temporary tables have no statistics, so even a few rows plan past the JIT
        # thresholds and each statement pays about a second of LLVM compilation for nothing.
        cur.execute("SET LOCAL jit = off")
        run_sql(cur, "track_day_changes.sql")
        run_sql(cur, "count_final_rows.sql")  # the mass-removal limit is a share of these
        current = {table: rows for table, _, rows in cur.fetchall()}
        assigned_before, roles_before = current["agent_role_mapping"], current["roles"]
        run_sql(cur, "register_day.sql", params)
        (incremental,) = cur.fetchone()
        run_sql(cur, "mark_day_applied.sql", params)
        params |= day_loads(cur, sync_day, "applied")
        # An incremental apply reads only this day's loads; a replay reads every applied day's,
        # and names those whose newer staging it leaves aside.
        replayed = []
        if not incremental:
            run_sql(cur, "days_awaiting_apply.sql")
            replayed = [day for (day,) in cur.fetchall()]
        (removed, deleted), rows_written = _apply(cur, params, incremental)
        losses = Losses(removed, assigned_before, deleted, roles_before, max_removal_share)
        if not losses.within_limit and not allow_mass_removal:
            # Raising rolls the transaction back: the final tables stay as they were.
            raise MassRemovalRefused(sync_day, losses)
        run_sql(cur, "record_day_changes.sql", params)
        run_sql(cur, "count_final_rows.sql")
        counts = {table: (rows, current) for table, rows, current in cur.fetchall()}
        # Last: dropping the load the day no longer needs locks its table's readers out until
        # the commit.
        drop_unreferenced_loads(cur, sync_day)
    named = {table: {"dagster/row_count": rows} for table, (rows, _) in counts.items()}
    (roles, live), (mappings, assigned) = counts["roles"], counts["agent_role_mapping"]
    named["roles"]["deleted"] = roles - live
    named["agent_role_mapping"] |= {"assigned": assigned, "removed": mappings - assigned}
    named["agent_role_history"]["open_intervals"] = counts["agent_role_history"][1]
    named["role_history"]["current_versions"] = counts["role_history"][1]
    return AppliedDay(synced_at, incremental, losses, rows_written, named, replayed)


# A day's fold into the tables as the newest applied day, in order; each file's last statement
# writes the rows it counts.
DAY_STEPS = (
    "apply_day_roles.sql",
    "upsert_roles.sql",
    "apply_day_close_role_versions.sql",
    "apply_day_open_role_versions.sql",
    "apply_day_deletions.sql",
    "apply_day_close_deleted_versions.sql",
    "apply_day_reassignments.sql",
    "apply_day_assignments.sql",
    "apply_day_removals.sql",
    "apply_day_open_intervals.sql",
    "apply_day_close_intervals.sql",
)


def _apply(
    cur: psycopg2.extensions.cursor, params: dict, incremental: bool
) -> tuple[tuple[int, int], dict[str, int]]:
    """Runs the day's SQL; returns the pairs it removed and the roles it deleted, and, if
    incremental, the rows written."""
    if incremental:
        written = {}
        for step in DAY_STEPS:
            run_sql(cur, step, params)
            written[step.removeprefix("apply_day_").removesuffix(".sql")] = cur.rowcount
        removed, deleted = written["removals"], written["deletions"]
        versions = ("close_role_versions", "open_role_versions", "close_deleted_versions")
        return (removed, deleted), {
            "roles": written["upsert_roles"] + deleted,
            "role_history": sum(written[step] for step in versions),
            "agent_role_mapping": written["reassignments"] + written["assignments"] + removed,
            "agent_role_history": written["open_intervals"] + written["close_intervals"],
        }
    # A replay: every applied day's steps, each day in one round trip.
    run_sql(cur, "replay_start.sql")
    run_sql(cur, "applied_days.sql")
    steps = "\n".join(sql_file(step) for step in DAY_STEPS)
    for day, synced_at in cur.fetchall():
        cur.execute(
            steps, {"sync_day": day, "synced_at": synced_at, **day_loads(cur, day, "applied")}
        )
    run_sql(cur, "replay_write_back.sql")
    run_sql(cur, "upsert_roles.sql")
    run_sql(cur, "count_lost_since_snapshot.sql")
    return cur.fetchone(), {}
