-- Rebuild: each role's versions over the applied days in natural order. A day opens a version
-- when the role's attributes differ from those of the last applied day that staged the role; the
-- version lasts until the next one opens (a role absent from later days keeps its last values,
-- as in roles). Only rows that differ are written, as in rebuild_agent_role_history.sql.
CREATE TEMP TABLE expected_role_history ON COMMIT DROP AS
WITH staged AS (
    SELECT s.role_id, s.name, s.description, s.is_default, s.agent_type, s.created_at,
           s.updated_at, d.sync_day, d.synced_at, d.day_order,
           (s.name, s.description, s.is_default, s.agent_type, s.created_at, s.updated_at)
               IS DISTINCT FROM (
                   lag(s.name) OVER w, lag(s.description) OVER w, lag(s.is_default) OVER w,
                   lag(s.agent_type) OVER w, lag(s.created_at) OVER w, lag(s.updated_at) OVER w
               ) AS opens_version
    FROM stg_roles s
    JOIN sync_days d ON d.sync_day = s.sync_day AND d.applied
    WINDOW w AS (PARTITION BY s.role_id ORDER BY d.day_order)
)
SELECT role_id, name, description, is_default, agent_type, created_at, updated_at,
       sync_day AS from_day, synced_at AS valid_from,
       lead(sync_day) OVER w AS to_day, lead(synced_at) OVER w AS valid_to
FROM staged
WHERE opens_version
WINDOW w AS (PARTITION BY role_id ORDER BY day_order);

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
