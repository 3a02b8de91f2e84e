"""The fields a day's records carry, against those of earlier days: a field the source starts
sending is kept in raw_roles but loaded nowhere, so the UI names it ("new field `x` in
admin_roles since day D")."""

import dagster as dg

from roles_assets.days import day_order
from roles_assets.partitions import sync_day_partitions

# The metadata entry in which each day records its fields, per source folder.
SOURCE_FIELDS = "source_fields"


def new_fields(
    instance: dg.DagsterInstance,
    fields: dict[str, dict[str, list[str]]],
    recorded_on: dg.AssetKey,
) -> dict[str, list[str] | None]:
    """Per day of ``fields`` (day -> folder -> fields), in natural order, each field that no
    earlier day carried (one recorded on ``recorded_on``, or one before it in ``fields``), in
    words; None for a day with no earlier day to compare with."""
    new, run_seen = {}, None
    for day in sorted(fields, key=day_order):
        recorded = _fields_of_earlier_days(instance, day, recorded_on)
        seen = recorded if run_seen is None else _merged(recorded or {}, run_seen)
        new[day] = (
            None
            if seen is None
            else [
                f"new field `{field}` in {folder} since day {day}"
                for folder, names in fields[day].items()
                for field in names
                if field not in seen.get(folder, set())
            ]
        )
        run_seen = _merged(run_seen or {}, fields[day])
    return new


def _merged(seen: dict[str, set[str]], more: dict[str, list[str] | set[str]]) -> dict:
    return {
        folder: set(seen.get(folder, ())) | set(more.get(folder, ())) for folder in {*seen, *more}
    }


def _fields_of_earlier_days(
    instance: dg.DagsterInstance, day: str, key: dg.AssetKey
) -> dict[str, set[str]] | None:
    """The fields per folder recorded on ``key`` for any day before ``day``, or None when no
    earlier day recorded any."""
    this_day = day_order(day)
    earlier = [
        day
        for day in instance.get_dynamic_partitions(sync_day_partitions.name)
        if day_order(day) < this_day
    ]
    seen: dict[str, set[str]] | None = None
    cursor = None
    while earlier:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=earlier), limit=500, cursor=cursor
        )
        for record in page.records:
            recorded = record.asset_materialization.metadata.get(SOURCE_FIELDS)
            if recorded is not None:
                seen = seen or {}
                for folder, names in recorded.value.items():
                    seen.setdefault(folder, set()).update(names)
        if not page.has_more:
            break
        cursor = page.cursor
    return seen
