"""The validation and dedup rules, as Spark expressions over each record's JSON.

Records are read as VARIANT so that every rule can see a value's JSON type: ``"7"`` and ``7`` are
both ids, ``7.0`` and ``true`` are not, and ids beyond 2^53 stay exact.
"""

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from roles_assets.landing import AGENT_FOLDER, ROLE_FOLDER

Reuse = Callable[[DataFrame], DataFrame]
"""Applied to each intermediate that several outputs read; persisting it runs its rules once."""


def as_is(df: DataFrame) -> DataFrame:
    return df


def raw_record() -> Column:
    """An error row's copy of the original record, as JSON text: only error rows pay for it."""
    return F.expr("to_json(record)").alias("raw_record")


ERROR_COLUMNS = [
    "role_id",
    "agent_id",
    "error_type",
    "field",
    "error_message",
    "raw_record",
    "source_file",
]


def _integer_text(x: str, sign: str = "") -> str:
    """SQL for the digits (with ``sign``, a regex) of a JSON integer or a string of one, else ''.

    Read from the value's JSON text, where a string is quoted and an integer is not. Parsing may
    store an integral number such as 12.0 as a decimal, so the JSON type is checked too. Casting
    this text is about 3x cheaper than a typed variant cast, which counts on a million ids.
    """
    return (
        f"CASE WHEN schema_of_variant({x}) IN ('TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'STRING')"
        f" THEN regexp_extract(to_json({x}), '^(\"?)({sign}[0-9]+)\\\\1$', 2) END"
    )


def positive_id(x: str) -> str:
    """SQL for the positive BIGINT in variant ``x`` (a JSON integer or digit string), else NULL."""
    return f"nullif(try_cast({_integer_text(x)} AS BIGINT), 0)"


def _absent(x: str) -> str:
    return f"({x} IS NULL OR is_variant_null({x}))"


def _shown(x: str) -> str:
    """A short JSON rendering of variant ``x`` for error messages."""
    return f"substr(to_json({x}), 1, 200)"


def _error(error_type: str, field: str | None, message_sql: str) -> Column:
    """A problem: its type, the record's field it is about (NULL for the whole record), and a
    message."""
    return F.struct(
        F.lit(error_type).alias("error_type"),
        F.lit(field).cast("string").alias("field"),
        F.expr(message_sql).alias("error_message"),
    )


def _id_error(field: str, missing_type: str, invalid_type: str) -> Column:
    """The error for id variant column ``field``, or NULL when it holds a positive BIGINT."""
    return F.when(
        F.expr(_absent(field)), _error(missing_type, field, f"'{field} is missing'")
    ).when(
        F.expr(positive_id(field)).isNull(),
        _error(invalid_type, field, f"'{field} is not a positive BIGINT: ' || {_shown(field)}"),
    )


def _present_but(field: str, valid_sql: str, expected: str) -> Column:
    """INVALID_VALUE for an optional field that is present, not JSON null, and not valid."""
    return F.when(
        ~F.expr(_absent(field)) & F.expr(f"NOT coalesce({valid_sql}, false)"),
        _error("INVALID_VALUE", field, f"'{field} is not {expected}: ' || {_shown(field)}"),
    )


def _string(field: str) -> str:
    return (
        f"CASE WHEN schema_of_variant({field}) = 'STRING'"
        f" THEN try_variant_get({field}, '$', 'string') END"
    )


def _boolean(field: str) -> str:
    return (
        f"CASE WHEN schema_of_variant({field}) = 'BOOLEAN'"
        f" THEN try_variant_get({field}, '$', 'boolean')"
        f" WHEN lower({_string(field)}) IN ('true', 'false')"
        f" THEN lower({_string(field)}) = 'true' END"
    )


def _int(field: str) -> str:
    return f"try_cast({_integer_text(field, sign='-?')} AS INT)"


def _timestamp(field: str) -> str:
    """ISO-8601 text -> UTC wall time (the session time zone is UTC)."""
    return f"CAST(try_cast({_string(field)} AS TIMESTAMP) AS TIMESTAMP_NTZ)"


def _with_fields(records: DataFrame, fields: list[str]) -> DataFrame:
    """``records`` plus each named field of its ``record`` as a VARIANT column."""
    return records.select(
        "*", *(F.expr(f"variant_get(record, '$.{field}')").alias(field) for field in fields)
    )


