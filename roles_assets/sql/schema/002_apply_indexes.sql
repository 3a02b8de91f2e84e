-- Lookups the apply steps make per mapping row: "does the day still assert this pair?" and
-- "was this role or agent rejected that day?". Created on the parents, so every staging
-- partition gets them when it is attached.
CREATE INDEX stg_agent_roles_pair ON stg_agent_roles (agent_id, role_id);
CREATE INDEX role_pipeline_errors_type ON role_pipeline_errors (sync_day, error_type);
