"""roles, agent_role_mapping and their histories: a staged day folded into the final tables by
the SQL in sql/.

All four tables change in one transaction per day, under one advisory lock, so concurrent runs
(a parallel backfill, a sensor run racing a manual one) apply one day at a time, and a run that
dies or is refused leaves them exactly as they were. A replay of the applied days reads each
day's staging as it was applied (``applied_staging``), never a newer one not applied yet.
"""

import contextlib
import datetime as dt
from dataclasses import dataclass

import dagster as dg
import psycopg2.extensions
from pydantic import Field

from roles_assets.assets.staging import staging_tables
from roles_assets.landing import sync_time
from roles_assets.partitions import day_order, sync_day_partitions
from roles_assets.resources.io_managers import applied_staging, drop_applied_copies
from roles_assets.resources.landing import LandingZone
from roles_assets.resources.limits import GuardLimits
from roles_assets.resources.postgres import (
    ADVISORY_LOCK_NAMESPACE,
    APPLY_LOCK,
    PostgresResource,
    run_sql,
)
from roles_assets.schema import code_version, table_metadata
from roles_assets.settings import DEFAULT_MAX_REMOVAL_SHARE

STAGING_TABLES = tuple(spec.metadata["dagster/table_name"] for spec in staging_tables.specs)
# This module, the SQL files it names, the staging swaps it reads through, the schema steps.
CODE_VERSION = code_version(
    __name__, "roles_assets.resources.io_managers", "roles_assets.schema", sql=["schema/*.sql"]
)


class ApplyConfig(dg.Config):
    allow_mass_removal: bool = Field(
        default=False,
        description=(
            "Apply the day even if it removes more than ROLES_MAX_REMOVAL_SHARE (default 0.5) "
            "of the assigned mappings. Set it only for a day where that is really intended."
        ),
    )


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
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (ADVISORY_LOCK_NAMESPACE, APPLY_LOCK))
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


# The guard runs inside the apply (it needs the day's effect before committing it); recording it
# as a check puts refusals on the asset's Checks tab and in its check history.
REMOVALS_CHECK = dg.AssetCheckSpec(
    "agent_role_mapping_removals_within_limit",
    asset="agent_role_mapping",
    partitions_def=sync_day_partitions,
    metadata={"code_version": CODE_VERSION},
    description=(
        "The day removes at most ROLES_MAX_REMOVAL_SHARE (default 0.5) of the assigned mappings; "
        "a day that would remove more is refused and nothing of it is applied. When that is "
        "really intended, re-run the day with the final_tables config allow_mass_removal: true "
        '(CLI: --config-json \'{"ops": {"final_tables": {"config": '
        '{"allow_mass_removal": true}}}}\').'
    ),
)


@dg.multi_asset(
    partitions_def=sync_day_partitions,
    group_name="roles",
    can_subset=False,
    specs=[
        dg.AssetSpec(
            "roles",
            deps=["stg_roles"],
            description="Every role ever valid, with its values from the latest day it was valid.",
            kinds={"postgres"},
            metadata=table_metadata("roles"),
            code_version=CODE_VERSION,
        ),
        dg.AssetSpec(
            "agent_role_mapping",
            deps=["stg_roles", "stg_agent_roles", "role_errors"],
            description="Who holds which role: assigned or removed, with when.",
            kinds={"postgres"},
            metadata=table_metadata("agent_role_mapping"),
            code_version=CODE_VERSION,
        ),
        dg.AssetSpec(
            "role_history",
            deps=["stg_roles"],
            description=(
                "Every version of every role's attributes, valid from the sync day that "
                "brought it until the day that changed it (open for the current version)."
            ),
            kinds={"postgres"},
            metadata=table_metadata("role_history"),
            code_version=CODE_VERSION,
        ),
        dg.AssetSpec(
            "agent_role_history",
            deps=["stg_roles", "stg_agent_roles", "role_errors"],
            description=(
                "Every interval in which an agent held a role: assigned on one sync day, "
                "removed on a later one (open while held). role_holders_at(ts) answers who "
                "held which role at a time."
            ),
            kinds={"postgres"},
            metadata=table_metadata("agent_role_history"),
            code_version=CODE_VERSION,
        ),
    ],
    check_specs=[REMOVALS_CHECK],
)
def final_tables(
    context: dg.AssetExecutionContext,
    config: ApplyConfig,
    postgres: PostgresResource,
    landing: LandingZone,
    limits: GuardLimits,
):
    sync_day = context.partition_key
    synced_at = sync_time(landing.day_dir(sync_day))
    try:
        applied = apply_day(
            postgres,
            sync_day,
            synced_at,
            allow_mass_removal=config.allow_mass_removal,
            max_removal_share=limits.max_removal_share,
        )
    except MassRemovalRefused as refused:
        yield _removals_check(refused.removals, allowed=False, description=str(refused))
        raise dg.Failure(description=str(refused)) from None
    yield _removals_check(applied.removals, allowed=config.allow_mass_removal)

    mode = "incremental" if applied.incremental else "rebuild"
    context.log.info(f"applied sync day {sync_day!r} ({mode}), {applied.removals.removed} removals")
    common = {"apply_mode": mode, "synced_at": synced_at.isoformat()}
    if applied.replayed_applied_staging:
        days = applied.replayed_applied_staging
        context.log.warning(
            f"the replay read the staging of {', '.join(days)} as it was last applied: their "
            "newer staging has not been applied (its run failed, was refused, or is still running)"
        )
        common["replayed_applied_staging_of"] = dg.MetadataValue.json(days)
    written = {table: {"rows_written": count} for table, count in applied.rows_written.items()}
    # The final tables are not split by day: a day's materialization is the whole table.
    yield dg.MaterializeResult(
        asset_key="roles",
        metadata={**common, "dagster/row_count": applied.role_count, **written.get("roles", {})},
    )
    by_status = applied.mapping_by_status
    yield dg.MaterializeResult(
        asset_key="agent_role_mapping",
        metadata={
            **common,
            "dagster/row_count": sum(by_status.values()),
            "assigned": by_status.get("assigned", 0),
            "removed": by_status.get("removed", 0),
            "removed_by_this_day": applied.removals.removed,
            **written.get("agent_role_mapping", {}),
        },
    )
    for table, counts in applied.history_counts.items():
        yield dg.MaterializeResult(
            asset_key=table, metadata={**common, **counts, **written.get(table, {})}
        )


def _removals_check(
    removals: Removals, allowed: bool, description: str | None = None
) -> dg.AssetCheckResult:
    """Passes within the limit; a day applied beyond it by allow_mass_removal is a warning."""
    if not removals.within_limit and allowed:
        description = "applied beyond the limit because allow_mass_removal was set for this run"
    return dg.AssetCheckResult(
        check_name=REMOVALS_CHECK.name,
        asset_key="agent_role_mapping",
        passed=removals.within_limit,
        severity=dg.AssetCheckSeverity.WARN if allowed else dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={**removals.metadata(), "allow_mass_removal": allowed},
    )
