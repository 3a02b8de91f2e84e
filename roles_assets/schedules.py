"""Today's pull: a daily run of the whole graph for today's UTC date, when the API is configured."""

import datetime as dt

import dagster as dg

from roles_assets.partitions import register_days

PULL_CRON = "30 0 * * *"  # 00:30 UTC: the snapshot is of the day the partition names


def daily_pull_schedule(api_configured: bool) -> dg.ScheduleDefinition:
    """Running by default only when the API is configured; without it the pull could only fail."""

    @dg.schedule(
        name="daily_pull",
        cron_schedule=PULL_CRON,
        execution_timezone="UTC",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultScheduleStatus.RUNNING
        if api_configured
        else dg.DefaultScheduleStatus.STOPPED,
    )
    def daily_pull(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        """Registers today as a partition (schedules cannot return partition requests) and
        runs it."""
        day = context.scheduled_execution_time.astimezone(dt.UTC).date().isoformat()
        register_days(context.instance, [day])
        return dg.RunRequest(run_key=day, partition_key=day)

    return daily_pull
