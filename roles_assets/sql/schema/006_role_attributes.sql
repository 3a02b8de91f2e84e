-- A role absent from a complete day's snapshot is deleted in Freshdesk: it stays in roles with
-- the day's sync time here (NULL while it exists), and its current role_history version closes.
ALTER TABLE roles ADD COLUMN deleted_at TIMESTAMP;

-- Malformed optional values of the roles a day staged (stored NULL in stg_roles, with an
-- INVALID_VALUE row naming the field). Both apply paths keep each field's last good value
-- instead: bad data never overwrites good data.
CREATE VIEW malformed_role_values AS
SELECT DISTINCT sync_day, role_id, field
FROM role_pipeline_errors
WHERE error_type = 'INVALID_VALUE' AND role_id IS NOT NULL
  AND field IN ('description', 'default', 'agent_type', 'created_at', 'updated_at');
