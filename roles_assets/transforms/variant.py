"""Reading VARIANT values: Spark SQL expressions over one value of a parsed JSON record.

Records are kept as VARIANT so that every rule sees a value's JSON type: ``"7"`` and ``7`` are
both ids, ``7.0`` and ``true`` are not, and ids beyond 2^53 stay exact. Each function takes the
SQL of a VARIANT value (a column name, or an expression such as a lambda's argument) and returns
SQL whose result is NULL when the value does not have the asked-for shape.
"""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

_INTEGER_TYPES = "('TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'STRING')"


def integer_text(x: str, sign: str = "") -> str:
    """The digits (with ``sign``, a regex) of a JSON integer or a string of one, else ''.

    Read from the value's JSON text, where a string is quoted and an integer is not. Parsing may
    store an integral number such as 12.0 as a decimal, so the JSON type is checked too. Casting
    this text is cheaper than a typed variant cast, which counts on a million ids.
    """
    return (
        f"CASE WHEN schema_of_variant({x}) IN {_INTEGER_TYPES}"
        f" THEN regexp_extract(to_json({x}), '^(\"?)({sign}[0-9]+)\\\\1$', 2) END"
    )


def positive_id(x: str) -> str:
    """The positive BIGINT in ``x`` (a JSON integer or a digit string)."""
    return f"nullif(try_cast({integer_text(x)} AS BIGINT), 0)"


def is_absent(x: str) -> str:
    """True when the field is missing or JSON null."""
    return f"({x} IS NULL OR is_variant_null({x}))"


def shown(x: str) -> str:
    """A short JSON rendering of ``x`` for error messages."""
    return f"substr(to_json({x}), 1, 200)"


def as_string(x: str) -> str:
    """``x`` when it is a JSON string."""
    return (
        f"CASE WHEN schema_of_variant({x}) = 'STRING' THEN try_variant_get({x}, '$', 'string') END"
    )


def as_boolean(x: str) -> str:
    """``x`` when it is a JSON boolean, or the string ``"true"`` / ``"false"`` in any case."""
    return (
        f"CASE WHEN schema_of_variant({x}) = 'BOOLEAN' THEN try_variant_get({x}, '$', 'boolean')"
        f" WHEN lower({as_string(x)}) IN ('true', 'false') THEN lower({as_string(x)}) = 'true' END"
    )


def as_int(x: str) -> str:
    """``x`` when it is a JSON integer or a string of one that fits INT."""
    return f"try_cast({integer_text(x, sign='-?')} AS INT)"


def as_timestamp(x: str) -> str:
    """ISO-8601 text as UTC wall time (the session time zone is UTC)."""
    return f"CAST(try_cast({as_string(x)} AS TIMESTAMP) AS TIMESTAMP_NTZ)"


def as_list(x: str) -> str:
    """``x`` when it is a JSON array, as an array of VARIANT values."""
    return f"try_variant_get({x}, '$', 'array<variant>')"


def with_fields(records: DataFrame, fields: list[str]) -> DataFrame:
    """``records`` plus each named field of their ``record`` as a VARIANT column of that name."""
    return records.select(
        "*", *(F.expr(f"variant_get(record, '$.{field}')").alias(field) for field in fields)
    )
