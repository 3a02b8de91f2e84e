-- Writes incoming_roles (made by apply_day_roles.sql, or a replay's copy of roles) into roles.
-- Unchanged roles are skipped, so a quiet day writes almost nothing.
INSERT INTO roles AS r (role_id, name, description, is_default, agent_type, created_at, updated_at,
                        deleted_at)
SELECT role_id, name, description, is_default, agent_type, created_at, updated_at, deleted_at
FROM incoming_roles
ON CONFLICT (role_id) DO UPDATE
SET name = EXCLUDED.name,
    description = EXCLUDED.description,
    is_default = EXCLUDED.is_default,
    agent_type = EXCLUDED.agent_type,
    created_at = EXCLUDED.created_at,
    updated_at = EXCLUDED.updated_at,
    deleted_at = EXCLUDED.deleted_at
WHERE (r.name, r.description, r.is_default, r.agent_type, r.created_at, r.updated_at,
       r.deleted_at)
    IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.description, EXCLUDED.is_default, EXCLUDED.agent_type,
       EXCLUDED.created_at, EXCLUDED.updated_at, EXCLUDED.deleted_at);
