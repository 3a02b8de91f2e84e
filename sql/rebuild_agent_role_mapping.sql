-- Rebuild: replays the removal rule over every applied day, in natural order, as one set-based
-- computation. The result equals applying the days one by one in that order, which is what the
-- incremental steps (apply_day_*.sql) do when days arrive in order.
--
-- Per pair, each day is an assertion (the pair is staged), a removal (the day is complete and
-- neither the role nor the agent is protected that day: schema/001_initial.sql), or
-- neutral. The pair ends
-- removed if a removal follows its last assertion; it was last assigned at the first assertion
-- after the latest removal that took effect.

CREATE TEMP TABLE replay_assertions ON COMMIT DROP AS
SELECT s.agent_id, s.role_id, rd.n,
       lead(rd.n) OVER (PARTITION BY s.agent_id, s.role_id ORDER BY rd.n) AS next_n
FROM stg_agent_roles s
JOIN replay_loads rd ON rd.load_id = s.load_id;

-- For each assertion, the first day before the pair's next assertion that removes it.
CREATE TEMP TABLE replay_runs ON COMMIT DROP AS
SELECT a.agent_id, a.role_id, a.n, a.next_n, removal.n AS removal_n
FROM replay_assertions a
JOIN replay_day_counts here ON here.n = a.n
LEFT JOIN replay_day_counts upto ON upto.n = a.next_n - 1
CROSS JOIN LATERAL (
    SELECT min(e.n) AS n
    FROM replay_day_counts e
    WHERE coalesce(upto.complete_upto, (SELECT count(*) FROM replay_days WHERE is_complete))
          > here.complete_upto
      AND e.n > a.n
      AND (a.next_n IS NULL OR e.n < a.next_n)
      AND e.is_complete
      AND NOT EXISTS (SELECT 1 FROM replay_protected_roles b WHERE b.n = e.n AND b.role_id = a.role_id)
      AND NOT EXISTS (SELECT 1 FROM replay_protected_agents b WHERE b.n = e.n AND b.agent_id = a.agent_id)
) removal;

-- Each assignment interval of each pair: a run of assertions that no removal interrupts, from
-- its first assertion to the removal that ends its last run (NULL while it lasts).
-- rebuild_agent_role_history.sql writes them all; the mapping keeps each pair's latest.
CREATE TEMP TABLE replay_intervals ON COMMIT DROP AS
WITH runs AS (
    SELECT r.*,
           lag(r.n) OVER w IS NULL OR lag(r.removal_n) OVER w IS NOT NULL AS starts_assignment
    FROM replay_runs r
    WINDOW w AS (PARTITION BY r.agent_id, r.role_id ORDER BY r.n)
), numbered AS (
    SELECT runs.*,
           count(*) FILTER (WHERE starts_assignment)
               OVER (PARTITION BY agent_id, role_id ORDER BY n) AS interval_no
    FROM runs
)
SELECT agent_id, role_id, min(n) AS assigned_n, max(removal_n) AS removed_n,
       interval_no = max(interval_no) OVER (PARTITION BY agent_id, role_id) AS is_latest
FROM numbered
GROUP BY agent_id, role_id, interval_no;

CREATE TEMP TABLE expected_mapping ON COMMIT DROP AS
SELECT i.agent_id, i.role_id,
       CASE WHEN i.removed_n IS NULL THEN 'assigned' ELSE 'removed' END AS status,
       assigned.synced_at AS assigned_at,
       removed.synced_at AS removed_at
FROM replay_intervals i
JOIN replay_days assigned ON assigned.n = i.assigned_n
LEFT JOIN replay_days removed ON removed.n = i.removed_n
WHERE i.is_latest;

DELETE FROM agent_role_mapping m
WHERE NOT EXISTS (
    SELECT 1 FROM expected_mapping e WHERE e.agent_id = m.agent_id AND e.role_id = m.role_id
);

INSERT INTO agent_role_mapping AS m (agent_id, role_id, status, assigned_at, removed_at)
SELECT agent_id, role_id, status, assigned_at, removed_at
FROM expected_mapping
ON CONFLICT (agent_id, role_id) DO UPDATE
SET status = EXCLUDED.status,
    assigned_at = EXCLUDED.assigned_at,
    removed_at = EXCLUDED.removed_at
WHERE (m.status, m.assigned_at, m.removed_at)
    IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.assigned_at, EXCLUDED.removed_at);
