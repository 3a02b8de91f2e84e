"""Error rows: the shape of ``role_pipeline_errors`` and the builders the rules share.

A rule states a problem as a struct (its type, the field it is about, a message) or NULL when
there is none; ``error_rows`` turns a column of such problems into rows, each with a copy of the
original record.
"""

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from roles_assets.rules import ErrorType
from roles_assets.transforms.variant import is_absent, positive_id, shown

ERROR_COLUMNS = [
    "sync_day",
    "role_id",
    "agent_id",
    "error_type",
    "field",
    "error_message",
    "raw_record",
    "source_file",
]


def raw_record() -> Column:
    """An error row's copy of the original record, as JSON text: only error rows pay for it."""
    return F.expr("to_json(record)").alias("raw_record")


def problem(error_type: ErrorType, field: str | None, message_sql: str) -> Column:
    """A problem: its type, the record's field it is about (NULL for the whole record), and a
    message (SQL)."""
    return F.struct(
        F.lit(error_type).alias("error_type"),
        F.lit(field).cast("string").alias("field"),
        F.expr(message_sql).alias("error_message"),
    )


def id_problem(field: str, missing_type: ErrorType, invalid_type: ErrorType) -> Column:
    """The problem of id field ``field``, or NULL when it holds a positive BIGINT."""
    return F.when(
        F.expr(is_absent(field)), problem(missing_type, field, f"'{field} is missing'")
    ).when(
        F.expr(positive_id(field)).isNull(),
        problem(invalid_type, field, f"'{field} is not a positive BIGINT: ' || {shown(field)}"),
    )


def invalid_value(field: str, valid_sql: str, expected: str) -> Column:
    """INVALID_VALUE for an optional field that is present, not JSON null, and not valid."""
    return F.when(
        ~F.expr(is_absent(field)) & F.expr(f"NOT coalesce({valid_sql}, false)"),
        problem(ErrorType.INVALID_VALUE, field, f"'{field} is not {expected}: ' || {shown(field)}"),
    )


def error_rows(df: DataFrame, problems: Column, role_id: Column, agent_id: Column) -> DataFrame:
    """One error row (``ERROR_COLUMNS``) per non-NULL entry of the ``problems`` array column."""
    return df.select(
        "sync_day",
        role_id.alias("role_id"),
        agent_id.alias("agent_id"),
        F.inline(F.filter(problems, lambda p: p.isNotNull())),  # error_type, field, error_message
        raw_record(),
        "source_file",
    )


def no_id() -> Column:
    """An id column for an error row that names no role or no agent."""
    return F.lit(None).cast("bigint")


def no_field() -> Column:
    """The field of an error row about a whole file or record."""
    return F.lit(None).cast("string")
