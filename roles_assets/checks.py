"""Asset checks: the contract each table must meet before anything reads it.

Staging checks block: a day with broken keys never reaches the final tables. Each check is one
row of ``CHECKS``; ``build_check`` turns every row into a Dagster check the same way.

The ``day_scoped`` checks of the final tables read only the keys the day's apply wrote, so a
day's checks cost what the day changed, not the size of the history; the job
``history_full_checks`` runs the same queries over every row, on demand.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import dagster as dg
from psycopg2 import sql

from roles_assets.code_version import CODE_VERSION
from roles_assets.partitions import check_results, run_days, sync_day_partitions
from roles_assets.resources.limits import GuardLimits
from roles_assets.resources.postgres import PostgresResource
from roles_assets.rules import DEFAULT_MAX_MALFORMED_SHARE, DEFAULT_MAX_REJECTION_RATE, SAMPLE_ROWS
from roles_assets.warehouse.sql import Cursor, run_sql
from roles_assets.warehouse.staging import day_loads

# Checks have no code_version of their own in Dagster: each declares it as metadata instead.
VERSION = {"code_version": CODE_VERSION}

Evaluate = Callable[[str | None, Cursor, GuardLimits], dg.AssetCheckResult]
"""A check's evaluation of a sync day through a cursor, against the settings' thresholds; a
``day_scoped`` check given no day evaluates every row."""


@dataclass(frozen=True)
class DeclaredCheck:
    name: str
    asset: str
    description: str
    evaluate: Evaluate
    blocking: bool = False
    additional_deps: tuple[str, ...] = ()
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
    day_scoped: bool = False  # reads the keys the day's apply wrote; history_full_checks reads all


DAY_SCOPED = (
    " A day's check reads the pairs and roles that day's apply wrote; the job history_full_checks "
    "reads every row."
)


def key_check(
    cur: Cursor, table: str, keys: list[str], sync_day: str | None = None
) -> dg.AssetCheckResult:
    """Keys must be non-NULL and unique (within the day's staged load, when ``sync_day`` is
    given).

    A table whose keys PostgreSQL enforces (a NOT NULL primary key or unique index; within a
    load, one on the keys and ``load_id``) passes without a scan, naming the index: a
    million-row scan would prove the same thing again.
    """
    enforced_keys = [*keys, "load_id"] if sync_day else keys
    run_sql(cur, "checks/enforcing_unique_index.sql", {"table": table, "keys": enforced_keys})
    enforced = cur.fetchone()
    if enforced:
        return dg.AssetCheckResult(
            passed=True, metadata={"null_keys": 0, "duplicate_keys": 0, "enforced_by": enforced[0]}
        )
    columns = sql.SQL(", ").join(map(sql.Identifier, keys))
    scope = sql.SQL("WHERE load_id = %(load_id)s") if sync_day else sql.SQL("")
    query = sql.SQL(
        "WITH scoped AS (SELECT {columns} FROM {table} {scope}),"
        " duplicates AS ("
        "  SELECT {columns} FROM scoped WHERE {all_set} GROUP BY {columns} HAVING count(*) > 1)"
        " SELECT (SELECT count(*) FROM scoped WHERE NOT ({all_set})),"
        "        (SELECT count(*) FROM duplicates),"
        "        (SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]')"
        "         FROM (SELECT * FROM duplicates ORDER BY {columns} LIMIT {limit}) d)"
    ).format(
        columns=columns,
        table=sql.Identifier(table),
        scope=scope,
        all_set=sql.SQL(" AND ").join(
            sql.SQL("{} IS NOT NULL").format(sql.Identifier(k)) for k in keys
        ),
        limit=sql.Literal(SAMPLE_ROWS),
    )
    loads = day_loads(cur, sync_day, "staged") if sync_day else {}
    cur.execute(query, {"load_id": loads.get(f"{table}_load")})
    null_keys, duplicate_keys, sample = cur.fetchone()
    return dg.AssetCheckResult(
        passed=null_keys == 0 and duplicate_keys == 0,
        metadata={
            "null_keys": null_keys,
            "duplicate_keys": duplicate_keys,
            "sample_duplicates": dg.MetadataValue.json(sample),
        },
    )


def query_check(
    cur: Cursor, query_file: str, label: str, sync_day: str | None = None
) -> dg.AssetCheckResult:
    """Runs a ``sql/checks`` query returning (offending rows, sample); passes on zero. A query
    about one day reads ``%(sync_day)s`` or the day's staged loads (``%(stg_roles_load)s``, ...);
    a day-scoped one reads every row when ``sync_day`` is None."""
    loads = day_loads(cur, sync_day, "staged") if sync_day else {}
    params = {"sync_day": sync_day, **loads, "sample_rows": SAMPLE_ROWS}
    run_sql(cur, f"checks/{query_file}", params)
    count, sample = cur.fetchone()
    return dg.AssetCheckResult(
        passed=count == 0, metadata={label: count, "sample": dg.MetadataValue.json(sample)}
    )


def unique_keys(table: str, *keys: str, within_day: bool = False) -> Evaluate:
    """``key_check`` of ``keys``, over the checked day's rows only when ``within_day``."""
    return lambda day, cur, _: key_check(cur, table, list(keys), day if within_day else None)


