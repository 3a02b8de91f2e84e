-- Rebuild: every assignment interval the replay found (replay_intervals, made by
-- rebuild_agent_role_mapping.sql), with its days and their sync times. Only rows that differ
-- are written: a changed interval is deleted, then inserted as it should be, so a repeated load
-- writes nothing and the one-open-interval-per-pair index never sees two at once.
CREATE TEMP TABLE expected_history ON COMMIT DROP AS
SELECT i.agent_id, i.role_id,
       assigned.sync_day AS assigned_day, assigned.synced_at AS assigned_at,
       removed.sync_day AS removed_day, removed.synced_at AS removed_at
FROM replay_intervals i
JOIN replay_days assigned ON assigned.n = i.assigned_n
LEFT JOIN replay_days removed ON removed.n = i.removed_n;

DELETE FROM agent_role_history h
WHERE NOT EXISTS (
    SELECT 1 FROM expected_history e
    WHERE e.agent_id = h.agent_id AND e.role_id = h.role_id AND e.assigned_day = h.assigned_day
      AND (e.assigned_at, e.removed_day, e.removed_at)
          IS NOT DISTINCT FROM (h.assigned_at, h.removed_day, h.removed_at)
);

INSERT INTO agent_role_history (agent_id, role_id, assigned_day, assigned_at, removed_day, removed_at)
SELECT e.agent_id, e.role_id, e.assigned_day, e.assigned_at, e.removed_day, e.removed_at
FROM expected_history e
WHERE NOT EXISTS (
    SELECT 1 FROM agent_role_history h
    WHERE h.agent_id = e.agent_id AND h.role_id = e.role_id AND h.assigned_day = e.assigned_day
);
