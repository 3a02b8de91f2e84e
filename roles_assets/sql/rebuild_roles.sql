-- Rebuild: each role takes its values from the latest applied day in which it was valid.
-- Used when a day arrives out of order or is re-run; upsert_roles.sql then writes only the
-- rows that differ.
CREATE TEMP TABLE incoming_roles ON COMMIT DROP AS
SELECT DISTINCT ON (s.role_id)
       s.role_id, s.name, s.description, s.is_default, s.agent_type, s.created_at, s.updated_at
FROM stg_roles s
JOIN sync_days d ON d.sync_day = s.sync_day AND d.applied
ORDER BY s.role_id, d.day_order DESC;

DELETE FROM roles r
WHERE NOT EXISTS (SELECT 1 FROM incoming_roles e WHERE e.role_id = r.role_id);
