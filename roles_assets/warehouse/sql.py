"""The SQL files, and the few statements the warehouse composes in many places, written once.

The SQL (a checkout's top-level ``sql/``, which a wheel installs as the package
``roles_assets.sql``) is read through ``importlib.resources``, so an installed wheel finds it as
a checkout does.

Each helper takes a psycopg2 cursor and names tables through ``sql.Identifier``, so no name ever
becomes SQL text. The advisory locks are transaction-scoped: they end with the transaction.
"""

import importlib.resources
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import psycopg2.extensions
from psycopg2 import sql

# A folder on disk: wheels install unzipped, and an editable install maps the package onto it.
SQL_DIR = Path(importlib.resources.files("roles_assets.sql"))

# One key for the whole project; the second half of each advisory lock names what it guards.
ADVISORY_LOCK_NAMESPACE = 0x526F6C65  # "Role"
MIGRATION_LOCK = 1
APPLY_LOCK = 2

Cursor = psycopg2.extensions.cursor


@cache
def sql_file(name: str) -> str:
    """The text of ``sql/<name>``."""
    return SQL_DIR.joinpath(*name.split("/")).read_text()


def run_sql(cur: Cursor, name: str, params: Mapping | None = None) -> None:
    """Runs ``sql/<name>`` with bound ``params``."""
    cur.execute(sql_file(name), params)


def drop_table(cur: Cursor, name: str) -> None:
    """Drops table ``name`` if it exists."""
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


def advisory_lock(cur: Cursor, lock: int, shared: bool = False) -> None:
    """Holds advisory lock ``lock`` (``APPLY_LOCK``, ``MIGRATION_LOCK``) until the transaction
    ends; the apply lock is taken exclusive by an apply, shared by a staging write."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    cur.execute(f"SELECT {function}(%s, %s)", (ADVISORY_LOCK_NAMESPACE, lock))
