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
        EXECUTE format(
            'INSERT INTO final_table_counts'
            ' SELECT %L, count(*), count(*) FILTER (WHERE %s) FROM %I',
            t.name, t.current_row, t.name
        );
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