def _records_of(raw: DataFrame, folder: str, fields: list[str]) -> DataFrame:
    """The parsed records of one source folder, with each named field as a VARIANT column."""
    records = raw.where((F.col("source_folder") == folder) & F.col("file_error").isNull())
    return _with_fields(records.select("source_file", "record_index", "record"), fields)


def _errors(df: DataFrame, problems: Column, role_id: Column, agent_id: Column) -> DataFrame:
    """One error row per non-NULL entry of the ``problems`` array column."""
    exploded = df.select(
        role_id.alias("role_id"),
        agent_id.alias("agent_id"),
        F.explode(F.filter(problems, lambda p: p.isNotNull())).alias("problem"),
        raw_record(),
        "source_file",
    )
    return exploded.select(
        "role_id",
        "agent_id",
        "problem.error_type",
        "problem.field",
        "problem.error_message",
        "raw_record",
        "source_file",
    )


def file_errors(raw: DataFrame) -> DataFrame:
    """MALFORMED_JSON: one row per file that could not be read as records."""
    return raw.where(F.col("file_error").isNotNull()).select(
        F.lit(None).cast("bigint").alias("role_id"),
        F.lit(None).cast("bigint").alias("agent_id"),
        F.lit("MALFORMED_JSON").alias("error_type"),
        F.lit(None).cast("string").alias("field"),
        F.concat(F.col("source_file"), F.lit(": "), F.col("file_error")).alias("error_message"),
        F.col("unreadable_file").alias("raw_record"),
        "source_file",
    )


@dataclass(frozen=True)
class ValidatedRoles:
    roles: DataFrame  # one winning record per role id, typed
    agent_ids: DataFrame  # role_id, updated_at, agent_ids (array<variant>), record, source_file
    errors: DataFrame


ROLE_FIELDS = [
    "name",
    "description",
    "default",
    "agent_type",
    "created_at",
    "updated_at",
    "agent_ids",
]
ROLE_COLUMNS = [
    "role_id",
    "name",
    "description",
    "is_default",
    "agent_type",
    "created_at",
    "updated_at",
]


