-- Incremental: the newest day's valid roles overwrite their previous values (upsert_roles.sql),
-- except a malformed field (malformed_role_values), which keeps the role's last good value: the
-- one in roles, since roles holds each field as the latest applied day left it. A role the day
-- stages exists: its deleted_at is cleared.
DROP TABLE IF EXISTS pg_temp.incoming_roles;  -- a replay's previous day's
CREATE TEMP TABLE incoming_roles ON COMMIT DROP AS
WITH malformed AS (
    SELECT role_id, array_agg(field) AS fields
    FROM malformed_role_values(%(role_pipeline_errors_load)s)
    GROUP BY role_id
)
SELECT s.role_id, s.name,
       CASE WHEN 'description' = ANY (m.fields) THEN r.description ELSE s.description END
           AS description,
       CASE WHEN 'default' = ANY (m.fields) THEN r.is_default ELSE s.is_default END AS is_default,
       CASE WHEN 'agent_type' = ANY (m.fields) THEN r.agent_type ELSE s.agent_type END
           AS agent_type,
       CASE WHEN 'created_at' = ANY (m.fields) THEN r.created_at ELSE s.created_at END
           AS created_at,
       CASE WHEN 'updated_at' = ANY (m.fields) THEN r.updated_at ELSE s.updated_at END
           AS updated_at,
       NULL::timestamp AS deleted_at
FROM stg_roles s
LEFT JOIN malformed m ON m.role_id = s.role_id
LEFT JOIN roles r ON r.role_id = s.role_id
WHERE s.load_id = %(stg_roles_load)s;
