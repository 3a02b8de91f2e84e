-- Incremental: roles the newest day's complete snapshot no longer holds are deleted at its sync
-- time, unless the day protects them (a rejected record: the role is there, its values unknown;
-- see schema/002_exemptions_of_one_load.sql). An incomplete day deletes nothing. They keep their
-- values; apply_day_close_deleted_versions.sql closes their current version.
DROP TABLE IF EXISTS pg_temp.deleted_roles;  -- a replay's previous day's
CREATE TEMP TABLE deleted_roles ON COMMIT DROP AS
WITH deleted AS (
UPDATE roles r
SET deleted_at = %(synced_at)s
WHERE r.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM unreadable_files(%(role_pipeline_errors_load)s))
  AND NOT EXISTS (
      SELECT 1 FROM stg_roles s
      WHERE s.load_id = %(stg_roles_load)s AND s.role_id = r.role_id
  )
  AND NOT EXISTS (
      SELECT 1 FROM protected_roles(%(role_pipeline_errors_load)s) p WHERE p.role_id = r.role_id
  )
RETURNING r.role_id
)
SELECT role_id FROM deleted;
