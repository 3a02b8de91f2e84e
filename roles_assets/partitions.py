"""The sync-day partitions: one partition per landed day folder, in natural order.

Partitions are dynamic so that a day landing while ``dagster dev`` runs becomes a partition
without a restart (the sensor registers it). The folder name is the key; only safe names
(letters, digits, ``.``, ``_``, ``-``) qualify, because keys end up in file paths and SQL values.
"""

import logging
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import sqlalchemy.exc

# Private in the pinned Dagster: a check evaluation's link to the materialization it checked.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from roles_assets.days import day_order, is_safe_day
from roles_assets.landing import PARTIAL_PREFIX

log = logging.getLogger(__name__)

sync_day_partitions = dg.DynamicPartitionsDefinition(name="sync_day")
# A backfill of a range of days (the UI's, or the CLI's --partition-range) is one run of them all.
ONE_RUN_PER_RANGE = dg.BackfillPolicy.single_run()


def run_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[str]:
    """The run's sync days in natural order: its one day, or every day of a range run (which
    Dagster lists in the order the instance registered them)."""
    days = sorted(context.partition_keys, key=day_order)
    if not days:
        raise dg.Failure(
            "the run's partition range holds no sync day: Dagster takes the days of a range "
            "FIRST...LAST in the order the instance registered them (the order they landed), "
            "and LAST was registered before FIRST. Name the range in that order, or pick the "
            "days in the UI's backfill"
        )
    return days


def add_day_metadata(
    context: dg.AssetExecutionContext | dg.OutputContext,
    day: str,
    metadata: dict,
    asset_key: str | None = None,
) -> None:
    """``metadata`` on ``day``'s materialization of ``asset_key`` (an output's own asset by
    default, through its output's metadata in a run of one day), also in a range run, whose days
    otherwise share their output's metadata.

    What ``add_asset_metadata(partition_key=day)`` does, without its check that the day is in
    the run: that check lists every partition of the instance on each call, which a range of a
    year would pay for every day of every asset.
    """
    if isinstance(context, dg.OutputContext):
        if len(context.asset_partition_keys) == 1:
            context.add_output_metadata(metadata)
            return
        step, asset_key = context.step_context, asset_key or context.asset_key
    else:
        step = context.op_execution_context._step_execution_context  # noqa: SLF001
    step._metadata_accumulator = step._metadata_accumulator.with_additional_asset_metadata(  # noqa: SLF001
        asset_key=dg.AssetKey.from_coercible(asset_key), metadata=metadata, partition_key=day
    )


def _latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, days: list[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """Each of ``days``' latest materialization of ``asset_key`` (a day never materialized has
    none), as the target a check evaluation of that day names. One query for a range's days,
    whose materializations in the run are the newest."""
    targets: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    records_filter = dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=days)
    cursor = None
    while len(targets) < len(days):
        page = instance.fetch_materializations(records_filter, limit=len(days), cursor=cursor)
        for record in page.records:
            targets.setdefault(
                record.partition_key,
                AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
                ),
            )
        if not page.has_more:
            break
        cursor = page.cursor
    return targets


def check_results(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    key: dg.AssetCheckKey,
    results: dict[str, dg.AssetCheckResult],
    output_name: str,
) -> Iterator[dg.AssetCheckResult | dg.AssetCheckEvaluation | dg.Output]:
    """Check ``key``'s result per day (``results``, each with its severity) as its step yields
    them: in a run of one day, the result itself; in a range run, each day's evaluation on that
    day's partition, then the check's output ``output_name``, which a result would have made."""
    if len(context.partition_keys) == 1:
        yield from results.values()
        return
    targets = _latest_materializations(context.instance, key.asset_key, list(results))
    for day, result in results.items():
        # Never blocking: Dagster would skip every day of the range for one day's failure, so
        # the apply gates each day itself. Naming the day's latest materialization gives the day
        # its status in the UI, as Dagster's own result does in a day's run.
        yield dg.AssetCheckEvaluation(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=result.passed,
            metadata=result.metadata,
            severity=result.severity,
            description=result.description,
            blocking=False,
            partition=day,
            target_materialization_data=targets.get(day),
        )
    yield dg.Output(None, output_name)


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
