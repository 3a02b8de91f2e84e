-- Incremental: the pairs apply_day_removals.sql has just removed close their open interval at
-- the day's sync time. Read from the mapping, so the removal rule is stated once.
ANALYZE agent_role_history;  -- the day may have opened many intervals

UPDATE agent_role_history h
SET removed_day = %(sync_day)s,
    removed_at = %(synced_at)s
FROM agent_role_mapping m
WHERE h.removed_day IS NULL
  AND m.agent_id = h.agent_id AND m.role_id = h.role_id
  AND m.status = 'removed';
