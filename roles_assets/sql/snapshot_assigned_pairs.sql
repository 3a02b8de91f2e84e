-- The pairs assigned before a rebuild, to measure how many the rebuild removes.
CREATE TEMP TABLE assigned_before ON COMMIT DROP AS
SELECT agent_id, role_id FROM agent_role_mapping WHERE status = 'assigned';
