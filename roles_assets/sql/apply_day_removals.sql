-- Incremental: assigned pairs the newest day no longer asserts become removed, unless bad data
-- could explain their absence: the day is incomplete (a MALFORMED_JSON file), the role had a
-- rejected record that day, or the agent had a rejected agent file that day.
-- The day is a constant throughout, not a join column: the planner then evaluates the
-- day-wide condition once and anti-joins whole tables instead of probing per mapping row.
ANALYZE agent_role_mapping;  -- the inserts above may have grown it many times over

UPDATE agent_role_mapping m
SET status = 'removed',
    removed_at = %(synced_at)s
WHERE m.status = 'assigned'
  AND NOT EXISTS (
      SELECT 1 FROM role_pipeline_errors e
      WHERE e.sync_day = %(sync_day)s AND e.error_type = 'MALFORMED_JSON'
  )
  AND NOT EXISTS (
      SELECT 1 FROM stg_agent_roles s
      WHERE s.sync_day = %(sync_day)s AND s.agent_id = m.agent_id AND s.role_id = m.role_id
  )
  AND NOT EXISTS (
      SELECT 1 FROM role_pipeline_errors e
      WHERE e.sync_day = %(sync_day)s AND e.role_id = m.role_id
        AND e.error_type IN ('MISSING_NAME', 'DUPLICATE_ROLE')
  )
  AND NOT EXISTS (
      SELECT 1 FROM role_pipeline_errors e
      WHERE e.sync_day = %(sync_day)s AND e.agent_id = m.agent_id
        AND e.error_type = 'INVALID_ROLE_IDS'
  );
