"""The staging tables' partitions, one per sync day: their names, the swap that replaces a day,
and the applied copies kept while a newer staging of a day waits for its apply.

A day's rows are written into a load table first; ``swap_in`` then makes it the day's partition
in one transaction, so readers see either the old day or the new one, never a mix.
"""

import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence

from psycopg2 import sql

from roles_assets.rules import SAMPLE_ROWS
from roles_assets.warehouse.sql import (
    Cursor,
    attach_partition,
    detach_partition,
    drop_table,
    lock_apply,
    lock_partition,
    rename_table,
)

# The staging tables, one partition per sync day (written by the staging assets, assets/staging.py);
# a day's apply reads them all.
STAGING_TABLES = ("stg_roles", "stg_agent_roles", "role_pipeline_errors")
ABANDONED_AFTER_SECONDS = 24 * 3600


def partition_table(table: str, sync_day: str) -> str:
    """The name of ``table``'s partition for a day: a hash, so no key ever becomes SQL text."""
    return f"{table}__{hashlib.sha256(sync_day.encode()).hexdigest()[:16]}"


def applied_copy(partition: str) -> str:
    """Where a day's applied partition is kept while a newer staging of the day, not applied
    yet, holds its place."""
    return f"{partition}_applied"


def load_table_name(table: str) -> str:
    """A fresh name for a load table of ``table``; it starts with the time, so a load table a
    killed run left behind can be told by its age (``drop_abandoned_load_tables``)."""
    return f"{table}__load_{int(time.time())}_{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def applied_staging(cur: Cursor, tables: Iterable[str], except_day: str) -> Iterator[list[str]]:
    """Within the block, each applied day but ``except_day`` has the staging its apply read;
    yields the days that needed their kept copy for it. Call it holding the apply lock, which
    keeps staging swaps out.

    A day's staging is replaced before its checks and its apply run. When they fail or refuse it
    (or have not run yet), the final tables still hold what the previous staging said, and that
    partition is kept aside (see ``swap_in``). A replay of the applied days must read it, not
    the newer rows; afterwards the newer rows are put back for their own run.
    """
    cur.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE %s",
        ("%\\_applied",),
    )
    kept = {name for (name,) in cur.fetchall()}
    moves = []
    if kept:
        cur.execute(
            "SELECT sync_day FROM sync_days WHERE applied AND sync_day <> %s ORDER BY day_order",
            (except_day,),
        )
        moves = [
            (day, table, partition_table(table, day))
            for (day,) in cur.fetchall()
            for table in tables
            if applied_copy(partition_table(table, day)) in kept
        ]
    for day, table, partition in moves:
        _exchange_with_applied_copy(cur, table, partition, day)
    yield sorted({day for day, _, _ in moves})
    for day, table, partition in moves:
        _exchange_with_applied_copy(cur, table, partition, day)


def _exchange_with_applied_copy(cur: Cursor, table: str, partition: str, sync_day: str) -> None:
    """Swaps the day's partition of ``table`` with its applied copy; twice restores both."""
    swapping = f"{partition}_swapping"
    detach_partition(cur, table, partition)
    rename_table(cur, partition, swapping)
    rename_table(cur, applied_copy(partition), partition)
    rename_table(cur, swapping, applied_copy(partition))
    attach_partition(cur, table, partition, sync_day)


def drop_applied_copies(cur: Cursor, tables: Iterable[str], sync_day: str) -> None:
    """Drops the day's kept partitions: the day's current staging is now the applied one."""
    for table in tables:
        drop_table(cur, applied_copy(partition_table(table, sync_day)))


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


def swap_in(
    cur: Cursor,
    table: str,
    sync_day: str,
    load_table: str,
    count_by: str | None = None,
    sample_columns: Sequence[str] = (),
) -> tuple[int, dict[str, int], list[tuple]]:
    """Makes the filled ``load_table`` the day's partition of ``table``; returns its row count,
    the count per ``count_by`` value and a sample of its rows. Call it in a transaction of its
    own: the swap is whole or not at all."""
    partition = partition_table(table, sync_day)
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(load_table)))
    (row_count,) = cur.fetchone()
    counts = {}
    if count_by:
        cur.execute(
            sql.SQL("SELECT {0}, count(*) FROM {1} GROUP BY {0} ORDER BY {0}").format(
                sql.Identifier(count_by), sql.Identifier(load_table)
            )
        )
        counts = dict(cur.fetchall())
    sample = []
    if sample_columns:
        cur.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY 1, 2 LIMIT {}").format(
                sql.SQL(", ").join(map(sql.Identifier, sample_columns)),
                sql.Identifier(load_table),
                sql.Literal(SAMPLE_ROWS),
            )
        )
        sample = cur.fetchall()
    # Swaps wait for a running apply (which reads every day's staging) and same-day swaps from
    # concurrent runs take turns; swaps of other days never wait for each other.
    lock_apply(cur, shared=True)
    lock_partition(cur, partition)
    _retire(cur, table, sync_day, partition)
    rename_table(cur, load_table, partition)
    attach_partition(cur, table, partition, sync_day)
    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(partition)))
    return row_count, counts, sample


def _retire(cur: Cursor, table: str, sync_day: str, partition: str) -> None:
    """Takes the day's current partition out: kept aside if the final tables were built from
    it and nothing is kept for the day yet (see ``applied_staging``), else dropped."""
    kept = applied_copy(partition)
    cur.execute(
        "SELECT to_regclass(quote_ident(%s)) IS NOT NULL"
        " AND to_regclass(quote_ident(%s)) IS NULL"
        " AND EXISTS (SELECT 1 FROM sync_days WHERE sync_day = %s AND applied)",
        (partition, kept, sync_day),
    )
    (keep,) = cur.fetchone()
    if keep:
        detach_partition(cur, table, partition)
        rename_table(cur, partition, kept)
    else:
        drop_table(cur, partition)
