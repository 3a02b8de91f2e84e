"""The validation and dedup rules of sync days' records, as named steps over their VARIANT values.

Every rule holds within a day: each record carries its ``sync_day``, and records of different
days never meet, so one pass serves one day or a range of them.

Roles: a record without a usable id or name is rejected; among the accepted records of an id the
latest ``updated_at`` wins (ties: the first in file-name, then position order); the winner's
optional fields are typed, a malformed one becoming NULL. Agents: a file without a usable id, or
whose ``role_ids`` is not a list of ids, is rejected. Every rejection, loser and malformed value
becomes an error row (errors.py).
"""

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from roles_assets.landing import AGENT_FOLDER, ROLE_FOLDER
from roles_assets.rules import ErrorType
from roles_assets.transforms.errors import (
    error_rows,
    id_problem,
    invalid_value,
    no_field,
    no_id,
    problem,
    raw_record,
)
from roles_assets.transforms.variant import (
    as_boolean,
    as_int,
    as_list,
    as_string,
    as_timestamp,
    is_absent,
    positive_id,
    shown,
    with_fields,
)

Cache = Callable[[DataFrame], DataFrame]
"""Applied to each intermediate that several outputs read: the staging step persists them, so
their rules run once; a test may leave them as they are (``no_cache``)."""


def no_cache(df: DataFrame) -> DataFrame:
    """The intermediate as it is (recomputed by each output that reads it)."""
    return df


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
AGENT_FIELDS = ["id", "role_ids", "updated_at"]


# Each frame below also carries its rows' sync_day.
@dataclass(frozen=True)
class ValidatedRoles:
    roles: DataFrame  # one winning record per role id, typed (ROLE_COLUMNS and source)
    agent_ids: DataFrame  # role_id, updated_at, agent_ids (array<variant>), record, source_file
    errors: DataFrame  # ERROR_COLUMNS


@dataclass(frozen=True)
class ValidatedAgents:
    agents: DataFrame  # agent_id, updated_at, role_ids (array<bigint>), record, source_file
    errors: DataFrame  # ERROR_COLUMNS


def file_errors(raw: DataFrame) -> DataFrame:
    """Raw records (``RAW_SCHEMA`` and ``sync_day``) -> MALFORMED_JSON rows, one per file that
    could not be read as records, keeping the file's text."""
    return raw.where(F.col("file_error").isNotNull()).select(
        "sync_day",
        no_id().alias("role_id"),
        no_id().alias("agent_id"),
        F.lit(ErrorType.MALFORMED_JSON).alias("error_type"),
        no_field().alias("field"),
        F.concat(F.col("source_file"), F.lit(": "), F.col("file_error")).alias("error_message"),
        F.col("unreadable_file").alias("raw_record"),
        "source_file",
    )


def validate_roles(raw: DataFrame, cache: Cache = no_cache) -> ValidatedRoles:
    """Raw records -> each day's valid roles, each role's ``agent_ids``, and the error rows.

    Rejected records keep their ``agent_ids`` to themselves. The ranking carries only the key,
    ``updated_at``, the rejections and the record; the other fields are typed after it, for the
    winners alone. The ranked records and the typed winners go through ``cache``: the errors
    read both, the other outputs the winners.
    """
    ranked = cache(_ranked_by_id(_role_records(raw)))
    accepted = ranked.where(~F.col("is_rejected"))
    winners = cache(_typed_winners(accepted.where(F.col("rank") == 1)))
    errors = (
        error_rows(ranked.where("is_rejected"), F.col("rejections"), F.col("role_id"), no_id())
        .unionByName(_duplicate_errors(accepted.where(F.col("rank") > 1)))
        .unionByName(error_rows(winners, F.col("invalid_values"), F.col("role_id"), no_id()))
    )
    return ValidatedRoles(
        roles=winners.select("sync_day", *ROLE_COLUMNS, F.col("source_file").alias("source")),
        agent_ids=winners.select(
            "sync_day", "role_id", "updated_at", "agent_ids", "record", "source_file"
        ),
        errors=errors,
    )


def _records_of(raw: DataFrame, folder: str, fields: list[str]) -> DataFrame:
    """The parsed records of one source folder, with each named field as a VARIANT column."""
    records = raw.where((F.col("source_folder") == folder) & F.col("file_error").isNull())
    return with_fields(records.select("sync_day", "source_file", "record_index", "record"), fields)


def _role_records(raw: DataFrame) -> DataFrame:
    """Role records with their id, their typed ``updated_at`` and why they are rejected."""
    return _records_of(raw, ROLE_FOLDER, ["id", "name", "updated_at"]).select(
        "sync_day",
        "source_file",
        "record_index",
        "record",
        F.expr(positive_id("id")).alias("role_id"),
        F.expr(as_timestamp("updated_at")).alias("typed_updated_at"),
        F.array(
            id_problem("id", ErrorType.MISSING_ROLE_ID, ErrorType.INVALID_ROLE_ID), _name_problem()
        ).alias("rejections"),
    )


