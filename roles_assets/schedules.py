"""Today's pull: the whole graph for today's UTC date, tried on every tick until it has loaded."""

import datetime as dt

import dagster as dg

from roles_assets.partitions import register_days

# The day is loaded once every one of these has a materialization for it.
FINAL_ASSETS = [
    dg.AssetKey(name)
    for name in ("roles", "agent_role_mapping", "role_history", "agent_role_history")
]
# Queued runs count too: a backlog of ticks must not pile up runs of the same day.
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def daily_pull_schedule(api_configured: bool, cron: str) -> dg.ScheduleDefinition:
    """Running by default only when the API is configured; without it the pull could only fail.

    The API knows only the present: a day not pulled on its day is lost. So the schedule ticks
    often (``cron``, hourly by default) and each tick asks for today's run again until today's
    final tables have loaded, whatever made the earlier tries fail.
    """

    @dg.schedule(
        name="daily_pull",
        cron_schedule=cron,
        execution_timezone="UTC",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultScheduleStatus.RUNNING
        if api_configured
        else dg.DefaultScheduleStatus.STOPPED,
    )
    def daily_pull(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        """Registers today as a partition (schedules cannot return partition requests) and runs
        it, unless it has loaded or a run of it is still going."""
        tick = context.scheduled_execution_time.astimezone(dt.UTC)
        day = tick.date().isoformat()
        register_days(context.instance, [day])
        if _loaded(context.instance, day):
            return dg.SkipReason(f"sync day {day} has loaded: its final tables are materialized")
        running = context.instance.get_run_ids(
            dg.RunsFilter(statuses=UNFINISHED, tags={"dagster/partition": day}), limit=1
        )
        if running:
            return dg.SkipReason(f"sync day {day} is still loading in run {running[0]}")
        # A run key of the day alone would let Dagster drop every retry after the first try.
        return dg.RunRequest(run_key=f"{day}@{tick.isoformat()}", partition_key=day)

    return daily_pull


def _loaded(instance: dg.DagsterInstance, day: str) -> bool:
    return all(
        instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
        ).records
        for key in FINAL_ASSETS
    )
