-- Assignment intervals that overlap another interval of their pair, end before they start, or are
-- half closed (a removal day without a removal time, or the reverse). Intervals are ordered and
-- compared by their days' natural order: sync times need not rise with it. With a sync day, only
-- the pairs its apply wrote (pairs_to_check); with NULL, every pair.
WITH ordered AS (
    SELECT h.agent_id, h.role_id, h.assigned_day, h.removed_day, h.removed_at,
           opened.day_order AS opened, closed.day_order AS closed,
           lead(opened.day_order) OVER (
               PARTITION BY h.agent_id, h.role_id ORDER BY opened.day_order
           ) AS next_opened
    FROM pairs_to_check(%(sync_day)s) c
    JOIN agent_role_history h ON h.agent_id = c.agent_id AND h.role_id = c.role_id
    LEFT JOIN sync_days opened ON opened.sync_day = h.assigned_day
    LEFT JOIN sync_days closed ON closed.sync_day = h.removed_day
), bad AS (
    SELECT agent_id, role_id, assigned_day
    FROM ordered
    WHERE opened IS NULL
       OR (removed_day IS NULL) <> (removed_at IS NULL)
       OR (removed_day IS NOT NULL AND (closed IS NULL OR closed <= opened))
       OR (next_opened IS NOT NULL AND (closed IS NULL OR closed > next_opened))
)
SELECT (SELECT count(*) FROM bad),
       (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, role_id, assigned_day)), '[]')
        FROM (SELECT * FROM bad ORDER BY agent_id, role_id, assigned_day LIMIT %(sample_rows)s) sample);
