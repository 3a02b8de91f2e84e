-- Staging keys enforced by PostgreSQL: each day's partition is indexed on its key when it is
-- attached (the apply steps' lookups need that index anyway), so a unique index costs no more,
-- and the blocking key checks pass on it instead of scanning millions of rows. A day whose rows
-- break a key fails its staging write and keeps its previous partition.
ALTER TABLE stg_roles ALTER COLUMN role_id SET NOT NULL;
ALTER TABLE stg_agent_roles ALTER COLUMN agent_id SET NOT NULL, ALTER COLUMN role_id SET NOT NULL;
CREATE UNIQUE INDEX stg_roles_key ON stg_roles (role_id, sync_day);
-- Replaces stg_agent_roles_pair (agent_id, role_id), whose lookups it serves as well.
CREATE UNIQUE INDEX stg_agent_roles_key ON stg_agent_roles (agent_id, role_id, sync_day);
DROP INDEX stg_agent_roles_pair;
