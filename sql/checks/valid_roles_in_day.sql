-- How many valid roles the day staged, and how many error rows it has.
SELECT (SELECT count(*) FROM stg_roles WHERE load_id = %(stg_roles_load)s),
       (SELECT count(*) FROM role_pipeline_errors
        WHERE load_id = %(role_pipeline_errors_load)s);
