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
