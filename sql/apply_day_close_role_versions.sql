-- Incremental: a role the newest day stages with other attributes than its current version
-- closes that version at the day's sync time (apply_day_open_role_versions.sql opens the next).
UPDATE role_history h
SET to_day = %(sync_day)s,
    valid_to = %(synced_at)s
FROM incoming_roles i
WHERE h.role_id = i.role_id AND h.to_day IS NULL
  AND (h.name, h.description, h.is_default, h.agent_type, h.created_at, h.updated_at)
      IS DISTINCT FROM
      (i.name, i.description, i.is_default, i.agent_type, i.created_at, i.updated_at);
