-- The warehouse's schema. Later steps, if any, are numbered after this one and applied in order
-- (resources/postgres.py, migrate).

-- Days known to the final tables. day_order sorts naturally under plain byte order
-- (roles_assets.partitions.day_order); synced_at comes from the landed data, never a clock.
CREATE TABLE sync_days (
    sync_day   TEXT PRIMARY KEY,
    day_order  TEXT COLLATE "C" NOT NULL UNIQUE,
    synced_at  TIMESTAMP NOT NULL,
    applied    BOOLEAN NOT NULL DEFAULT FALSE  -- the final tables include this day
);

-- Staging: each staging write of a day's table is a load, a list partition never changed once
-- attached. Per day and table, one load is staged (the newest) and one applied (the final tables
-- were built from it); see warehouse/staging.py.
CREATE SEQUENCE staging_load_ids;
CREATE TABLE staging_loads (
    load_id        BIGINT PRIMARY KEY,
    staging_table  TEXT NOT NULL,
    sync_day       TEXT NOT NULL,
    staged         BOOLEAN NOT NULL,
    applied        BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX staging_loads_staged ON staging_loads (staging_table, sync_day) WHERE staged;

CREATE TABLE stg_roles (
    role_id      BIGINT NOT NULL,
    name         TEXT,
    description  TEXT,
    is_default   BOOLEAN,
    agent_type   INT,
    created_at   TIMESTAMP,
    updated_at   TIMESTAMP,
    sync_day     TEXT NOT NULL,
    source       TEXT,
    ingested_at  TIMESTAMP,
    load_id      BIGINT NOT NULL
) PARTITION BY LIST (load_id);

CREATE TABLE stg_agent_roles (
    agent_id    BIGINT NOT NULL,
    role_id     BIGINT NOT NULL,
    status      TEXT,
    updated_at  TIMESTAMP,
    sync_day    TEXT NOT NULL,
    load_id     BIGINT NOT NULL
) PARTITION BY LIST (load_id);

-- field: the record's field an error row is about, so the removal rule can tell a damaged
-- agent_ids list (an INVALID_VALUE on agent_ids, or a bad entry in it) from a bad description.
CREATE TABLE role_pipeline_errors (
    id             SERIAL,
    sync_day       TEXT NOT NULL,
    role_id        BIGINT,
    agent_id       BIGINT,
    error_type     TEXT NOT NULL,
    error_message  TEXT NOT NULL,
    raw_record     JSONB,
    source_file    TEXT,
    created_at     TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    field          TEXT,
    load_id        BIGINT NOT NULL
) PARTITION BY LIST (load_id);

-- Staging keys enforced by PostgreSQL: each load is indexed on its key when it is attached (the
-- apply steps' "does the day still assert this pair?" lookups need that index anyway), so a
-- unique index costs no more, and the blocking key checks pass on it instead of scanning
-- millions of rows. A load whose rows break a key fails its staging write, and the day keeps its
-- staged load. Created on the parents, so every load gets them when attached.
CREATE UNIQUE INDEX stg_roles_key ON stg_roles (role_id, load_id);
CREATE UNIQUE INDEX stg_agent_roles_key ON stg_agent_roles (agent_id, role_id, load_id);
-- "Was this role or agent rejected that day?"
CREATE INDEX role_pipeline_errors_type ON role_pipeline_errors (sync_day, error_type);

-- Final tables. Only keys: the asset checks verify the rest and can say what is wrong.
-- A role absent from a complete day's snapshot is deleted in Freshdesk: it stays, with that
-- day's sync time in deleted_at (NULL while it exists).
CREATE TABLE roles (
    role_id      BIGINT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT,
    is_default   BOOLEAN,
    agent_type   INT,
    created_at   TIMESTAMP,
    updated_at   TIMESTAMP,
    deleted_at   TIMESTAMP
);

CREATE TABLE agent_role_mapping (
    agent_id     BIGINT NOT NULL,
    role_id      BIGINT NOT NULL,
    status       TEXT NOT NULL,
    assigned_at  TIMESTAMP,
    removed_at   TIMESTAMP,
    PRIMARY KEY (agent_id, role_id)
);

-- The error rows the final tables are built from (applied loads): what the views below read.
CREATE VIEW applied_errors AS
SELECT e.* FROM role_pipeline_errors e JOIN staging_loads l USING (load_id) WHERE l.applied;

-- The removal and deletion rules' exemptions, written once for both apply paths
-- (apply_day_removals.sql, apply_day_deletions.sql and replay_days.sql). On a complete day, an
-- assigned pair the day does not assert is removed unless its role or its agent is protected
-- that day, and a role the day does not stage is deleted unless it is protected:
-- - a role with a rejected record (MISSING_NAME, DUPLICATE_ROLE) or a damaged agent_ids list
--   (not a list, or an entry that is not an id: its readable entries still assign);
-- - an agent whose file was rejected for its role_ids (INVALID_ROLE_IDS).
CREATE VIEW protected_roles AS
SELECT sync_day, role_id
FROM applied_errors
WHERE role_id IS NOT NULL
  AND (error_type IN ('MISSING_NAME', 'DUPLICATE_ROLE') OR field = 'agent_ids');

CREATE VIEW protected_agents AS
SELECT sync_day, agent_id
FROM applied_errors
WHERE agent_id IS NOT NULL AND error_type = 'INVALID_ROLE_IDS';

-- Days with an unreadable file: they remove and delete nothing. (A row per error: callers ask
-- EXISTS.)
CREATE VIEW incomplete_days AS
SELECT sync_day FROM applied_errors WHERE error_type = 'MALFORMED_JSON';

-- Malformed optional values of the roles a day staged (stored NULL in stg_roles, with an
-- INVALID_VALUE row naming the field). Both apply paths keep each field's last good value
-- instead: bad data never overwrites good data.
CREATE VIEW malformed_role_values AS
SELECT DISTINCT sync_day, role_id, field
FROM applied_errors
WHERE error_type = 'INVALID_VALUE' AND role_id IS NOT NULL
  AND field IN ('description', 'default', 'agent_type', 'created_at', 'updated_at');

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
    to_day       TEXT,        -- NULL for the current version (none while the role is deleted)
    valid_to     TIMESTAMP,
    PRIMARY KEY (role_id, from_day)
);
CREATE UNIQUE INDEX role_history_current ON role_history (role_id) WHERE to_day IS NULL;

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
