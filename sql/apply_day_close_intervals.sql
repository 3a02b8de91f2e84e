-- Incremental: the pairs apply_day_removals.sql has just removed (removed_pairs) close their open
-- interval at the day's sync time. Taken from that step, so the removal rule is stated once and
-- a day's cost follows its removals, not the size of the history.
ANALYZE removed_pairs;  -- a temporary table has no statistics: without them, the planner may scan

UPDATE agent_role_history h
SET removed_day = %(sync_day)s,
    removed_at = %(synced_at)s
FROM removed_pairs r
WHERE h.agent_id = r.agent_id AND h.role_id = r.role_id AND h.removed_day IS NULL;
