-- Before a day's apply: what the mass-removal limit is a share of.
SELECT
    (SELECT count(*) FROM agent_role_mapping WHERE status = 'assigned') AS assigned,
    (SELECT count(*) FROM roles WHERE deleted_at IS NULL) AS live_roles;
