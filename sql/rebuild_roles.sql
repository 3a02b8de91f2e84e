-- Rebuild: each role's values after every applied day, in natural order (replay_days.sql).
--
-- Per role, each day that stages it is a run. A malformed field (malformed_role_values) keeps
-- the value of the latest earlier run in which it was well formed (NULL if none): a run's
-- value for a field is the one of the last well-formed run up to it. A run ends in a deletion on
-- the first complete day before the role's next run that neither stages nor protects it
-- (a rejected record: the role is there, its values unknown).
-- roles takes the last run's values; rebuild_role_history.sql makes the versions from all runs.
-- upsert_roles.sql then writes only the rows that differ.
CREATE TEMP TABLE replay_role_staged ON COMMIT DROP AS
SELECT s.role_id, rd.n, s.name, s.description, s.is_default, s.agent_type, s.created_at,
       s.updated_at,
       coalesce(m.fields, '{}') AS malformed,
       lead(rd.n) OVER (PARTITION BY s.role_id ORDER BY rd.n) AS next_n
FROM stg_roles s
JOIN replay_loads rd ON rd.load_id = s.load_id
LEFT JOIN (
    SELECT sync_day, role_id, array_agg(field) AS fields
    FROM malformed_role_values
    GROUP BY sync_day, role_id
) m ON m.sync_day = s.sync_day AND m.role_id = s.role_id;

-- <field>_run: how many runs up to this one had the field well formed; the runs sharing a
-- number take the value of the first of them, the well-formed one (or none: NULL).
CREATE TEMP TABLE replay_role_runs ON COMMIT DROP AS
WITH numbered AS (
    SELECT s.*,
           count(*) FILTER (WHERE NOT 'description' = ANY (malformed)) OVER w AS description_run,
           count(*) FILTER (WHERE NOT 'default' = ANY (malformed)) OVER w AS default_run,
           count(*) FILTER (WHERE NOT 'agent_type' = ANY (malformed)) OVER w AS agent_type_run,
           count(*) FILTER (WHERE NOT 'created_at' = ANY (malformed)) OVER w AS created_at_run,
           count(*) FILTER (WHERE NOT 'updated_at' = ANY (malformed)) OVER w AS updated_at_run
    FROM replay_role_staged s
    WINDOW w AS (PARTITION BY role_id ORDER BY n)
)
SELECT g.role_id, g.n, g.next_n, g.name,
       first_value(CASE WHEN g.description_run > 0 THEN g.description END)
           OVER (PARTITION BY g.role_id, g.description_run ORDER BY g.n) AS description,
       first_value(CASE WHEN g.default_run > 0 THEN g.is_default END)
           OVER (PARTITION BY g.role_id, g.default_run ORDER BY g.n) AS is_default,
       first_value(CASE WHEN g.agent_type_run > 0 THEN g.agent_type END)
           OVER (PARTITION BY g.role_id, g.agent_type_run ORDER BY g.n) AS agent_type,
       first_value(CASE WHEN g.created_at_run > 0 THEN g.created_at END)
           OVER (PARTITION BY g.role_id, g.created_at_run ORDER BY g.n) AS created_at,
       first_value(CASE WHEN g.updated_at_run > 0 THEN g.updated_at END)
           OVER (PARTITION BY g.role_id, g.updated_at_run ORDER BY g.n) AS updated_at,
       deletion.n AS deletion_n
FROM numbered g
JOIN replay_day_counts here ON here.n = g.n
LEFT JOIN replay_day_counts upto ON upto.n = g.next_n - 1
CROSS JOIN LATERAL (
    SELECT min(e.n) AS n
    FROM replay_day_counts e
    -- No complete day between this run and the next: nothing to look for (most runs).
    WHERE coalesce(upto.complete_upto, (SELECT count(*) FROM replay_days WHERE is_complete))
          > here.complete_upto
      AND e.n > g.n
      AND (g.next_n IS NULL OR e.n < g.next_n)
      AND e.is_complete
      AND NOT EXISTS (SELECT 1 FROM replay_protected_roles p WHERE p.n = e.n AND p.role_id = g.role_id)
) deletion;

CREATE TEMP TABLE incoming_roles ON COMMIT DROP AS
SELECT DISTINCT ON (r.role_id)
       r.role_id, r.name, r.description, r.is_default, r.agent_type, r.created_at, r.updated_at,
       deleted.synced_at AS deleted_at
FROM replay_role_runs r
LEFT JOIN replay_days deleted ON deleted.n = r.deletion_n
ORDER BY r.role_id, r.n DESC;

DELETE FROM roles r
WHERE NOT EXISTS (SELECT 1 FROM incoming_roles e WHERE e.role_id = r.role_id);
