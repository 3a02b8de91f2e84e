-- What the replay took away since replay_start.sql: assigned pairs no longer
-- assigned, and roles no longer there or now deleted.
SELECT
    (SELECT count(*)
     FROM assigned_before b
     WHERE NOT EXISTS (
         SELECT 1 FROM agent_role_mapping m
         WHERE m.agent_id = b.agent_id AND m.role_id = b.role_id AND m.status = 'assigned'
     )) AS removed,
    (SELECT count(*)
     FROM live_roles_before b
     WHERE NOT EXISTS (
         SELECT 1 FROM roles r WHERE r.role_id = b.role_id AND r.deleted_at IS NULL
     )) AS deleted;
