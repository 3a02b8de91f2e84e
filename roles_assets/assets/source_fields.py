"""The fields a day's records carry, against those of earlier days: a field the source starts
sending is kept in raw_roles but loaded nowhere, so the UI names it ("new field `x` in
admin_roles since day D")."""

import dagster as dg

from roles_assets.days import day_order
from roles_assets.partitions import sync_day_partitions

# The metadata entry in which each day records its fields, per source folder.
SOURCE_FIELDS = "source_fields"


def new_fields(
    context: dg.AssetExecutionContext, fields: dict[str, list[str]], recorded_on: dg.AssetKey
) -> list[str] | None:
    """Each field of ``fields`` (per folder) that no earlier day recorded on ``recorded_on``
    carried, in words; None when no earlier day recorded any (nothing to compare with)."""
    seen = _fields_of_earlier_days(context, recorded_on)
    if seen is None:
        return None
    return [
        f"new field `{field}` in {folder} since day {context.partition_key}"
        for folder, names in fields.items()
        for field in names
        if field not in seen.get(folder, set())
    ]


def _fields_of_earlier_days(
    context: dg.AssetExecutionContext, key: dg.AssetKey
) -> dict[str, set[str]] | None:
    """The fields per folder recorded on ``key`` for any day before this one, or None when no
    earlier day recorded any."""
    instance = context.instance
    this_day = day_order(context.partition_key)
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
