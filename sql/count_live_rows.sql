-- Before a day's apply: what the mass-removal limit is a share of (kept by the final tables'
-- triggers, schema/001_initial.sql).
SELECT
    (SELECT current_rows FROM final_table_counts WHERE table_name = 'agent_role_mapping')
        AS assigned,
    (SELECT current_rows FROM final_table_counts WHERE table_name = 'roles') AS live_roles;
