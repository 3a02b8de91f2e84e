-- Rebuild: each role's versions over its runs (replay_role_runs, made by rebuild_roles.sql). A
-- run opens a version when it is the role's first, follows a deletion, or has other values than
-- the run before it (a malformed value keeps the last good one, so it alone opens nothing). A
-- version lasts until the role's deletion or its next version. Only rows that differ are
-- written, as in rebuild_agent_role_history.sql.
CREATE TEMP TABLE expected_role_history ON COMMIT DROP AS
WITH runs AS (
    SELECT r.*,
           lag(r.n) OVER w IS NULL
           OR lag(r.deletion_n) OVER w IS NOT NULL
           OR (r.name, r.description, r.is_default, r.agent_type, r.created_at, r.updated_at)
              IS DISTINCT FROM (
                  lag(r.name) OVER w, lag(r.description) OVER w, lag(r.is_default) OVER w,
                  lag(r.agent_type) OVER w, lag(r.created_at) OVER w, lag(r.updated_at) OVER w
              ) AS opens_version
    FROM replay_role_runs r
    WINDOW w AS (PARTITION BY r.role_id ORDER BY r.n)
), numbered AS (
    SELECT runs.*,
           count(*) FILTER (WHERE opens_version)
               OVER (PARTITION BY role_id ORDER BY n) AS version_no
    FROM runs
), versions AS (
    -- A version's runs share its values; only its last run can end in a deletion.
    SELECT DISTINCT ON (role_id, version_no)
           role_id, version_no, name, description, is_default, agent_type, created_at, updated_at,
           min(n) OVER v AS from_n,
           last_value(deletion_n) OVER v AS deletion_n
    FROM numbered
    WINDOW v AS (PARTITION BY role_id, version_no ORDER BY n
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ORDER BY role_id, version_no
), bounded AS (
    SELECT versions.*,
           coalesce(deletion_n, lead(from_n) OVER (PARTITION BY role_id ORDER BY from_n)) AS to_n
    FROM versions
)
SELECT b.role_id, b.name, b.description, b.is_default, b.agent_type, b.created_at,
       b.updated_at, opened.sync_day AS from_day, opened.synced_at AS valid_from,
       closed.sync_day AS to_day, closed.synced_at AS valid_to
FROM bounded b
JOIN replay_days opened ON opened.n = b.from_n
LEFT JOIN replay_days closed ON closed.n = b.to_n;

DELETE FROM role_history h
WHERE NOT EXISTS (
    SELECT 1 FROM expected_role_history e
    WHERE e.role_id = h.role_id AND e.from_day = h.from_day
      AND (e.name, e.description, e.is_default, e.agent_type, e.created_at, e.updated_at,
           e.valid_from, e.to_day, e.valid_to)
          IS NOT DISTINCT FROM
          (h.name, h.description, h.is_default, h.agent_type, h.created_at, h.updated_at,
           h.valid_from, h.to_day, h.valid_to)
);

INSERT INTO role_history (role_id, name, description, is_default, agent_type, created_at,
                          updated_at, from_day, valid_from, to_day, valid_to)
SELECT e.role_id, e.name, e.description, e.is_default, e.agent_type, e.created_at,
       e.updated_at, e.from_day, e.valid_from, e.to_day, e.valid_to
FROM expected_role_history e
WHERE NOT EXISTS (
    SELECT 1 FROM role_history h WHERE h.role_id = e.role_id AND h.from_day = e.from_day
);
