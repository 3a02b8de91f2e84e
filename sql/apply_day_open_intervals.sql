-- Incremental: each pair the newest day asserts without an open interval (never assigned, or
-- removed since) opens one at the day's sync time.
INSERT INTO agent_role_history (agent_id, role_id, assigned_day, assigned_at)
SELECT s.agent_id, s.role_id, %(sync_day)s, %(synced_at)s
FROM stg_agent_roles s
WHERE s.load_id = %(stg_agent_roles_load)s
  AND NOT EXISTS (
      SELECT 1 FROM agent_role_history h
      WHERE h.agent_id = s.agent_id AND h.role_id = s.role_id AND h.removed_day IS NULL
  );
