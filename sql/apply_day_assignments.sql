-- Incremental: pairs the newest day asserts for the first time are inserted, assigned at its
-- sync time; known pairs are skipped (anti-join). A plain INSERT, not an upsert: the apply lock
-- rules out concurrent writers, and ON CONFLICT's speculative insertion costs twice the time
-- of the insert itself on a million new pairs.
INSERT INTO agent_role_mapping (agent_id, role_id, status, assigned_at, removed_at)
SELECT s.agent_id, s.role_id, 'assigned', %(synced_at)s, NULL
FROM stg_agent_roles s
WHERE s.load_id = %(stg_agent_roles_load)s
  AND NOT EXISTS (
      SELECT 1 FROM agent_role_mapping known
      WHERE known.agent_id = s.agent_id AND known.role_id = s.role_id
  );
