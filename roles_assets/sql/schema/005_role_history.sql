-- Role history: every assignment interval of every pair, and every version of every role's
-- attributes. Like the other final tables, both are a function of the set of applied days: each
-- row is keyed by the sync day that opened it, and carries sync times only (no serial ids, no
-- clock), so loading the same days in any order gives the same rows.
CREATE TABLE agent_role_history (
    agent_id      BIGINT NOT NULL,
    role_id       BIGINT NOT NULL,
    assigned_day  TEXT NOT NULL,
    assigned_at   TIMESTAMP NOT NULL,
    removed_day   TEXT,       -- NULL while the interval is open
    removed_at    TIMESTAMP,
    PRIMARY KEY (agent_id, role_id, assigned_day)
);
-- One open interval per pair; the incremental steps look open intervals up by pair.
CREATE UNIQUE INDEX agent_role_history_open ON agent_role_history (agent_id, role_id)
    WHERE removed_day IS NULL;

CREATE TABLE role_history (
    role_id      BIGINT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    is_default   BOOLEAN,
    agent_type   INT,
    created_at   TIMESTAMP,
    updated_at   TIMESTAMP,
    from_day     TEXT NOT NULL,
    valid_from   TIMESTAMP NOT NULL,
    to_day       TEXT,        -- NULL for the current version
    valid_to     TIMESTAMP,
    PRIMARY KEY (role_id, from_day)
);
CREATE UNIQUE INDEX role_history_current ON role_history (role_id) WHERE to_day IS NULL;

-- Days applied before this step have no history yet: the next apply replays them all
-- (register_day.sql asks for a replay while a row is here; the replay deletes it).
CREATE TABLE pending_replays (reason TEXT PRIMARY KEY);
INSERT INTO pending_replays (reason)
SELECT 'role history is new' WHERE EXISTS (SELECT 1 FROM sync_days WHERE applied);

-- Who held which role at a time: the holders after the last applied day (in the days' natural
-- order) whose sync time is at or before ts. Sync times come from the landed data and need not
-- rise with the days' order, so intervals are bounded by days, not compared as timestamps.
CREATE FUNCTION role_holders_at(ts TIMESTAMP)
RETURNS TABLE (agent_id BIGINT, role_id BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT h.agent_id, h.role_id
    FROM agent_role_history h
    JOIN sync_days opened ON opened.sync_day = h.assigned_day
    LEFT JOIN sync_days closed ON closed.sync_day = h.removed_day
    CROSS JOIN (
        SELECT max(day_order) AS day_order FROM sync_days WHERE applied AND synced_at <= ts
    ) as_of
    WHERE opened.day_order <= as_of.day_order
      AND (closed.day_order IS NULL OR closed.day_order > as_of.day_order)
$$;
