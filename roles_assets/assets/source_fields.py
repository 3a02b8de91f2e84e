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
    days = sorted(fields, key=day_order)
    recorded = _recorded_fields(instance, recorded_on, before=days[-1])
    new, seen, at = {}, None, 0
    for day in days:
        while at < len(recorded) and day_order(recorded[at][0]) < day_order(day):
            seen = _merged(seen or {}, recorded[at][1])
            at += 1
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
        seen = _merged(seen or {}, fields[day])
    return new


def _merged(seen: dict[str, set[str]], more: dict[str, list[str]]) -> dict[str, set[str]]:
    return {
        folder: set(seen.get(folder, ())) | set(more.get(folder, ())) for folder in {*seen, *more}
    }


def _recorded_fields(
    instance: dg.DagsterInstance, key: dg.AssetKey, before: str
) -> list[tuple[str, dict[str, list[str]]]]:
    """The fields per folder recorded on ``key`` by each materialization of a day before
    ``before``, in the days' natural order: one read for every day of a run."""
    last = day_order(before)
    earlier = [
        day
        for day in instance.get_dynamic_partitions(sync_day_partitions.name)
        if day_order(day) < last
    ]
    recorded = []
    cursor = None
    while earlier:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=earlier), limit=500, cursor=cursor
        )
        for record in page.records:
            fields = record.asset_materialization.metadata.get(SOURCE_FIELDS)
            if fields is not None:
                recorded.append((record.partition_key, fields.value))
        if not page.has_more:
            break
        cursor = page.cursor
    return sorted(recorded, key=lambda entry: day_order(entry[0]))
