-- Mapping rows whose status and timestamps disagree: removed_at must be set exactly on removed
-- rows, and every row has an assigned_at. With a sync day, only the pairs its apply wrote
-- (pairs_to_check); with NULL, every pair.
WITH bad AS (
    SELECT m.agent_id, m.role_id, m.status
    FROM pairs_to_check(%(sync_day)s) c
    JOIN agent_role_mapping m ON m.agent_id = c.agent_id AND m.role_id = c.role_id
    WHERE NOT (
        (status = 'assigned' AND removed_at IS NULL AND assigned_at IS NOT NULL)
        OR (status = 'removed' AND removed_at IS NOT NULL AND assigned_at IS NOT NULL)
    )
)
SELECT (SELECT count(*) FROM bad),
       (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, role_id, status)), '[]')
        FROM (SELECT * FROM bad ORDER BY agent_id, role_id LIMIT %(sample_rows)s) sample);