def sql_query(query_file: str, label: str) -> Evaluate:
    """``query_check`` of a ``sql/checks`` file."""
    return lambda day, cur, _: query_check(cur, query_file, label, sync_day=day)


def snapshot_not_empty(day: str, cur: Cursor, _: GuardLimits) -> dg.AssetCheckResult:
    run_sql(cur, "checks/valid_roles_in_day.sql", day_loads(cur, day, "staged"))
    valid_roles, error_rows = cur.fetchone()
    return dg.AssetCheckResult(
        passed=valid_roles > 0,
        description=None
        if valid_roles
        else (
            f"sync day {day!r} has no valid role (admin_roles/ missing, empty, "
            "or every record rejected): the final tables were left untouched; its staging and "
            "error rows are kept for inspection"
        ),
        metadata={"valid_roles": valid_roles, "error_rows": error_rows},
    )


def rejection_rate(day: str, cur: Cursor, limits: GuardLimits) -> dg.AssetCheckResult:
    limit = limits.max_rejection_rate
    run_sql(cur, "checks/rejection_rate.sql", day_loads(cur, day, "staged"))
    staged, rejected, malformed_files = cur.fetchone()
    total = staged + rejected
    rate = rejected / total if total else 0.0
    return dg.AssetCheckResult(
        passed=rate <= limit,
        metadata={
            "rejection_rate": rate,
            "max_rejection_rate": limit,
            "rejected_records": rejected,
            "staged_roles": staged,
            "malformed_files": malformed_files,
        },
    )


def no_source_drift(day: str, cur: Cursor, limits: GuardLimits) -> dg.AssetCheckResult:
    limit = limits.max_malformed_share
    loads = day_loads(cur, day, "staged")
    run_sql(cur, "checks/malformed_fields.sql", {**loads, "sample_rows": SAMPLE_ROWS})
    fields = cur.fetchall()
    shares = {field: malformed / staged for field, malformed, staged, _ in fields if staged}
    drifted = [field for field, share in shares.items() if share > limit]
    metadata = {"max_malformed_share": limit, "malformed_share": dg.MetadataValue.json(shares)}
    description = None
    if fields:
        field, malformed, staged, sample = fields[0]  # the most malformed field
        metadata |= {
            "field": field,
            "malformed_records": malformed,
            "staged_roles": staged,
            "sample": dg.MetadataValue.json(sample),
        }
    if drifted:
        description = (
            f"field {', '.join(drifted)} malformed in more than {limit:.0%} of sync day "
            f"{day!r}'s {staged} roles ({malformed} for {field}): the source "
            "likely changed it; the final tables keep the last good values"
        )
    return dg.AssetCheckResult(passed=not drifted, description=description, metadata=metadata)


