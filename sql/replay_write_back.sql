-- Replay: the folded copies (replay_start.sql) take names of their own, which bares the final
-- tables again. These then get only the rows that differ from the copies, so a replay that
-- changes nothing writes nothing and the day's checks read what it did change.
DROP TABLE pg_temp.incoming_roles;  -- the last day's; upsert_roles.sql writes the copy next
ALTER TABLE pg_temp.roles RENAME TO incoming_roles;
ALTER TABLE pg_temp.agent_role_mapping RENAME TO expected_mapping;
ALTER TABLE pg_temp.role_history RENAME TO expected_role_history;
ALTER TABLE pg_temp.agent_role_history RENAME TO expected_history;

DELETE FROM roles r
WHERE NOT EXISTS (SELECT 1 FROM incoming_roles e WHERE e.role_id = r.role_id);

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

-- A history row that differs is deleted, then inserted as it should be, so the one-current-row
-- indexes never see two at once. The copies have the tables' columns (LIKE), so whole rows
-- compare, and a column added later is compared too.
DELETE FROM role_history h
WHERE NOT EXISTS (
    SELECT 1 FROM expected_role_history e
    WHERE e.role_id = h.role_id AND e.from_day = h.from_day
      AND ROW(e.*) IS NOT DISTINCT FROM ROW(h.*)
);

INSERT INTO role_history
SELECT * FROM expected_role_history e
WHERE NOT EXISTS (
    SELECT 1 FROM role_history h WHERE h.role_id = e.role_id AND h.from_day = e.from_day
);

DELETE FROM agent_role_history h
WHERE NOT EXISTS (
    SELECT 1 FROM expected_history e
    WHERE e.agent_id = h.agent_id AND e.role_id = h.role_id AND e.assigned_day = h.assigned_day
      AND ROW(e.*) IS NOT DISTINCT FROM ROW(h.*)
);

INSERT INTO agent_role_history
SELECT * FROM expected_history e
WHERE NOT EXISTS (
    SELECT 1 FROM agent_role_history h
    WHERE h.agent_id = e.agent_id AND h.role_id = e.role_id AND h.assigned_day = e.assigned_day
);
