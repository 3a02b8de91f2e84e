"""Role-side ``agent_ids`` and agent-side ``role_ids`` -> one row per (agent, role) a day
asserts, each pair once with the latest ``updated_at`` of its sources.

The sources meet per day and role, not per pair: each role's row gets a map of the agents whose
files name it, and the pairs are exploded after that join. The role-side pairs (a day's millions)
are never shuffled or aggregated one by one; at most the roles' rows are shuffled to meet the
agents' side.
"""

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from roles_assets.rules import ErrorType
from roles_assets.transforms.errors import no_id, raw_record
from roles_assets.transforms.validate import Cache, no_cache
from roles_assets.transforms.variant import positive_id, shown

ROLE_KEY = ["sync_day", "role_id"]  # a role of one day: the two sides meet on it


@dataclass(frozen=True)
class Assignments:
    pairs: DataFrame  # sync_day, agent_id, role_id, updated_at: unique pairs per day
    errors: DataFrame  # ERROR_COLUMNS


def assignments(
    roles: DataFrame, role_agent_ids: DataFrame, agents: DataFrame, cache: Cache = no_cache
) -> Assignments:
    """Valid roles, their ``agent_ids`` and valid agent files -> the day's pairs and error rows.

    A bad ``agent_ids`` entry is a MISSING_AGENT_ID or INVALID_AGENT_ID row (its field is
    ``agent_ids``) and the rest of the role's list still counts. An agent assigned to a role id
    that is not a valid role that day is an UNKNOWN_ROLE row. The roles' checked lists go
    through ``cache``: the pairs and the errors both read them.
    """
    checked = cache(_checked_lists(role_agent_ids))
    agent_pairs = agents.select(
        "sync_day",
        "agent_id",
        "updated_at",
        "record",
        "source_file",
        F.explode("role_ids").alias("role_id"),
    )
    known_roles = roles.select(*ROLE_KEY)
    pairs = _merged_pairs(checked, _named_by_agents(agent_pairs, known_roles))
    errors = _bad_entry_errors(checked, role_agent_ids).unionByName(
        _unknown_role_errors(agent_pairs, known_roles)
    )
    return Assignments(pairs, errors)


def _checked_lists(role_agent_ids: DataFrame) -> DataFrame:
    """Each role's list split into its distinct agent ids and its entries that are not ids."""
    ids = F.expr(f"coalesce(transform(agent_ids, entry -> {positive_id('entry')}), array())")
    return role_agent_ids.select(*ROLE_KEY, "updated_at", "agent_ids", ids.alias("ids")).select(
        *ROLE_KEY,
        "updated_at",
        F.expr("array_distinct(filter(ids, id -> id IS NOT NULL))").alias("agent_ids"),
        F.expr("filter(agent_ids, (entry, i) -> ids[i] IS NULL)").alias("bad_entries"),
    )


def _bad_entry_errors(checked: DataFrame, role_agent_ids: DataFrame) -> DataFrame:
    # Bad entries are few: they fetch their role's record by a broadcast join, not a shuffle.
    bad_entries = checked.where(F.size("bad_entries") > 0).select(
        *ROLE_KEY, F.explode("bad_entries").alias("bad_entry")
    )
    return (
        F.broadcast(bad_entries)
        .join(role_agent_ids.select(*ROLE_KEY, "record", "source_file"), ROLE_KEY)
        .select(
            *ROLE_KEY,
            no_id().alias("agent_id"),
            F.when(F.expr("is_variant_null(bad_entry)"), F.lit(ErrorType.MISSING_AGENT_ID))
            .otherwise(F.lit(ErrorType.INVALID_AGENT_ID))
            .alias("error_type"),
            F.lit("agent_ids").alias("field"),
            F.format_string(
                "agent_ids of role %d holds %s, not an agent id",
                "role_id",
                F.expr(shown("bad_entry")),
            ).alias("error_message"),
            raw_record(),
            "source_file",
        )
    )


def _unknown_role_errors(agent_pairs: DataFrame, known_roles: DataFrame) -> DataFrame:
    return agent_pairs.join(known_roles, ROLE_KEY, "left_anti").select(
        *ROLE_KEY,
        "agent_id",
        F.lit(ErrorType.UNKNOWN_ROLE).alias("error_type"),
        F.lit("role_ids").alias("field"),
        F.format_string(
            "agent %d is assigned to role %d, which is not a valid role this day",
            "agent_id",
            "role_id",
        ).alias("error_message"),
        raw_record(),
        "source_file",
    )


def _named_by_agents(agent_pairs: DataFrame, known_roles: DataFrame) -> DataFrame:
    """Per valid role, a map of the agents whose files name it to their latest ``updated_at``."""
    return (
        agent_pairs.join(known_roles, ROLE_KEY, "left_semi")
        .groupBy(*ROLE_KEY, "agent_id")
        .agg(F.max("updated_at").alias("updated_at"))
        .groupBy(*ROLE_KEY)
        .agg(
            F.map_from_entries(F.collect_list(F.struct("agent_id", "updated_at"))).alias(
                "by_agents"
            )
        )
    )


def _merged_pairs(checked: DataFrame, named_by_agents: DataFrame) -> DataFrame:
    """The union of both sides, per role: a role no agent file names keeps its own list at its
    own updated_at; otherwise both sides merge by agent id, each pair taking the later
    updated_at (map_zip_with hashes the keys: a role with many agents on both sides costs linear
    time, where a map lookup per agent would scan the map each time)."""
    both_sides = F.expr(
        "CASE WHEN by_agents IS NULL"
        " THEN transform(agent_ids, agent_id ->"
        "  named_struct('agent_id', agent_id, 'updated_at', updated_at))"
        " ELSE transform("
        "  map_entries(map_zip_with("
        "   map_from_arrays(agent_ids, array_repeat(updated_at, size(agent_ids))),"
        "   by_agents,"
        "   (agent_id, by_role, by_agent) -> greatest(by_role, by_agent))),"
        "  pair -> named_struct('agent_id', pair.key, 'updated_at', pair.value))"
        " END"
    )
    return (
        checked.join(named_by_agents, ROLE_KEY, "left")
        .select(*ROLE_KEY, F.inline(both_sides))
        .select("sync_day", "agent_id", "role_id", "updated_at")
    )
