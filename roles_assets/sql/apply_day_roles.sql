-- Incremental: the newest day's valid roles overwrite their previous values (upsert_roles.sql).
CREATE TEMP TABLE incoming_roles ON COMMIT DROP AS
SELECT role_id, name, description, is_default, agent_type, created_at, updated_at
FROM stg_roles
WHERE sync_day = %(sync_day)s;
