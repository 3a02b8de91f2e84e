-- Mapping rows whose status and timestamps disagree: removed_at must be set exactly on removed
-- rows, and every row has an assigned_at.
WITH bad AS (
    SELECT agent_id, role_id, status
    FROM agent_role_mapping
    WHERE NOT (
        (status = 'assigned' AND removed_at IS NULL AND assigned_at IS NOT NULL)
        OR (status = 'removed' AND removed_at IS NOT NULL AND assigned_at IS NOT NULL)
    )
)
SELECT (SELECT count(*) FROM bad),
       (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, role_id, status)), '[]')
        FROM (SELECT * FROM bad ORDER BY agent_id, role_id LIMIT %(sample_rows)s) sample);
