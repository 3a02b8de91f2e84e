-- Incremental: pairs the newest day asserts. New pairs are inserted and removed pairs are
-- re-assigned, both at the day's sync time; pairs already assigned are skipped (anti-join).
INSERT INTO agent_role_mapping AS m (agent_id, role_id, status, assigned_at, removed_at)
SELECT s.agent_id, s.role_id, 'assigned', d.synced_at, NULL
FROM stg_agent_roles s
JOIN sync_days d ON d.sync_day = s.sync_day
WHERE s.sync_day = %(sync_day)s
  AND NOT EXISTS (
      SELECT 1 FROM agent_role_mapping cur
      WHERE cur.agent_id = s.agent_id AND cur.role_id = s.role_id AND cur.status = 'assigned'
  )
ON CONFLICT (agent_id, role_id) DO UPDATE
SET status = 'assigned',
    assigned_at = EXCLUDED.assigned_at,
    removed_at = NULL;
