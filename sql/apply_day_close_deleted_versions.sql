-- Incremental: the roles apply_day_deletions.sql has just deleted close their current version
-- at the day's sync time; a role that comes back opens a new one.
UPDATE role_history h
SET to_day = %(sync_day)s,
    valid_to = %(synced_at)s
FROM deleted_roles d
WHERE h.role_id = d.role_id AND h.to_day IS NULL;
