"""New or re-landed sync days -> partitions and runs, while ``dagster dev`` keeps running."""

import json

import dagster as dg

from roles_assets.landing import PULL_RECORD, fingerprint
from roles_assets.partitions import landed_days, sync_day_partitions
from roles_assets.resources.landing import LandingZone

FINAL_ASSET = dg.AssetKey("agent_role_mapping")


@dg.sensor(
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
    """Registers each landed day as a partition and materializes it, in natural order.

    The cursor remembers a fingerprint of each day's files and how often they changed, so a day
    whose files change is run again, even back to an earlier version (the change count keeps the
    run key new; a retried tick reuses it). On the first tick, days that were already
    materialized are only remembered, and so is a day pulled from the API when first seen: the
    run that pulled it is loading it.
    """
    seen: dict[str, list] = {
        # Cursors written before change counts hold the fingerprint alone.
        day: state if isinstance(state, list) else [state, 0]
        for day, state in (json.loads(context.cursor) if context.cursor else {}).items()
    }
    first_tick = context.cursor is None
    materialized = (
        context.instance.get_materialized_partitions(FINAL_ASSET) if first_tick else set()
    )
    known = set(context.instance.get_dynamic_partitions(sync_day_partitions.name))

    days = landed_days(landing.path)
    new_partitions = [day for day in days if day not in known]
    run_requests = []
    for day in days:
        day_print = fingerprint(landing.day_dir(day))
        last_print, changes = seen.get(day, (None, 0))
        if last_print != day_print:
            changes += 1
            pulled_by_a_run = last_print is None and (landing.day_dir(day) / PULL_RECORD).is_file()
            if day not in materialized and not pulled_by_a_run:
                run_requests.append(
                    dg.RunRequest(run_key=f"{day}:{changes}:{day_print}", partition_key=day)
                )
        seen[day] = [day_print, changes]
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=(
            [sync_day_partitions.build_add_request(new_partitions)] if new_partitions else []
        ),
        cursor=json.dumps(seen, sort_keys=True),
    )
