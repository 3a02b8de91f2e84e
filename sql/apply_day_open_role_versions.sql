-- Incremental: each role the newest day stages without a current version (new, back after a
-- deletion, or its version just closed) opens one; a role repeated unchanged keeps its version.
INSERT INTO role_history (role_id, name, description, is_default, agent_type, created_at,
                          updated_at, from_day, valid_from)
SELECT i.role_id, i.name, i.description, i.is_default, i.agent_type, i.created_at,
       i.updated_at, %(sync_day)s, %(synced_at)s
FROM incoming_roles i
WHERE NOT EXISTS (SELECT 1 FROM role_history h WHERE h.role_id = i.role_id AND h.to_day IS NULL);