def validate_roles(raw: DataFrame, reuse: Reuse = as_is) -> ValidatedRoles:
    """Rejects records without a usable id or name, keeps one record per id, types the rest.

    Rejected records keep their ``agent_ids`` to themselves. Among the accepted records of an id,
    the latest ``updated_at`` wins and ties go to the first in file-name, then position order;
    each loser is a DUPLICATE_ROLE. A kept role's malformed optional field becomes NULL with one
    INVALID_VALUE row.

    The ranking carries only the key, ``updated_at``, the rejections and the record; the other
    fields are typed after it, for the winners alone. Both ``ranked`` and the typed ``winners``
    go through ``reuse``: the errors read both, the other outputs the winners.
    """
    keyed = _records_of(raw, ROLE_FOLDER, ["id", "name", "updated_at"]).select(
        "source_file",
        "record_index",
        "record",
        F.expr(positive_id("id")).alias("role_id"),
        F.expr(_timestamp("updated_at")).alias("typed_updated_at"),
        F.array(
            _id_error("id", "MISSING_ROLE_ID", "INVALID_ROLE_ID"),
            F.when(
                F.expr(f"nullif(trim({_string('name')}), '') IS NULL"),
                _error(
                    "MISSING_NAME",
                    "name",
                    f"CASE WHEN {_absent('name')} THEN 'name is missing'"
                    f" ELSE 'name is blank or not a string: ' || {_shown('name')} END",
                ),
            ),
        ).alias("rejections"),
    )
    # Rejected records rank among themselves only, so one pass over the records serves all three.
    in_input_order = Window.partitionBy("is_rejected", "role_id").orderBy(
        F.col("typed_updated_at").desc_nulls_last(), "source_file", "record_index"
    )
    ranked = reuse(
        keyed.withColumn("is_rejected", F.exists("rejections", lambda p: p.isNotNull())).select(
            "*",
            F.row_number().over(in_input_order).alias("rank"),
            F.first("source_file").over(in_input_order).alias("winner_file"),
            F.first("record_index").over(in_input_order).alias("winner_index"),
        )
    )
    rejected = _errors(
        ranked.where("is_rejected"),
        F.col("rejections"),
        F.col("role_id"),
        F.lit(None).cast("bigint"),
    )
    accepted = ranked.where(~F.col("is_rejected"))
    losers = accepted.where(F.col("rank") > 1).select(
        "role_id",
        F.lit(None).cast("bigint").alias("agent_id"),
        F.lit("DUPLICATE_ROLE").alias("error_type"),
        F.lit(None).cast("string").alias("field"),
        F.format_string(
            "role %d appears more than once; the record at %s[%d] wins",
            "role_id",
            "winner_file",
            "winner_index",
        ).alias("error_message"),
        raw_record(),
        "source_file",
    )
    winners = reuse(
        _with_fields(accepted.where(F.col("rank") == 1), ROLE_FIELDS).select(
            "role_id",
            F.col("typed_updated_at").alias("updated_at"),
            "record",
            "source_file",
            F.expr(_string("name")).alias("name"),
            F.expr(_string("description")).alias("description"),
            F.expr(_boolean("default")).alias("is_default"),
            F.expr(_int("agent_type")).alias("agent_type"),
            F.expr(_timestamp("created_at")).alias("created_at"),
            F.expr("try_variant_get(agent_ids, '$', 'array<variant>')").alias("agent_ids"),
            F.array(
                _present_but("description", _string("description") + " IS NOT NULL", "a string"),
                _present_but("default", _boolean("default") + " IS NOT NULL", "a boolean"),
                _present_but("agent_type", _int("agent_type") + " IS NOT NULL", "an integer"),
                _present_but(
                    "created_at", _timestamp("created_at") + " IS NOT NULL", "an ISO-8601 timestamp"
                ),
                _present_but("updated_at", "typed_updated_at IS NOT NULL", "an ISO-8601 timestamp"),
                _present_but(
                    "agent_ids",
                    "try_variant_get(agent_ids, '$', 'array<variant>') IS NOT NULL",
                    "a list",
                ),
            ).alias("invalid_values"),
        )
    )
    invalid_values = _errors(
        winners, F.col("invalid_values"), F.col("role_id"), F.lit(None).cast("bigint")
    )
    return ValidatedRoles(
        roles=winners.select(*ROLE_COLUMNS, F.col("source_file").alias("source")),
        agent_ids=winners.select("role_id", "updated_at", "agent_ids", "record", "source_file"),
        errors=rejected.unionByName(losers).unionByName(invalid_values),
    )


@dataclass(frozen=True)
class ValidatedAgents:
    agents: DataFrame  # agent_id, updated_at, role_ids (array<bigint>), record, source_file
    errors: DataFrame


AGENT_FIELDS = ["id", "role_ids", "updated_at"]


def validate_agents(raw: DataFrame) -> ValidatedAgents:
    """Rejects agent files without a usable id, or whose ``role_ids`` is not a list of ids."""
    role_ids = "try_variant_get(role_ids, '$', 'array<variant>')"
    records = _records_of(raw, AGENT_FOLDER, AGENT_FIELDS).select(
        "*",
        F.expr(positive_id("id")).alias("agent_id"),
        _id_error("id", "MISSING_AGENT_ID", "INVALID_AGENT_ID").alias("id_error"),
        F.when(
            F.expr(
                f"{role_ids} IS NULL"
                f" OR NOT forall({role_ids}, r -> ({positive_id('r')}) IS NOT NULL)"
            ),
            _error(
                "INVALID_ROLE_IDS",
                "role_ids",
                f"'role_ids is not a list of ids: ' || coalesce({_shown('role_ids')}, 'missing')",
            ),
        ).alias("role_ids_error"),
    )
    # An agent without a usable id is one error; only an identified agent can have bad role_ids.
    problems = F.array(
        F.col("id_error"), F.when(F.col("id_error").isNull(), F.col("role_ids_error"))
    )
    is_rejected = F.col("id_error").isNotNull() | F.col("role_ids_error").isNotNull()
    errors = _errors(
        records.where(is_rejected), problems, F.lit(None).cast("bigint"), F.col("agent_id")
    )
    agents = records.where(~is_rejected).select(
        "agent_id",
        F.expr(_timestamp("updated_at")).alias("updated_at"),
        F.expr(f"transform({role_ids}, r -> {positive_id('r')})").alias("role_ids"),
        "record",
        "source_file",
    )
    return ValidatedAgents(agents, errors)
