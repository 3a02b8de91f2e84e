-- Roles not deleted without exactly one current version in role_history equal to their row in
-- roles, and current versions of roles that are deleted or not in roles. With a sync day, only
-- the roles its apply wrote (roles_to_check); with NULL, every role.
WITH current_versions AS (
    SELECT h.*
    FROM roles_to_check(%(sync_day)s) c
    JOIN role_history h ON h.role_id = c.role_id
    WHERE h.to_day IS NULL
), live_roles AS (
    SELECT r.*
    FROM roles_to_check(%(sync_day)s) c
    JOIN roles r ON r.role_id = c.role_id
    WHERE r.deleted_at IS NULL
), bad AS (
    SELECT coalesce(r.role_id, c.role_id) AS role_id
    FROM live_roles r
    FULL JOIN current_versions c ON c.role_id = r.role_id
    WHERE (r.role_id, r.name, r.description, r.is_default, r.agent_type, r.created_at, r.updated_at)
          IS DISTINCT FROM
          (c.role_id, c.name, c.description, c.is_default, c.agent_type, c.created_at, c.updated_at)
    UNION
    SELECT role_id FROM current_versions GROUP BY role_id HAVING count(*) > 1
)
SELECT (SELECT count(*) FROM bad),
       (SELECT coalesce(jsonb_agg(role_id), '[]')
        FROM (SELECT * FROM bad ORDER BY role_id LIMIT %(sample_rows)s) sample);
