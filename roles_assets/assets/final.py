"""roles, agent_role_mapping and their histories: the run's staged days applied by the warehouse
(``warehouse/apply.py``), each day's mass-removal guard recorded as a check, its counts as
metadata."""

from collections.abc import Iterator

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from pydantic import Field

from roles_assets.assets import LOAD_POOL
from roles_assets.code_version import CODE_VERSION
from roles_assets.landing import sync_time
from roles_assets.partitions import (
    ONE_RUN_PER_RANGE,
    add_day_metadata,
    check_results,
    run_days,
    sync_day_partitions,
)
from roles_assets.resources.landing_zone import LandingZone
from roles_assets.resources.limits import GuardLimits
from roles_assets.resources.postgres import PostgresResource
from roles_assets.rules import DEFAULT_MAX_REMOVAL_SHARE
from roles_assets.ui_metadata import table_metadata
from roles_assets.warehouse.apply import AppliedDay, Losses, MassRemovalRefused, apply_day


class ApplyConfig(dg.Config):
    allow_mass_removal: bool = Field(
        default=False,
        description=(
            "Apply the run's day even if it removes more than ROLES_MAX_REMOVAL_SHARE (default "
            f"{DEFAULT_MAX_REMOVAL_SHARE}) of the assigned mappings or deletes more than that "
            "share of the roles (in a range run: every day of the range). Set it only for a run "
            "where that is really intended."
        ),
    )


# The guard runs inside the apply (it needs the day's effect before committing it); recording it
# as checks puts refusals on the assets' Checks tabs and in their check history.
def _guard_spec(name: str, asset: str, verb: str, what: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name,
        asset=asset,
        partitions_def=sync_day_partitions,
        metadata={"code_version": CODE_VERSION},
        description=(
            f"The day {verb} at most ROLES_MAX_REMOVAL_SHARE (default {DEFAULT_MAX_REMOVAL_SHARE}) "
            f"of {what}; a day "
            "that would take more is refused and nothing of it is applied. When that is really "
            "intended, re-run the day with the final_tables config allow_mass_removal: true "
            '(CLI: --config-json \'{"ops": {"final_tables": {"config": '
            '{"allow_mass_removal": true}}}}\').'
        ),
    )


REMOVALS_CHECK = _guard_spec(
    "agent_role_mapping_removals_within_limit",
    "agent_role_mapping",
    "removes",
    "the assigned mappings",
)
DELETIONS_CHECK = _guard_spec(
    "roles_deletions_within_limit", "roles", "deletes", "the roles not yet deleted"
)


def _final_spec(table: str, deps: list[str], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        table,
        deps=deps,
        description=description,
        kinds={"postgres"},
        metadata=table_metadata(table),
        code_version=CODE_VERSION,
        skippable=True,  # a range run that leaves out a day materializes the others by hand
    )


@dg.multi_asset(
    partitions_def=sync_day_partitions,
    backfill_policy=ONE_RUN_PER_RANGE,
    pool=LOAD_POOL,
    group_name="roles",
    can_subset=False,
    specs=[
        _final_spec(
            "roles",
            ["stg_roles"],
            "Every role ever valid, with its values from the latest day it was valid (a "
            "malformed value keeps the last good one); deleted_at is set while a complete "
            "snapshot no longer holds it.",
        ),
        _final_spec(
            "agent_role_mapping",
            ["stg_roles", "stg_agent_roles", "role_errors"],
            "Who holds which role: assigned or removed, with when.",
        ),
        _final_spec(
            "role_history",
            ["stg_roles"],
            "Every version of every role's attributes, valid from the sync day that brought it "
            "until the day that changed it (open for the current version).",
        ),
        _final_spec(
            "agent_role_history",
            ["stg_roles", "stg_agent_roles", "role_errors"],
            "Every interval in which an agent held a role: assigned on one sync day, removed on "
            "a later one (open while held). role_holders_at(ts) answers who held which role at "
            "a time.",
        ),
    ],
    check_specs=[REMOVALS_CHECK, DELETIONS_CHECK],
)
def final_tables(
    context: dg.AssetExecutionContext,
    config: ApplyConfig,
    postgres: PostgresResource,
    landing: LandingZone,
    limits: GuardLimits,
):
    """Folds the run's staged days, in natural order, into the final tables and their histories,
    each day in one transaction, with the removal guard's verdict as a check and the tables'
    counts as metadata. In a range run a day whose blocking checks failed, or that the guard
    refuses, is left out and every other day is applied; the run then fails naming them."""
    days = run_days(context)
    if len(days) == 1:
        yield from _apply_one(context, config, postgres, landing, limits, days[0])
        return
    applied_days, left_out, guards, stopped = {}, {}, [], None
    failed_checks = _failed_blocking_checks(context, days)
    for at, day in enumerate(days):
        failed = failed_checks[day]
        if failed:
            left_out[day] = f"its blocking check(s) {', '.join(failed)} failed"
            continue
        try:
            applied = _apply(config, postgres, landing, limits, day)
        except MassRemovalRefused as refused:
            guards += [(day, c) for c in _guard_checks(refused.losses, False, str(refused))]
            left_out[day] = str(refused)
            continue
        except Exception as error:  # the days applied so far are still recorded, then it fails
            stopped = error
            left_out |= dict.fromkeys(days[at:], f"not applied: {type(error).__name__} on {day}")
            break
        applied_days[day] = _materialization_metadata(context, day, applied)
        guards += [(day, c) for c in _guard_checks(applied.losses, config.allow_mass_removal)]
    # One line for the range: each day's figures are on its materializations.
    context.log.info(f"applied {len(applied_days)} of {len(days)} sync days")
    yield from _range_materializations(context, applied_days, whole_range=not left_out)
    # After the materializations: each day's evaluation names the one it checked.
    for spec in (REMOVALS_CHECK, DELETIONS_CHECK):
        results = {day: check for day, check in guards if check.check_name == spec.name}
        output = context.assets_def.get_output_name_for_asset_check_key(spec.key)
        yield from check_results(context, spec.key, results, output)
    if stopped:
        raise stopped
    if left_out:
        raise dg.Failure(
            description=f"{len(left_out)} of {len(days)} sync days were not applied: "
            + "; ".join(f"{day}: {why}" for day, why in left_out.items()),
            metadata={"not_applied": dg.MetadataValue.json(list(left_out))},
        )


