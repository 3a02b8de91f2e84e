-- Rebuild: the applied days in natural order, numbered, with what the removal and deletion rules
-- need of each (schema/001_initial.sql): whether it is complete, and the roles and
-- agents it protects. The rebuild_*.sql files read these tables.
CREATE TEMP TABLE replay_days ON COMMIT DROP AS
SELECT d.sync_day,
       d.synced_at,
       row_number() OVER (ORDER BY d.day_order) AS n,
       NOT EXISTS (SELECT 1 FROM incomplete_days i WHERE i.sync_day = d.sync_day) AS is_complete
FROM sync_days d
WHERE d.applied;

-- The staging the replay reads: the applied loads, never a newer staging not applied yet.
CREATE TEMP TABLE replay_loads ON COMMIT DROP AS
SELECT l.load_id, rd.n FROM staging_loads l JOIN replay_days rd USING (sync_day) WHERE l.applied;

-- complete_upto: complete days up to and including day n, to skip gaps with no complete day.
CREATE TEMP TABLE replay_day_counts ON COMMIT DROP AS
SELECT n, sync_day, synced_at, is_complete,
       count(*) FILTER (WHERE is_complete) OVER (ORDER BY n) AS complete_upto
FROM replay_days;

CREATE TEMP TABLE replay_protected_roles ON COMMIT DROP AS
SELECT DISTINCT rd.n, p.role_id
FROM protected_roles p
JOIN replay_days rd ON rd.sync_day = p.sync_day;

CREATE TEMP TABLE replay_protected_agents ON COMMIT DROP AS
SELECT DISTINCT rd.n, p.agent_id
FROM protected_agents p
JOIN replay_days rd ON rd.sync_day = p.sync_day;
