"""landed_day: the sync day's files in the landing zone, pulled from Freshdesk when they can be."""

from dataclasses import asdict
from pathlib import Path

import dagster as dg

from roles_assets.code_version import CODE_VERSION
from roles_assets.extract.pull import pull_day, today_utc, why_not_pullable
from roles_assets.landing import day_files
from roles_assets.partitions import (
    ONE_RUN_PER_RANGE,
    add_day_metadata,
    run_days,
    sync_day_partitions,
)
from roles_assets.resources.freshdesk import FreshdeskResource
from roles_assets.resources.landing_zone import LandingZone


def landed_dirs(landing: LandingZone, days: list[str]) -> dict[str, Path]:
    """The days' folders in the landing zone; fails naming the days that have none."""
    missing = [day for day in days if not landing.day_dir(day).is_dir()]
    if missing:
        raise dg.Failure(f"sync day(s) {', '.join(missing)} have no folder in the landing zone")
    return {day: landing.day_dir(day) for day in days}


@dg.asset(
    partitions_def=sync_day_partitions,
    backfill_policy=ONE_RUN_PER_RANGE,
    group_name="roles",
    kinds={"freshdesk", "json"},
    code_version=CODE_VERSION,
)
def landed_day(
    context: dg.AssetExecutionContext, landing: LandingZone, freshdesk: FreshdeskResource
) -> dg.MaterializeResult:
    """A landed day as it is, with no API call; a day not landed is pulled if it is today (UTC).

    The API knows only the present, so a past day that never landed fails, and so does today
    without credentials. A landed day is never fetched again, so a re-run loads the same files.
    A range run takes its days as they landed.
    """
    days = run_days(context)
    if len(days) > 1:
        files = {day: len(day_files(folder)) for day, folder in landed_dirs(landing, days).items()}
        for day, count in files.items():
            add_day_metadata(
                context, day, {"files": count, "dagster/row_count": count}, "landed_day"
            )
        return dg.MaterializeResult(metadata={"pulled": False})
    day = days[0]
    day_dir = landing.day_dir(day)
    if day_dir.is_dir():
        files = len(day_files(day_dir))
        return dg.MaterializeResult(
            metadata={"pulled": False, "files": files, "dagster/row_count": files}
        )
    refusal = why_not_pullable(day, today_utc(), freshdesk.configured)
    if refusal:
        raise dg.Failure(refusal)
    with freshdesk.client() as client:
        report = pull_day(client, landing.path, day)
    context.log.info(
        f"pulled sync day {day!r} from {client.base_url}: {report.api.requests} requests"
    )
    return dg.MaterializeResult(
        metadata={
            "pulled": True,
            "files": report.files_written,
            "dagster/row_count": report.files_written,
            **asdict(report.api),
            "roles": report.roles,
            "agents": report.agents,
            "agents_skipped_404": len(report.agents_skipped),
        }
    )
