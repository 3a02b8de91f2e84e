-- The keys the day's apply writes in the final tables, noted by their triggers
-- (schema/001_initial.sql) while these tables exist; record_day_changes.sql keeps them.
CREATE TEMP TABLE changed_pairs (agent_id BIGINT, role_id BIGINT) ON COMMIT DROP;
CREATE TEMP TABLE changed_roles (role_id BIGINT) ON COMMIT DROP;