def _name_problem() -> Column:
    return F.when(
        F.expr(f"nullif(trim({as_string('name')}), '') IS NULL"),
        problem(
            ErrorType.MISSING_NAME,
            "name",
            f"CASE WHEN {is_absent('name')} THEN 'name is missing'"
            f" ELSE 'name is blank or not a string: ' || {shown('name')} END",
        ),
    )


def _ranked_by_id(records: DataFrame) -> DataFrame:
    """Each record's rank among the records of its id, latest ``updated_at`` first, and the
    position of the winner. Rejected records rank among themselves only, so one pass over the
    records serves the winners, the duplicates and the rejections."""
    latest_first = Window.partitionBy("sync_day", "is_rejected", "role_id").orderBy(
        F.col("typed_updated_at").desc_nulls_last(), "source_file", "record_index"
    )
    return records.withColumn(
        "is_rejected", F.exists("rejections", lambda p: p.isNotNull())
    ).select(
        "*",
        F.row_number().over(latest_first).alias("rank"),
        F.first("source_file").over(latest_first).alias("winner_file"),
        F.first("record_index").over(latest_first).alias("winner_index"),
    )


def _duplicate_errors(losers: DataFrame) -> DataFrame:
    """DUPLICATE_ROLE: one row per accepted record that lost to another of its id."""
    return losers.select(
        "sync_day",
        "role_id",
        no_id().alias("agent_id"),
        F.lit(ErrorType.DUPLICATE_ROLE).alias("error_type"),
        no_field().alias("field"),
        F.format_string(
            "role %d appears more than once; the record at %s[%d] wins",
            "role_id",
            "winner_file",
            "winner_index",
        ).alias("error_message"),
        raw_record(),
        "source_file",
    )


def _typed_winners(winners: DataFrame) -> DataFrame:
    """The winning records' fields, typed, with an INVALID_VALUE problem per malformed one."""
    return with_fields(winners, ROLE_FIELDS).select(
        "sync_day",
        "role_id",
        F.col("typed_updated_at").alias("updated_at"),
        "record",
        "source_file",
        F.expr(as_string("name")).alias("name"),
        F.expr(as_string("description")).alias("description"),
        F.expr(as_boolean("default")).alias("is_default"),
        F.expr(as_int("agent_type")).alias("agent_type"),
        F.expr(as_timestamp("created_at")).alias("created_at"),
        F.expr(as_list("agent_ids")).alias("agent_ids"),
        F.array(
            invalid_value("description", as_string("description") + " IS NOT NULL", "a string"),
            invalid_value("default", as_boolean("default") + " IS NOT NULL", "a boolean"),
            invalid_value("agent_type", as_int("agent_type") + " IS NOT NULL", "an integer"),
            invalid_value(
                "created_at", as_timestamp("created_at") + " IS NOT NULL", "an ISO-8601 timestamp"
            ),
            invalid_value("updated_at", "typed_updated_at IS NOT NULL", "an ISO-8601 timestamp"),
            invalid_value("agent_ids", as_list("agent_ids") + " IS NOT NULL", "a list"),
        ).alias("invalid_values"),
    )


def validate_agents(raw: DataFrame) -> ValidatedAgents:
    """Raw records -> each day's valid agent files, with their role ids, and the error rows."""
    records = _records_of(raw, AGENT_FOLDER, AGENT_FIELDS).select(
        "*",
        F.expr(positive_id("id")).alias("agent_id"),
        id_problem("id", ErrorType.MISSING_AGENT_ID, ErrorType.INVALID_AGENT_ID).alias("id_error"),
        _role_ids_problem().alias("role_ids_error"),
    )
    # An agent without a usable id is one error; only an identified agent can have bad role_ids.
    problems = F.array(
        F.col("id_error"), F.when(F.col("id_error").isNull(), F.col("role_ids_error"))
    )
    is_rejected = F.col("id_error").isNotNull() | F.col("role_ids_error").isNotNull()
    agents = records.where(~is_rejected).select(
        "sync_day",
        "agent_id",
        F.expr(as_timestamp("updated_at")).alias("updated_at"),
        F.expr(f"transform({as_list('role_ids')}, r -> {positive_id('r')})").alias("role_ids"),
        "record",
        "source_file",
    )
    errors = error_rows(records.where(is_rejected), problems, no_id(), F.col("agent_id"))
    return ValidatedAgents(agents, errors)


def _role_ids_problem() -> Column:
    role_ids = as_list("role_ids")
    return F.when(
        F.expr(
            f"{role_ids} IS NULL OR NOT forall({role_ids}, r -> ({positive_id('r')}) IS NOT NULL)"
        ),
        problem(
            ErrorType.INVALID_ROLE_IDS,
            "role_ids",
            f"'role_ids is not a list of ids: ' || coalesce({shown('role_ids')}, 'missing')",
        ),
    )
