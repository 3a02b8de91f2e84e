-- The pairs assigned and the roles not deleted before a rebuild, to measure how many it takes
-- away (count_lost_since_snapshot.sql) against the mass-removal limit.
CREATE TEMP TABLE assigned_before ON COMMIT DROP AS
SELECT agent_id, role_id FROM agent_role_mapping WHERE status = 'assigned';

CREATE TEMP TABLE live_roles_before ON COMMIT DROP AS
SELECT role_id FROM roles WHERE deleted_at IS NULL;