# Key checks of a table whose keys PostgreSQL enforces pass on that index and name it as their
# evidence (``enforced_by``); they scan only if the index is ever gone.
CHECKS = (
    DeclaredCheck(
        "stg_roles_keys_valid",
        "stg_roles",
        "role_id is non-NULL and unique within the day.",
        unique_keys("stg_roles", "role_id", within_day=True),
        blocking=True,
    ),
    DeclaredCheck(
        "stg_roles_snapshot_not_empty",
        "stg_roles",
        "The day staged at least one valid role. An empty snapshot (admin_roles/ missing or "
        "empty, or every record rejected) would otherwise look like every role and assignment "
        "vanished.",
        snapshot_not_empty,
        blocking=True,
        additional_deps=("role_errors",),
    ),
    DeclaredCheck(
        "stg_agent_roles_keys_valid",
        "stg_agent_roles",
        "(agent_id, role_id) is non-NULL and unique within the day.",
        unique_keys("stg_agent_roles", "agent_id", "role_id", within_day=True),
        blocking=True,
    ),
    DeclaredCheck(
        "stg_agent_roles_reference_staged_roles",
        "stg_agent_roles",
        "Every staged pair names a role staged the same day.",
        sql_query("unreferenced_staged_roles.sql", "unreferenced_pairs"),
        blocking=True,
        additional_deps=("stg_roles",),
    ),
    DeclaredCheck(
        "role_errors_rejection_rate",
        "role_errors",
        "Warns when more than ROLES_MAX_REJECTION_RATE (default "
        f"{DEFAULT_MAX_REJECTION_RATE}) of a day's role records are rejected: usually a broken "
        "export rather than bad luck.",
        rejection_rate,
        additional_deps=("stg_roles",),
        severity=dg.AssetCheckSeverity.WARN,
    ),
    DeclaredCheck(
        "role_errors_no_source_drift",
        "role_errors",
        "Warns when one field is malformed in more than ROLES_MAX_MALFORMED_SHARE (default "
        f"{DEFAULT_MAX_MALFORMED_SHARE}) of a day's staged roles: the source changed that "
        "field's type or format, rather than a few records being bad. The final tables keep "
        "the field's last good values meanwhile.",
        no_source_drift,
        additional_deps=("stg_roles",),
        severity=dg.AssetCheckSeverity.WARN,
    ),
    DeclaredCheck(
        "roles_keys_unique",
        "roles",
        "role_id is non-NULL and unique across the table.",
        unique_keys("roles", "role_id"),
    ),
    DeclaredCheck(
        "agent_role_mapping_keys_unique",
        "agent_role_mapping",
        "(agent_id, role_id) is non-NULL and unique across the table.",
        unique_keys("agent_role_mapping", "agent_id", "role_id"),
    ),
    DeclaredCheck(
        "agent_role_mapping_status_consistent",
        "agent_role_mapping",
        "removed_at is set exactly on removed rows; every row has assigned_at.",
        sql_query("inconsistent_mapping_status.sql", "inconsistent_rows"),
        day_scoped=True,
    ),
    DeclaredCheck(
        "agent_role_history_intervals_disjoint",
        "agent_role_history",
        "The intervals of one pair never overlap, and each ends on a day after it starts.",
        sql_query("overlapping_intervals.sql", "bad_intervals"),
        day_scoped=True,
    ),
    DeclaredCheck(
        "agent_role_history_matches_mapping",
        "agent_role_history",
        "Each pair's latest interval is its mapping row: open while assigned, closed at its "
        "removal.",
        sql_query("history_disagrees_with_mapping.sql", "disagreeing_pairs"),
        additional_deps=("agent_role_mapping",),
        day_scoped=True,
    ),
    DeclaredCheck(
        "role_history_current_matches_roles",
        "role_history",
        "Each role has one current version, equal to its row in roles.",
        sql_query("role_history_disagrees_with_roles.sql", "disagreeing_roles"),
        additional_deps=("roles",),
        day_scoped=True,
    ),
)


def build_check(declared: DeclaredCheck) -> dg.AssetChecksDefinition:
    """One sync-day check of ``declared``, its result at the declared severity."""

    @dg.asset_check(
        name=declared.name,
        asset=declared.asset,
        description=declared.description + (DAY_SCOPED if declared.day_scoped else ""),
        blocking=declared.blocking,
        additional_deps=declared.additional_deps,
        partitions_def=sync_day_partitions,
        metadata=VERSION,
    )
    def check(
        context: dg.AssetCheckExecutionContext, postgres: PostgresResource, limits: GuardLimits
    ) -> Iterator[dg.AssetCheckResult | dg.AssetCheckEvaluation | dg.Output]:
        with postgres.transaction() as cur:  # every day's queries in one read
            results = {
                day: declared.evaluate(day, cur, limits)._replace(severity=declared.severity)
                for day in run_days(context)
            }
        yield from check_results(context, key, results, output_name="result")

    key = dg.AssetCheckKey(dg.AssetKey(declared.asset), declared.name)
    return check


ALL_CHECKS = [build_check(declared) for declared in CHECKS]


def build_full_check(declared: DeclaredCheck) -> dg.OpDefinition:
    """``declared`` over every row of its tables: the run fails, with the check's figures, when
    the check fails."""

    @dg.op(
        name=declared.name,
        description=f"{declared.description} Here: every row, whatever day wrote it.",
    )
    def full_check(
        context: dg.OpExecutionContext, postgres: PostgresResource, limits: GuardLimits
    ) -> None:
        with postgres.transaction() as cur:
            result = declared.evaluate(None, cur, limits)
        if not result.passed:
            raise dg.Failure(
                description=f"{declared.name} fails over the whole of {declared.asset}",
                metadata=result.metadata,
            )
        context.add_output_metadata(result.metadata)

    return full_check


@dg.job(
    name="history_full_checks",
    description=(
        "The day-scoped checks of the final tables and their history, over every row instead "
        "of the keys one day wrote: an audit to run on demand (Launchpad -> Launch Run), or "
        "after editing the tables by hand. Fails naming each check that fails."
    ),
)
def history_full_checks():
    for declared in CHECKS:
        if declared.day_scoped:
            build_full_check(declared)()
