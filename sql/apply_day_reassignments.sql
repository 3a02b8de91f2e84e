-- Incremental: removed pairs the newest day asserts again are re-assigned at its sync time.
-- (apply_day_assignments.sql then inserts the pairs never seen before.)
UPDATE agent_role_mapping m
SET status = 'assigned',
    assigned_at = %(synced_at)s,
    removed_at = NULL
FROM stg_agent_roles s
WHERE s.sync_day = %(sync_day)s
  AND m.agent_id = s.agent_id AND m.role_id = s.role_id
  AND m.status = 'removed';
