-- Rebuild: each role takes its values from the latest applied day in which it was valid.
-- Used when a day arrives out of order or is re-run; only rows that differ are written.
CREATE TEMP TABLE expected_roles ON COMMIT DROP AS
SELECT DISTINCT ON (s.role_id)
       s.role_id, s.name, s.description, s.is_default, s.agent_type, s.created_at, s.updated_at
FROM stg_roles s
JOIN sync_days d ON d.sync_day = s.sync_day AND d.applied
ORDER BY s.role_id, d.day_order DESC;

DELETE FROM roles r
WHERE NOT EXISTS (SELECT 1 FROM expected_roles e WHERE e.role_id = r.role_id);

INSERT INTO roles AS r (role_id, name, description, is_default, agent_type, created_at, updated_at)
SELECT role_id, name, description, is_default, agent_type, created_at, updated_at
FROM expected_roles
ON CONFLICT (role_id) DO UPDATE
SET name = EXCLUDED.name,
    description = EXCLUDED.description,
    is_default = EXCLUDED.is_default,
    agent_type = EXCLUDED.agent_type,
    created_at = EXCLUDED.created_at,
    updated_at = EXCLUDED.updated_at
WHERE (r.name, r.description, r.is_default, r.agent_type, r.created_at, r.updated_at)
    IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.description, EXCLUDED.is_default, EXCLUDED.agent_type,
       EXCLUDED.created_at, EXCLUDED.updated_at);
