-- Incremental: removed pairs the newest day asserts again are re-assigned at its sync time.
-- (apply_day_assignments.sql then inserts the pairs never seen before.)
UPDATE agent_role_mapping m
SET status = 'assigned',
    assigned_at = %(synced_at)s,
    removed_at = NULL
FROM stg_agent_roles s
WHERE s.load_id = %(stg_agent_roles_load)s
  AND m.agent_id = s.agent_id AND m.role_id = s.role_id
  AND m.status = 'removed';
