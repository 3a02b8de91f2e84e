"""What the Dagster UI shows of each table: its columns, keys and storage.

``TABLES`` is the one Python description of the PostgreSQL tables' columns (a test holds it to
the real database's ``information_schema``, so the two cannot drift apart). An asset adopts it
with one line: ``metadata=table_metadata("its_table")``, or ``**table_metadata(...)`` among
other entries.
"""

from dataclasses import dataclass, field

import dagster as dg
from pyspark.sql import types as T


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # PostgreSQL's name of it (information_schema.columns.data_type, upper case)
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    # Column sets PostgreSQL keeps unique (a primary key or a unique index), per day in staging.
    unique_keys: tuple[tuple[str, ...], ...] = field(default=())
    primary_key: tuple[str, ...] = field(default=())


def _col(name: str, type_: str, description: str, nullable: bool = True) -> Column:
    return Column(name, type_, description, nullable)


# Staging stores a malformed value as NULL; the final tables keep the last good one instead.
_NULL_WHEN = "NULL when absent (in staging, also when malformed)."
_ROLE_VALUES = (
    _col("name", "TEXT", "The role's name."),
    _col("description", "TEXT", f"The role's description; {_NULL_WHEN}"),
    _col("is_default", "BOOLEAN", "Freshdesk's `default` flag: a built-in role."),
    _col("agent_type", "INTEGER", f"Freshdesk's agent type of the role; {_NULL_WHEN}"),
    _col("created_at", "TIMESTAMP", "When the role was created, UTC wall time."),
    _col("updated_at", "TIMESTAMP", "When the role was last updated, UTC wall time."),
)
_SYNC_DAY = _col("sync_day", "TEXT", "The sync day of the row.", nullable=False)
_LOAD_ID = _col("load_id", "BIGINT", "The staging write of the row (partition key).", False)

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "stg_roles",
            (
                _col("role_id", "BIGINT", "Freshdesk's role id.", nullable=False),
                *_ROLE_VALUES,
                _SYNC_DAY,
                _col("source", "TEXT", "The landed file the record came from."),
                _col("ingested_at", "TIMESTAMP", "When the row was staged, UTC."),
                _LOAD_ID,
            ),
            unique_keys=(("role_id", "load_id"),),
        ),
        Table(
            "stg_agent_roles",
            (
                _col("agent_id", "BIGINT", "Freshdesk's agent id.", nullable=False),
                _col("role_id", "BIGINT", "The role the day assigns the agent to.", nullable=False),
                _col("status", "TEXT", "`assigned`: the day asserts the pair."),
                _col("updated_at", "TIMESTAMP", "The role record's updated_at, UTC wall time."),
                _SYNC_DAY,
                _LOAD_ID,
            ),
            unique_keys=(("agent_id", "role_id", "load_id"),),
        ),
        Table(
            "role_pipeline_errors",
            (
                _col("id", "INTEGER", "Row id (serial).", nullable=False),
                _SYNC_DAY,
                _col("role_id", "BIGINT", "The role the problem is about, when known."),
                _col("agent_id", "BIGINT", "The agent the problem is about, when known."),
                _col("error_type", "TEXT", "The validation rule broken (docs/contract.md).", False),
                _col("error_message", "TEXT", "What is wrong, in words.", nullable=False),
                _col("raw_record", "JSONB", "The original record (or file text), as landed."),
                _col("source_file", "TEXT", "The landed file the record came from."),
                _col("created_at", "TIMESTAMP", "When the row was written, UTC.", nullable=False),
                _col("field", "TEXT", "The record's field it is about; NULL for a whole record."),
                _LOAD_ID,
            ),
        ),
        Table(
            "roles",
            (
                _col("role_id", "BIGINT", "Freshdesk's role id.", nullable=False),
                _col("name", "TEXT", "The role's name, from the latest day it was valid.", False),
                *_ROLE_VALUES[1:],
                _col(
                    "deleted_at",
                    "TIMESTAMP",
                    "Sync time of the day whose complete snapshot no longer held the role; NULL "
                    "while it exists.",
                ),
            ),
            primary_key=("role_id",),
        ),
        Table(
            "agent_role_mapping",
            (
                _col("agent_id", "BIGINT", "Freshdesk's agent id.", nullable=False),
                _col("role_id", "BIGINT", "Freshdesk's role id.", nullable=False),
                _col("status", "TEXT", "`assigned` or `removed`.", nullable=False),
                _col("assigned_at", "TIMESTAMP", "Sync time of the day it was last assigned."),
                _col("removed_at", "TIMESTAMP", "Sync time of its removal; NULL while assigned."),
            ),
            primary_key=("agent_id", "role_id"),
        ),
        Table(
            "agent_role_history",
            (
                _col("agent_id", "BIGINT", "Freshdesk's agent id.", nullable=False),
                _col("role_id", "BIGINT", "Freshdesk's role id.", nullable=False),
                _col("assigned_day", "TEXT", "The sync day that opened the interval.", False),
                _col("assigned_at", "TIMESTAMP", "That day's sync time.", nullable=False),
                _col("removed_day", "TEXT", "The sync day that closed it; NULL while held."),
                _col("removed_at", "TIMESTAMP", "That day's sync time; NULL while held."),
            ),
            primary_key=("agent_id", "role_id", "assigned_day"),
        ),
        Table(
            "role_history",
            (
                _col("role_id", "BIGINT", "Freshdesk's role id.", nullable=False),
                _col("name", "TEXT", "The role's name in this version.", nullable=False),
                *_ROLE_VALUES[1:],
                _col("from_day", "TEXT", "The sync day that brought this version.", False),
                _col("valid_from", "TIMESTAMP", "That day's sync time.", nullable=False),
                _col("to_day", "TEXT", "The sync day that changed it; NULL while current."),
                _col("valid_to", "TIMESTAMP", "That day's sync time; NULL while current."),
            ),
            primary_key=("role_id", "from_day"),
        ),
    ]
}


def column_schema(table: Table) -> dg.TableSchema:
    """The table as the UI shows it: each column's type, description and NULL-ability, and keys."""
    single_unique = {k[0] for k in (table.primary_key, *table.unique_keys) if len(k) == 1}
    constraints = [f"PRIMARY KEY ({', '.join(table.primary_key)})"] if table.primary_key else []
    constraints += [f"UNIQUE ({', '.join(key)})" for key in table.unique_keys]
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.type,
                c.description,
                constraints=dg.TableColumnConstraints(
                    nullable=c.nullable, unique=c.name in single_unique
                ),
            )
            for c in table.columns
        ],
        constraints=dg.TableConstraints(other=constraints) if constraints else None,
    )


def table_metadata(table: str) -> dict:
    """Definition metadata of an asset stored in PostgreSQL table ``table``."""
    return {
        "dagster/table_name": table,
        "dagster/column_schema": column_schema(TABLES[table]),
    }


def spark_column_schema(schema: T.StructType, descriptions: dict[str, str]) -> dg.TableSchema:
    """A Spark schema as the UI shows it; every column needs a description."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                f.name,
                f.dataType.simpleString(),
                descriptions[f.name],
                constraints=dg.TableColumnConstraints(nullable=f.nullable),
            )
            for f in schema.fields
        ]
    )
