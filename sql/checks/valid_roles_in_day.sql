-- How many valid roles the day staged, and how many error rows it has.
SELECT (SELECT count(*) FROM stg_roles WHERE sync_day = %(sync_day)s),
       (SELECT count(*) FROM role_pipeline_errors WHERE sync_day = %(sync_day)s);
