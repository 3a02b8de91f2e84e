"""Sync days' raw records -> the rows of their three staging tables."""

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from roles_assets.transforms.assignments import assignments
from roles_assets.transforms.errors import ERROR_COLUMNS
from roles_assets.transforms.validate import (
    ROLE_COLUMNS,
    Cache,
    file_errors,
    no_cache,
    validate_agents,
    validate_roles,
)


@dataclass(frozen=True)
class StagedDays:
    roles: DataFrame  # stg_roles columns, without ingested_at
    agent_roles: DataFrame  # stg_agent_roles columns
    errors: DataFrame  # role_pipeline_errors columns, without id and created_at


def stage_days(raw: DataFrame, cache: Cache = no_cache) -> StagedDays:
    """Raw records of one or more days (``RAW_SCHEMA``) -> the rows of their
    three staging tables, each day's as if staged alone; ``cache`` gets the intermediates they
    share."""
    roles = validate_roles(raw, cache)
    agents = validate_agents(raw)
    pairs = assignments(roles.roles, roles.agent_ids, agents.agents, cache)
    errors = (
        file_errors(raw)
        .unionByName(roles.errors)
        .unionByName(agents.errors)
        .unionByName(pairs.errors)
    )
    return StagedDays(
        roles=roles.roles.select(*ROLE_COLUMNS, "sync_day", "source"),
        agent_roles=pairs.pairs.select(
            "agent_id", "role_id", F.lit("assigned").alias("status"), "updated_at", "sync_day"
        ),
        errors=errors.select(*ERROR_COLUMNS),
    )
