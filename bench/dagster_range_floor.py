"""The least a range run of the graph costs: the graph's own steps, assets and checks, doing
nothing but what Dagster records of each day (a materialization of each asset, an evaluation of
each check, the planned events before them), on the same kind of instance as the graph's runs.
No range run of the graph through the CLI is faster."""

import dagster as dg

from bench.dagster_floor import floor_days
from roles_assets.assets.final import final_tables
from roles_assets.assets.landed import landed_day
from roles_assets.assets.raw import raw_roles
from roles_assets.assets.staging import staging_tables
from roles_assets.checks import ALL_CHECKS
from roles_assets.partitions import ONE_RUN_PER_RANGE, add_day_metadata, check_results, run_days


def _passed(context, key: dg.AssetCheckKey, output: str):
    results = {
        day: dg.AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=True)
        for day in run_days(context)
    }
    return check_results(context, key, results, output)


def _step_like(step: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """A step with ``step``'s assets and checks that records each day and does nothing."""
    specs = [
        dg.AssetSpec(spec.key, deps=spec.deps, skippable=len(step.keys) > 1) for spec in step.specs
    ]
    checks = [
        dg.AssetCheckSpec(spec.name, asset=spec.asset_key, partitions_def=floor_days)
        for spec in step.check_specs
    ]

    @dg.multi_asset(
        name=step.node_def.name,
        specs=specs,
        check_specs=checks,
        partitions_def=floor_days,
        backfill_policy=ONE_RUN_PER_RANGE,
        can_subset=False,
    )
    def nothing(context: dg.AssetExecutionContext):
        for day in run_days(context):
            for key in context.assets_def.keys:
                add_day_metadata(context, day, {"dagster/row_count": 0}, key.to_user_string())
        for key in context.assets_def.keys:
            yield dg.MaterializeResult(asset_key=key)
        for spec in checks:
            output = context.assets_def.get_output_name_for_asset_check_key(spec.key)
            yield from _passed(context, spec.key, output)

    return nothing


def _check_like(check: dg.AssetChecksDefinition) -> dg.AssetChecksDefinition:
    (key,) = check.check_keys

    @dg.asset_check(name=key.name, asset=key.asset_key, partitions_def=floor_days)
    def nothing(context: dg.AssetCheckExecutionContext):
        yield from _passed(context, key, "result")

    return nothing


defs = dg.Definitions(
    assets=[_step_like(s) for s in (landed_day, raw_roles, staging_tables, final_tables)],
    asset_checks=[_check_like(check) for check in ALL_CHECKS],
    executor=dg.in_process_executor,
)
