-- Incremental: assigned pairs the newest day no longer asserts become removed, unless bad data
-- could explain their absence: the day is incomplete, or the pair's role or agent is protected
-- that day (see the functions in schema/002_exemptions_of_one_load.sql).
-- The day (its load) is a constant throughout, not a join column: the planner then evaluates the
-- day-wide condition once and anti-joins whole tables instead of probing per mapping row.
-- The removed pairs are kept for apply_day_close_intervals.sql, which then touches only them.
ANALYZE agent_role_mapping;  -- the inserts above may have grown it many times over

DROP TABLE IF EXISTS pg_temp.removed_pairs;  -- a replay's previous day's
CREATE TEMP TABLE removed_pairs ON COMMIT DROP AS
WITH removed AS (
UPDATE agent_role_mapping m
SET status = 'removed',
    removed_at = %(synced_at)s
WHERE m.status = 'assigned'
  AND NOT EXISTS (SELECT 1 FROM unreadable_files(%(role_pipeline_errors_load)s))
  AND NOT EXISTS (
      SELECT 1 FROM stg_agent_roles s
      WHERE s.load_id = %(stg_agent_roles_load)s
        AND s.agent_id = m.agent_id AND s.role_id = m.role_id
  )
  AND NOT EXISTS (
      SELECT 1 FROM protected_roles(%(role_pipeline_errors_load)s) p WHERE p.role_id = m.role_id
  )
  AND NOT EXISTS (
      SELECT 1 FROM protected_agents(%(role_pipeline_errors_load)s) p
      WHERE p.agent_id = m.agent_id
  )
RETURNING m.agent_id, m.role_id
)
SELECT agent_id, role_id FROM removed;
