-- Staged pairs of a day whose role is not among that day's staged roles.
WITH orphans AS (
    SELECT a.agent_id, a.role_id
    FROM stg_agent_roles a
    WHERE a.load_id = %(stg_agent_roles_load)s
      AND NOT EXISTS (
          SELECT 1 FROM stg_roles r
          WHERE r.load_id = %(stg_roles_load)s AND r.role_id = a.role_id
      )
)
SELECT (SELECT count(*) FROM orphans),
       (SELECT coalesce(jsonb_agg(jsonb_build_array(agent_id, role_id)), '[]')
        FROM (SELECT * FROM orphans ORDER BY agent_id, role_id LIMIT %(sample_rows)s) sample);
