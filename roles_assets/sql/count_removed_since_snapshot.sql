SELECT count(*)
FROM assigned_before b
WHERE NOT EXISTS (
    SELECT 1 FROM agent_role_mapping m
    WHERE m.agent_id = b.agent_id AND m.role_id = b.role_id AND m.status = 'assigned'
);
