-- Incremental: assigned pairs the newest day no longer asserts become removed, unless bad data
-- could explain their absence: the day is incomplete (a MALFORMED_JSON file), the role had a
-- rejected record that day, or the agent had a rejected agent file that day.
UPDATE agent_role_mapping m
SET status = 'removed',
    removed_at = d.synced_at
FROM sync_days d
WHERE d.sync_day = %(sync_day)s
  AND m.status = 'assigned'
  AND NOT EXISTS (
      SELECT 1 FROM role_pipeline_errors e
      WHERE e.sync_day = d.sync_day AND e.error_type = 'MALFORMED_JSON'
  )
  AND NOT EXISTS (
      SELECT 1 FROM stg_agent_roles s
      WHERE s.sync_day = d.sync_day AND s.agent_id = m.agent_id AND s.role_id = m.role_id
  )
  AND NOT EXISTS (
      SELECT 1 FROM role_pipeline_errors e
      WHERE e.sync_day = d.sync_day AND e.role_id = m.role_id
        AND e.error_type IN ('MISSING_NAME', 'DUPLICATE_ROLE')
  )
  AND NOT EXISTS (
      SELECT 1 FROM role_pipeline_errors e
      WHERE e.sync_day = d.sync_day AND e.agent_id = m.agent_id
        AND e.error_type = 'INVALID_ROLE_IDS'
  );