def _range_materializations(
    context: dg.AssetExecutionContext, applied_days: dict[str, dict[str, dict]], whole_range: bool
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """Each applied day's materialization of each table, with that day's metadata. When every
    day was applied they are the step's results, so the tables' own checks run on them;
    otherwise only the applied days get one, and the run fails."""
    for day, tables in applied_days.items():
        for table, metadata in tables.items():
            if whole_range:
                add_day_metadata(context, day, metadata, table)
            else:
                yield dg.AssetMaterialization(table, partition=day, metadata=metadata)
    if whole_range:
        for table in context.assets_def.keys:
            yield dg.MaterializeResult(asset_key=table)


def _apply(config, postgres, landing, limits, day):
    return apply_day(
        postgres,
        day,
        sync_time(landing.day_dir(day)),
        allow_mass_removal=config.allow_mass_removal,
        max_removal_share=limits.max_removal_share,
    )


def _failed_blocking_checks(
    context: dg.AssetExecutionContext, days: list[str]
) -> dict[str, list[str]]:
    """Per day, the blocking checks of the run's job whose latest evaluation of it failed."""
    graph = context.job_def.asset_layer.asset_graph
    blocking = [key for key in graph.asset_check_keys if graph.get_check_spec(key).blocking]
    storage = context.instance.event_log_storage
    failed: dict[str, list[str]] = {day: [] for day in days}
    for latest in storage.get_asset_check_partition_info(blocking, partition_keys=days):
        if latest.latest_execution_status == AssetCheckExecutionRecordStatus.FAILED:
            failed[latest.partition_key].append(latest.check_key.name)
    return {day: sorted(names) for day, names in failed.items()}


def _apply_one(context, config, postgres, landing, limits, sync_day):
    try:
        applied = _apply(config, postgres, landing, limits, sync_day)
    except MassRemovalRefused as refused:
        yield from _guard_checks(refused.losses, allowed=False, description=str(refused))
        raise dg.Failure(description=str(refused)) from None
    yield from _guard_checks(applied.losses, allowed=config.allow_mass_removal)
    losses = applied.losses
    context.log.info(
        f"applied sync day {sync_day!r} ({applied.mode}): {losses.removed} removals, "
        f"{losses.deleted} deleted roles"
    )
    for table, metadata in _materialization_metadata(context, sync_day, applied).items():
        yield dg.MaterializeResult(asset_key=table, metadata=metadata)


def _materialization_metadata(
    context: dg.AssetExecutionContext, sync_day: str, applied: AppliedDay
) -> dict[str, dict]:
    """Each table's metadata after applying ``sync_day``: its counts (the final tables are not
    split by day: a day's materialization is the whole table), and what the day took away."""
    losses = applied.losses
    common = {"apply_mode": applied.mode, "synced_at": applied.synced_at.isoformat()}
    if applied.replayed_applied_staging:
        days = applied.replayed_applied_staging
        context.log.warning(
            f"the replay read the staging of {', '.join(days)} as it was last applied: their "
            "newer staging has not been applied (its run failed, was refused, or is still running)"
        )
        common["replayed_applied_staging_of"] = dg.MetadataValue.json(days)
    by_this_day = {
        "roles": {"deleted_by_this_day": losses.deleted},
        "agent_role_mapping": {"removed_by_this_day": losses.removed},
    }
    written = {table: {"rows_written": n} for table, n in applied.rows_written.items()}
    return {
        table: {**common, **counts, **by_this_day.get(table, {}), **written.get(table, {})}
        for table, counts in applied.counts.items()
    }


def _guard_checks(
    losses: Losses, allowed: bool, description: str | None = None
) -> Iterator[dg.AssetCheckResult]:
    """One result per guarded loss: passed within the limit; beyond it, failed (the day is
    refused, ``description`` says why) or a warning (applied by allow_mass_removal)."""
    guarded = [
        (REMOVALS_CHECK, losses.removals_within_limit, losses.removal_metadata()),
        (DELETIONS_CHECK, losses.deletions_within_limit, losses.deletion_metadata()),
    ]
    for spec, within_limit, metadata in guarded:
        why = None
        if not within_limit:
            why = (
                "applied beyond the limit because allow_mass_removal was set for this run"
                if allowed
                else description
            )
        yield dg.AssetCheckResult(
            check_name=spec.name,
            asset_key=spec.asset_key,
            passed=within_limit,
            severity=dg.AssetCheckSeverity.WARN if allowed else dg.AssetCheckSeverity.ERROR,
            description=why,
            metadata={**metadata, "allow_mass_removal": allowed},
        )
