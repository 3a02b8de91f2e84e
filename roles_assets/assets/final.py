"""roles, agent_role_mapping: a staged day folded into the final tables by the SQL in sql/.

Both tables change in one transaction per day, under one advisory lock, so concurrent runs
(a parallel backfill, a sensor run racing a manual one) apply one day at a time.
"""

import dagster as dg

from roles_assets.landing import LandingZone, sync_time
from roles_assets.partitions import day_order, sync_day_partitions
from roles_assets.resources.postgres import (
    ADVISORY_LOCK_NAMESPACE,
    APPLY_LOCK,
    PostgresResource,
    run_sql,
)

_INCREMENTAL_STEPS = {
    "roles": ["apply_day_roles.sql"],
    "agent_role_mapping": ["apply_day_assignments.sql", "apply_day_removals.sql"],
}
_REBUILD_STEPS = {
    "roles": ["rebuild_roles.sql"],
    "agent_role_mapping": ["rebuild_agent_role_mapping.sql"],
}


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
        ),
        dg.AssetSpec(
            "agent_role_mapping",
            deps=["stg_roles", "stg_agent_roles", "role_errors"],
            description="Who holds which role: assigned or removed, with when.",
            kinds={"postgres"},
        ),
    ],
)
def final_tables(
    context: dg.AssetExecutionContext, postgres: PostgresResource, landing: LandingZone
):
    sync_day = context.partition_key
    params = {
        "sync_day": sync_day,
        "day_order": day_order(sync_day),
        "synced_at": sync_time(landing.day_dir(sync_day)),
    }
    rows_written = {}
    with postgres.transaction() as cur:
        cur.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", (ADVISORY_LOCK_NAMESPACE, APPLY_LOCK)
        )
        run_sql(cur, "register_day.sql", params)
        (incremental,) = cur.fetchone()
        run_sql(cur, "mark_day_applied.sql", params)
        for table, files in (_INCREMENTAL_STEPS if incremental else _REBUILD_STEPS).items():
            for name in files:
                run_sql(cur, name, params)
                # A rebuild file holds several statements: only incremental counts are exact.
                if incremental:
                    rows_written[table] = rows_written.get(table, 0) + cur.rowcount
        cur.execute("SELECT count(*) FROM roles")
        (role_count,) = cur.fetchone()
        cur.execute("SELECT status, count(*) FROM agent_role_mapping GROUP BY status")
        by_status = dict(cur.fetchall())

    mode = "incremental" if incremental else "rebuild"
    context.log.info(f"applied sync day {sync_day!r} ({mode})")

    def metadata(table: str, **counts) -> dict:
        written = {"rows_written": rows_written[table]} if incremental else {}
        return {"apply_mode": mode, "synced_at": params["synced_at"].isoformat(), **counts, **written}

    yield dg.MaterializeResult(asset_key="roles", metadata=metadata("roles", row_count=role_count))
    yield dg.MaterializeResult(
        asset_key="agent_role_mapping",
        metadata=metadata(
            "agent_role_mapping",
            row_count=sum(by_status.values()),
            assigned=by_status.get("assigned", 0),
            removed=by_status.get("removed", 0),
        ),
    )
