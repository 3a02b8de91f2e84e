"""New or re-landed sync days -> partitions and runs, while ``dagster dev`` keeps running; and
failed runs -> an alert on the team's chat webhook."""

import hashlib
import json

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from roles_assets.alerts import FailedRun
from roles_assets.landing import PULL_RECORD, fingerprint
from roles_assets.partitions import landed_days, sync_day_partitions
from roles_assets.resources.alert_webhook import AlertWebhook
from roles_assets.resources.freshdesk import FreshdeskResource
from roles_assets.resources.landing_zone import LandingZone
from roles_assets.resources.postgres import PostgresResource

FINAL_ASSET = dg.AssetKey("agent_role_mapping")


@dg.sensor(
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
    """Registers each landed day as a partition and materializes it, in natural order; days
    landed together are one run of their range.

    The cursor remembers a fingerprint of each day's files and how often they changed, so a day
    whose files change is run again, even back to an earlier version (the change count keeps the
    run key new; a retried tick reuses it). On the first tick, days that were already
    materialized are only remembered, and so is a day pulled from the API when first seen: the
    run that pulled it is loading it.
    """
    seen: dict[str, list] = json.loads(context.cursor) if context.cursor else {}
    first_tick = context.cursor is None
    materialized = (
        context.instance.get_materialized_partitions(FINAL_ASSET) if first_tick else set()
    )
    known = context.instance.get_dynamic_partitions(sync_day_partitions.name)

    days = landed_days(landing.path)
    known_days = set(known)
    new_partitions = [day for day in days if day not in known_days]
    to_run = {}  # day -> its run key
    for day in days:
        day_print = fingerprint(landing.day_dir(day))
        last_print, changes = seen.get(day, (None, 0))
        if last_print != day_print:
            changes += 1
            pulled_by_a_run = last_print is None and (landing.day_dir(day) / PULL_RECORD).is_file()
            if day not in materialized and not pulled_by_a_run:
                to_run[day] = f"{day}:{changes}:{day_print}"
        seen[day] = [day_print, changes]
    return dg.SensorResult(
        run_requests=_run_requests(to_run, registered=[*known, *new_partitions]),
        dynamic_partitions_requests=(
            [sync_day_partitions.build_add_request(new_partitions)] if new_partitions else []
        ),
        cursor=json.dumps(seen, sort_keys=True),
    )


def _run_requests(to_run: dict[str, str], registered: list[str]) -> list[dg.RunRequest]:
    """One run of every day in ``to_run`` when they are a stretch of the instance's days in
    ``registered`` order (a range run covers exactly that stretch, as many days landing at once
    are: a migration of a landed archive); else one run per day."""
    at = sorted(registered.index(day) for day in to_run)
    if len(at) < 2 or at[-1] - at[0] != len(at) - 1:
        return [dg.RunRequest(run_key=key, partition_key=day) for day, key in to_run.items()]
    first, last = registered[at[0]], registered[at[-1]]
    keys = hashlib.sha256("\n".join(to_run.values()).encode()).hexdigest()[:16]
    return [
        dg.RunRequest(
            run_key=f"{first}...{last}:{keys}",
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
        )
    ]


def failure_alert_sensor(alerts_on: bool) -> dg.SensorDefinition:
    """One webhook message per failed run of this code location; running by default only when
    ROLES_ALERT_WEBHOOK_URL is set."""

    @dg.run_failure_sensor(
        name="failure_alert",
        # A failure reaches people within seconds; a tick reads only the runs' new events.
        minimum_interval_seconds=10,
        default_status=dg.DefaultSensorStatus.RUNNING
        if alerts_on
        else dg.DefaultSensorStatus.STOPPED,
    )
    def failure_alert(
        context: dg.RunFailureSensorContext,
        alert_webhook: AlertWebhook,
        postgres: PostgresResource,
        freshdesk: FreshdeskResource,
    ) -> None:
        """A webhook that is down or slow costs a logged warning, never the sensor: the next
        failed run is still reported."""
        alert_webhook.send(failed_run(context), secrets=[postgres.database_url, freshdesk.api_key])

    return failure_alert


def failed_run(context: dg.RunFailureSensorContext) -> FailedRun:
    """The run's day and its first failed step with that step's error; the run's own error when
    no step failed (it could not start, or was stopped)."""
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    if step_failures:
        step, error = step_failures[0].step_key, step_failures[0].step_failure_data.error
    else:
        step, error = None, context.failure_event.job_failure_data.error
    return FailedRun(
        run_id=run.run_id,
        sync_day=run.tags.get("dagster/partition") or _range_of(run.tags),
        step=step,
        error=_user_error(error).message if error else context.failure_event.message or "",
    )


def _range_of(tags: dict[str, str]) -> str | None:
    """A range run's days, as ``first...last``; None for a run of no day."""
    first, last = (tags.get(f"dagster/asset_partition_range_{end}") for end in ("start", "end"))
    return f"{first}...{last}" if first else None


# Dagster's wrappers around the code's own exception ("Error occurred while executing op ...",
# "... while handling output ...", "Error executing resource_fn ...").
_DAGSTER_WRAPPERS = {
    "DagsterExecutionStepExecutionError",
    "DagsterExecutionHandleOutputError",
    "DagsterExecutionLoadInputError",
    "DagsterResourceFunctionError",
}


def _user_error(error: SerializableErrorInfo) -> SerializableErrorInfo:
    """The code's own exception, which says what went wrong, inside Dagster's wrappers."""
    while error.cls_name in _DAGSTER_WRAPPERS and error.cause is not None:
        error = error.cause
    return error
