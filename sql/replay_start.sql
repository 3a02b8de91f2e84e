-- Replay (a re-run, or a day older than the newest applied one): the applied days are folded in
-- again, in natural order, by the incremental steps (apply_day_*.sql), into empty copies of the
-- final tables. Applying the days one by one in that order is what the contract defines the
-- tables to be, so the replay is that, not a second statement of the rules. The copies are
-- temporary tables of the same names, which PostgreSQL looks up before the final tables, until
-- replay_write_back.sql renames them. A connection whose search_path names pg_temp after the
-- project's schema would reach the final tables instead, so temporary tables come first for the
-- rest of this transaction.
SELECT set_config('search_path', 'pg_temp, ' || current_setting('search_path'), true);

-- What there was before, for what the replay takes away (count_lost_since_snapshot.sql).
CREATE TEMP TABLE assigned_before ON COMMIT DROP AS
SELECT agent_id, role_id FROM agent_role_mapping WHERE status = 'assigned';

CREATE TEMP TABLE live_roles_before ON COMMIT DROP AS
SELECT role_id FROM roles WHERE deleted_at IS NULL;

CREATE TEMP TABLE roles (LIKE roles INCLUDING ALL) ON COMMIT DROP;
CREATE TEMP TABLE agent_role_mapping (LIKE agent_role_mapping INCLUDING ALL) ON COMMIT DROP;
CREATE TEMP TABLE role_history (LIKE role_history INCLUDING ALL) ON COMMIT DROP;
CREATE TEMP TABLE agent_role_history (LIKE agent_role_history INCLUDING ALL) ON COMMIT DROP;

-- The rules' exemptions of every applied day, read once instead of once a day: the copies of
-- the views shadow them as the tables' copies do.
CREATE TEMP TABLE protected_roles ON COMMIT DROP AS SELECT * FROM protected_roles;
CREATE TEMP TABLE protected_agents ON COMMIT DROP AS SELECT * FROM protected_agents;
CREATE TEMP TABLE incomplete_days ON COMMIT DROP AS SELECT DISTINCT * FROM incomplete_days;
CREATE TEMP TABLE malformed_role_values ON COMMIT DROP AS SELECT * FROM malformed_role_values;
ANALYZE protected_roles, protected_agents, incomplete_days, malformed_role_values;
