-- Pairs whose latest assignment interval does not say what agent_role_mapping says: an open
-- interval is an assigned pair since its start, a closed one a pair removed at its end, and
-- every mapped pair has an interval. With a sync day, only the pairs its apply wrote
-- (pairs_to_check); with NULL, every pair.
WITH latest AS (
    SELECT DISTINCT ON (h.agent_id, h.role_id)
           h.agent_id, h.role_id, h.assigned_at, h.removed_day, h.removed_at
    FROM pairs_to_check(%(sync_day)s) c
    JOIN agent_role_history h ON h.agent_id = c.agent_id AND h.role_id = c.role_id
    JOIN sync_days d ON d.sync_day = h.assigned_day
    ORDER BY h.agent_id, h.role_id, d.day_order DESC
), mapped AS (
    SELECT m.*
    FROM pairs_to_check(%(sync_day)s) c
    JOIN agent_role_mapping m ON m.agent_id = c.agent_id AND m.role_id = c.role_id
), bad AS (
    SELECT coalesce(m.agent_id, l.agent_id) AS agent_id,
           coalesce(m.role_id, l.role_id) AS role_id,
           m.status
    FROM mapped m
    FULL JOIN latest l ON l.agent_id = m.agent_id AND l.role_id = m.role_id
    WHERE (m.agent_id, m.status, m.assigned_at, m.removed_at)
          IS DISTINCT FROM
          (l.agent_id, CASE WHEN l.removed_day IS NULL THEN 'assigned' ELSE 'removed' END,
           l.assigned_at, l.removed_at)
)
SELECT (SELECT count(*) FROM bad),
       (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, role_id, status)), '[]')
        FROM (SELECT * FROM bad ORDER BY agent_id, role_id LIMIT %(sample_rows)s) sample);
