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

-- The removal and deletion rules' exemptions (apply_day_removals.sql, apply_day_deletions.sql).
-- On a complete day, an assigned pair the day does not assert is removed unless its role or its
-- agent is protected that day, and a role the day does not stage is deleted unless it is protected:
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
-- INVALID_VALUE row naming the field). The apply keeps each field's last good value
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

-- A day's cost must not grow with history: its metadata reads counts kept up to date as rows are
-- written, and its history checks read only the keys its apply wrote.

-- Each final table's rows, and its current ones: roles not deleted, assigned mappings, open
-- intervals, current versions. Kept by track_final_rows below, in the writing transaction.
CREATE TABLE final_table_counts (
    table_name    TEXT PRIMARY KEY,
    row_count     BIGINT NOT NULL,
    current_rows  BIGINT NOT NULL
);

-- The keys each applied day wrote in the final tables (the rows an incremental apply changed,
-- or those a replay rewrote); a day applied again replaces its keys. The checks of a day read
-- these (pairs_to_check, roles_to_check).
CREATE TABLE day_changed_pairs (
    sync_day  TEXT NOT NULL,
    agent_id  BIGINT NOT NULL,
    role_id   BIGINT NOT NULL,
    PRIMARY KEY (sync_day, agent_id, role_id)
);

CREATE TABLE day_changed_roles (
    sync_day  TEXT NOT NULL,
    role_id   BIGINT NOT NULL,
    PRIMARY KEY (sync_day, role_id)
);

-- After each statement on a final table: its counts move by the rows it inserted, updated and
-- deleted; during an apply (which creates the temporary table named by TG_ARGV[1]:
-- track_day_changes.sql), the keys of those rows are noted for record_day_changes.sql. Every
-- statement is covered, on either apply path, so no apply step can forget its own.
-- TG_ARGV: the condition of a current row, the temporary table, its key columns.
CREATE FUNCTION track_final_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    added BIGINT := 0;
    added_current BIGINT := 0;
    gone BIGINT := 0;
    gone_current BIGINT := 0;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE final_table_counts SET row_count = 0, current_rows = 0
        WHERE table_name = TG_TABLE_NAME;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %s) FROM new_rows', TG_ARGV[0])
            INTO added, added_current;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %s) FROM old_rows', TG_ARGV[0])
            INTO gone, gone_current;
    END IF;
    UPDATE final_table_counts
    SET row_count = row_count + added - gone,
        current_rows = current_rows + added_current - gone_current
    WHERE table_name = TG_TABLE_NAME;
    IF to_regclass('pg_temp.' || TG_ARGV[1]) IS NOT NULL THEN
        EXECUTE format(
            'INSERT INTO pg_temp.%I SELECT %s FROM %I', TG_ARGV[1], TG_ARGV[2],
            CASE WHEN TG_OP = 'DELETE' THEN 'old_rows' ELSE 'new_rows' END
        );
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t RECORD;
BEGIN
    FOR t IN
        SELECT * FROM (VALUES
            ('roles', 'deleted_at IS NULL', 'changed_roles', 'role_id'),
            ('role_history', 'to_day IS NULL', 'changed_roles', 'role_id'),
            ('agent_role_mapping', 'status = ''assigned''', 'changed_pairs', 'agent_id, role_id'),
            ('agent_role_history', 'removed_day IS NULL', 'changed_pairs', 'agent_id, role_id')
        ) AS tracked (name, current_row, changes, keys)
    LOOP
        EXECUTE format('INSERT INTO final_table_counts VALUES (%L, 0, 0)', t.name);
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows'
            ' FOR EACH STATEMENT EXECUTE FUNCTION track_final_rows(%L, %L, %L)',
            t.name || '_inserted', t.name, t.current_row, t.changes, t.keys
        );
        EXECUTE format(
            'CREATE TRIGGER %I AFTER UPDATE ON %I'
            ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
            ' FOR EACH STATEMENT EXECUTE FUNCTION track_final_rows(%L, %L, %L)',
            t.name || '_updated', t.name, t.current_row, t.changes, t.keys
        );
        EXECUTE format(
            'CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows'
            ' FOR EACH STATEMENT EXECUTE FUNCTION track_final_rows(%L, %L, %L)',
            t.name || '_deleted', t.name, t.current_row, t.changes, t.keys
        );
        EXECUTE format(
            'CREATE TRIGGER %I AFTER TRUNCATE ON %I'
            ' FOR EACH STATEMENT EXECUTE FUNCTION track_final_rows()',
            t.name || '_truncated', t.name
        );
    END LOOP;
END
$$;

-- What a history check reads: with a day, the keys that day's apply wrote; with NULL, every key
-- of the tables (the full check). Inlined by the planner, so a day's check probes its keys by
-- index and never scans the history.
CREATE FUNCTION pairs_to_check(day TEXT)
RETURNS TABLE (agent_id BIGINT, role_id BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT c.agent_id, c.role_id FROM day_changed_pairs c WHERE c.sync_day = day
    UNION
    SELECT m.agent_id, m.role_id FROM agent_role_mapping m WHERE day IS NULL
    UNION
    SELECT h.agent_id, h.role_id FROM agent_role_history h WHERE day IS NULL
$$;

CREATE FUNCTION roles_to_check(day TEXT)
RETURNS TABLE (role_id BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT c.role_id FROM day_changed_roles c WHERE c.sync_day = day
    UNION
    SELECT r.role_id FROM roles r WHERE day IS NULL
    UNION
    SELECT h.role_id FROM role_history h WHERE day IS NULL
$$;
