"""The staging tables' loads: a staging write's rows of each day are a load, a partition of its
own never changed once attached. ``staging_loads`` marks per day and table the *staged* load (the
newest: what the day's checks and its own apply read) and the *applied* one (what the final
tables were built from: what a replay of the other days reads); they differ while a newer staging
waits for its apply. Staging a load and applying a day each move a pointer in one transaction,
so readers see the old load or the new one, and drop the loads no pointer holds any more.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from psycopg2 import sql

from roles_assets.rules import SAMPLE_ROWS
from roles_assets.warehouse.sql import APPLY_LOCK, Cursor, advisory_lock, drop_table, run_sql

# The staging tables, one load per staging write (by the staging assets, assets/staging.py);
# a day's apply reads them all.
STAGING_TABLES = ("stg_roles", "stg_agent_roles", "role_pipeline_errors")
ABANDONED_AFTER_SECONDS = 24 * 3600


def partition_name(table: str, load_id: int) -> str:
    """A load's table once attached: named by its number, so no key ever becomes SQL text."""
    return f"{table}__{load_id}"


@dataclass(frozen=True)
class Load:
    """A load being written into table ``name``, which starts with the time so that one a killed
    run left behind can be told by its age (``drop_abandoned_load_tables``)."""

    table: str
    load_id: int
    name: str


def create_load(cur: Cursor, table: str) -> Load:
    """An empty load table of ``table`` whose rows take a new load id."""
    cur.execute("SELECT nextval('staging_load_ids')")
    (load_id,) = cur.fetchone()
    load = Load(table, load_id, f"{table}__load_{int(time.time())}_{load_id}")
    cur.execute(
        sql.SQL(
            "CREATE TABLE {0} (LIKE {1} INCLUDING DEFAULTS);"
            " ALTER TABLE {0} ALTER COLUMN load_id SET DEFAULT %s"
        ).format(sql.Identifier(load.name), sql.Identifier(table)),
        (load_id,),
    )
    return load


def index_days(cur: Cursor, written: Load) -> None:
    """Indexes a load of several days by day, for ``day_of_load``."""
    cur.execute(
        sql.SQL("CREATE INDEX ON {} (sync_day); ANALYZE {}").format(
            sql.Identifier(written.name), sql.Identifier(written.name)
        )
    )


def day_of_load(cur: Cursor, written: Load, sync_day: str, columns: Sequence[str]) -> Load:
    """A new load of ``written``'s table holding the ``columns`` of its rows of ``sync_day``:
    one Spark write of a range of days becomes a load per day."""
    load = create_load(cur, written.table)
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    cur.execute(
        sql.SQL("INSERT INTO {0} ({2}) SELECT {2} FROM {1} WHERE sync_day = %s").format(
            sql.Identifier(load.name), sql.Identifier(written.name), names
        ),
        (sync_day,),
    )
    return load


def stage_load(
    cur: Cursor,
    load: Load,
    sync_day: str,
    count_by: str | None = None,
    sample_columns: Sequence[str] = (),
) -> tuple[int, dict[str, int], list[tuple]]:
    """Makes the filled ``load`` the day's staged load of its table; returns its row
    count, the count per ``count_by`` value and a sample of its rows. Call it in a transaction
    of its own: the load is staged whole or not at all."""
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(load.name)))
    (row_count,) = cur.fetchone()
    counts = {}
    if count_by:
        cur.execute(
            sql.SQL("SELECT {0}, count(*) FROM {1} GROUP BY {0} ORDER BY {0}").format(
                sql.Identifier(count_by), sql.Identifier(load.name)
            )
        )
        counts = dict(cur.fetchall())
    sample = []
    if sample_columns:
        cur.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY 1, 2 LIMIT {}").format(
                sql.SQL(", ").join(map(sql.Identifier, sample_columns)),
                sql.Identifier(load.name),
                sql.Literal(SAMPLE_ROWS),
            )
        )
        sample = cur.fetchall()
    # Staging waits for a running apply, which reads the pointers; stagings share this lock, and
    # same-day stagings of a table take turns in stage_load.sql.
    advisory_lock(cur, APPLY_LOCK, shared=True)
    cur.execute(
        sql.SQL(
            "ALTER TABLE {0} RENAME TO {1};"
            " ALTER TABLE {2} ATTACH PARTITION {1} FOR VALUES IN (%s); ANALYZE {1}"
        ).format(
            sql.Identifier(load.name),
            sql.Identifier(partition_name(load.table, load.load_id)),
            sql.Identifier(load.table),
        ),
        (load.load_id,),
    )
    pointer = {"load_id": load.load_id, "staging_table": load.table, "sync_day": sync_day}
    run_sql(cur, "stage_load.sql", pointer)
    drop_unreferenced_loads(cur, sync_day)
    return row_count, counts, sample


def drop_unreferenced_loads(cur: Cursor, sync_day: str) -> None:
    """Drops the day's loads that are neither staged nor applied any more."""
    run_sql(cur, "forget_unreferenced_loads.sql", {"sync_day": sync_day})
    for table, load_id in cur.fetchall():
        drop_table(cur, partition_name(table, load_id))


def day_loads(cur: Cursor, sync_day: str, pointer: Literal["staged", "applied"]) -> dict:
    """The day's staged (or applied) load of each staging table, as the parameters the SQL that
    reads them binds (``%(stg_roles_load)s``); None where the day has none."""
    cur.execute(
        sql.SQL(
            "SELECT staging_table, load_id FROM staging_loads WHERE sync_day = %s AND {}"
        ).format(sql.Identifier(pointer)),
        (sync_day,),
    )
    loads = dict.fromkeys(STAGING_TABLES) | dict(cur.fetchall())
    return {f"{table}_load": load_id for table, load_id in loads.items()}


def drop_abandoned_load_tables(cur: Cursor, table: str) -> None:
    """Drops load tables left by runs that were killed before they could clean up.

    A load table lives for one write; one older than a day belongs to no live run.
    """
    cur.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        " AND starts_with(tablename, %s)",
        (f"{table}__load_",),
    )
    for (name,) in cur.fetchall():
        started = name.removeprefix(f"{table}__load_").split("_")[0]
        if started.isdigit() and int(started) < time.time() - ABANDONED_AFTER_SECONDS:
            drop_table(cur, name)
