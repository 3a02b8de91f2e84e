-- The rules' exemptions (apply_day_removals.sql, apply_day_deletions.sql, apply_day_roles.sql) as
-- functions of the day's applied error load, replacing views over every applied day filtered by
-- sync_day. The planner inlines them, so each reads that load's partition alone; the views
-- planned over every day's partition, a cost each day's apply paid again as history grew.
-- On a complete day, an assigned pair the day does not assert is removed unless its role or its
-- agent is protected that day, and a role the day does not stage is deleted unless it is protected:
-- - a role with a rejected record (MISSING_NAME, DUPLICATE_ROLE) or a damaged agent_ids list
--   (not a list, or an entry that is not an id: its readable entries still assign);
-- - an agent whose file was rejected for its role_ids (INVALID_ROLE_IDS).
DROP VIEW malformed_role_values, incomplete_days, protected_agents, protected_roles,
    applied_errors;
-- Every reader of the errors now names a load, their partition key: the index by day served
-- only the views.
DROP INDEX role_pipeline_errors_type;

CREATE FUNCTION protected_roles(errors_load BIGINT)
RETURNS TABLE (role_id BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT e.role_id FROM role_pipeline_errors e
    WHERE e.load_id = errors_load AND e.role_id IS NOT NULL
      AND (e.error_type IN ('MISSING_NAME', 'DUPLICATE_ROLE') OR e.field = 'agent_ids')
$$;

CREATE FUNCTION protected_agents(errors_load BIGINT)
RETURNS TABLE (agent_id BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT e.agent_id FROM role_pipeline_errors e
    WHERE e.load_id = errors_load AND e.agent_id IS NOT NULL
      AND e.error_type = 'INVALID_ROLE_IDS'
$$;

-- The day's unreadable files (a row per MALFORMED_JSON error): a day with any is incomplete, and
-- removes and deletes nothing.
CREATE FUNCTION unreadable_files(errors_load BIGINT)
RETURNS TABLE (source_file TEXT)
LANGUAGE sql STABLE AS $$
    SELECT e.source_file FROM role_pipeline_errors e
    WHERE e.load_id = errors_load AND e.error_type = 'MALFORMED_JSON'
$$;

-- Malformed optional values of the roles the day staged (stored NULL in stg_roles, with an
-- INVALID_VALUE row naming the field). The apply keeps each field's last good value instead:
-- bad data never overwrites good data.
CREATE FUNCTION malformed_role_values(errors_load BIGINT)
RETURNS TABLE (role_id BIGINT, field TEXT)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT e.role_id, e.field FROM role_pipeline_errors e
    WHERE e.load_id = errors_load AND e.error_type = 'INVALID_VALUE' AND e.role_id IS NOT NULL
      AND e.field IN ('description', 'default', 'agent_type', 'created_at', 'updated_at')
$$;
