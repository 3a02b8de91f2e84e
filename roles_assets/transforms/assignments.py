"""Role-side ``agent_ids`` and agent-side ``role_ids`` -> one row per (agent, role) a day asserts."""

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from roles_assets.transforms.validate import Reuse, as_is, positive_id, raw_record


@dataclass(frozen=True)
class Assignments:
    pairs: DataFrame  # agent_id, role_id, updated_at: unique pairs
    errors: DataFrame


def assignments(
    roles: DataFrame, role_agent_ids: DataFrame, agents: DataFrame, reuse: Reuse = as_is
) -> Assignments:
    """The union of both sources, each pair once with its latest ``updated_at``.

    A bad ``agent_ids`` entry is a MISSING_AGENT_ID or INVALID_AGENT_ID row and the rest of the
    role's list still counts. An agent assigned to a role id that is not a valid role that day is
    an UNKNOWN_ROLE row.

    The role-side entries go through ``reuse``: the pairs and the errors both read them, and a
    day holds millions.
    """
    entries = role_agent_ids.select(
        "role_id", "updated_at", F.explode("agent_ids").alias("entry")
    ).select("role_id", "updated_at", "entry", F.expr(positive_id("entry")).alias("agent_id"))
    entries = reuse(entries.select(
        "role_id",
        "updated_at",
        "agent_id",
        F.when(F.col("agent_id").isNull(), F.col("entry")).alias("bad_entry"),
    ))
    # Bad entries are few: they fetch their role's record by a broadcast join, not a shuffle.
    bad_entries = F.broadcast(entries.where(F.col("agent_id").isNull())).join(
        role_agent_ids.select("role_id", "record", "source_file"), "role_id"
    ).select(
        "role_id",
        F.lit(None).cast("bigint").alias("agent_id"),
        F.when(F.expr("is_variant_null(bad_entry)"), F.lit("MISSING_AGENT_ID"))
        .otherwise(F.lit("INVALID_AGENT_ID"))
        .alias("error_type"),
        F.format_string("agent_ids of role %d holds %s, not an agent id", "role_id", F.expr("substr(to_json(bad_entry), 1, 200)")).alias("error_message"),
        raw_record(),
        "source_file",
    )
    from_roles = entries.where(F.col("agent_id").isNotNull()).select("agent_id", "role_id", "updated_at")

    agent_pairs = agents.select(
        "agent_id", "updated_at", "record", "source_file", F.explode("role_ids").alias("role_id")
    )
    known_roles = roles.select("role_id")
    unknown = agent_pairs.join(known_roles, "role_id", "left_anti").select(
        "role_id",
        "agent_id",
        F.lit("UNKNOWN_ROLE").alias("error_type"),
        F.format_string("agent %d is assigned to role %d, which is not a valid role this day", "agent_id", "role_id").alias("error_message"),
        raw_record(),
        "source_file",
    )
    from_agents = agent_pairs.join(known_roles, "role_id", "left_semi").select("agent_id", "role_id", "updated_at")

    pairs = (
        from_roles.unionByName(from_agents)
        .groupBy("agent_id", "role_id")
        .agg(F.max("updated_at").alias("updated_at"))
    )
    return Assignments(pairs, bad_entries.unionByName(unknown))
