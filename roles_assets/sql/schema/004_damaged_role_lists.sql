-- Each error row names the record's field it is about, so the removal rule can tell a damaged
-- agent_ids list (an INVALID_VALUE on agent_ids, or a bad entry in it) from a bad description.
ALTER TABLE role_pipeline_errors ADD COLUMN field TEXT;

-- Kept applied copies are detached partitions: they must match the parent to be attached again.
DO $$
DECLARE kept TEXT;
BEGIN
    FOR kept IN
        SELECT tablename FROM pg_tables
        WHERE schemaname = current_schema()
          AND tablename LIKE 'role\_pipeline\_errors\_\_%\_applied'
    LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN field TEXT', kept);
    END LOOP;
END $$;

-- Rows written before this step: the field is the first word of an INVALID_VALUE message
-- ("agent_type is not an integer: ..."), and agent ids are bad entries of a role's list when the
-- row names a role, else an agent file's own id.
UPDATE role_pipeline_errors
SET field = CASE
    WHEN error_type = 'INVALID_VALUE' THEN split_part(error_message, ' ', 1)
    WHEN error_type IN ('MISSING_AGENT_ID', 'INVALID_AGENT_ID') AND role_id IS NOT NULL THEN 'agent_ids'
    WHEN error_type IN ('MISSING_AGENT_ID', 'INVALID_AGENT_ID', 'MISSING_ROLE_ID', 'INVALID_ROLE_ID') THEN 'id'
    WHEN error_type = 'MISSING_NAME' THEN 'name'
    WHEN error_type IN ('INVALID_ROLE_IDS', 'UNKNOWN_ROLE') THEN 'role_ids'
END;

-- The removal rule's exemptions, written once for both apply paths (apply_day_removals.sql and
-- rebuild_agent_role_mapping.sql). On a complete day, an assigned pair the day does not assert
-- is removed unless its role or its agent is protected that day:
-- - a role with a rejected record (MISSING_NAME, DUPLICATE_ROLE) or a damaged agent_ids list
--   (not a list, or an entry that is not an id: its readable entries still assign);
-- - an agent whose file was rejected for its role_ids (INVALID_ROLE_IDS).
CREATE VIEW protected_roles AS
SELECT sync_day, role_id
FROM role_pipeline_errors
WHERE role_id IS NOT NULL
  AND (error_type IN ('MISSING_NAME', 'DUPLICATE_ROLE') OR field = 'agent_ids');

CREATE VIEW protected_agents AS
SELECT sync_day, agent_id
FROM role_pipeline_errors
WHERE agent_id IS NOT NULL AND error_type = 'INVALID_ROLE_IDS';

-- Days with an unreadable file: they remove nothing. (A row per error: callers ask EXISTS.)
CREATE VIEW incomplete_days AS
SELECT sync_day FROM role_pipeline_errors WHERE error_type = 'MALFORMED_JSON';
