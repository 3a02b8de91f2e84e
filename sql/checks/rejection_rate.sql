-- The day's role records: staged (valid) and rejected, and its unreadable files.
SELECT
    (SELECT count(*) FROM stg_roles WHERE load_id = %(stg_roles_load)s) AS staged,
    (SELECT count(DISTINCT (source_file, raw_record))
     FROM role_pipeline_errors
     WHERE load_id = %(role_pipeline_errors_load)s
       AND error_type IN ('MISSING_ROLE_ID', 'INVALID_ROLE_ID', 'MISSING_NAME', 'DUPLICATE_ROLE'))
        AS rejected,
    (SELECT count(*) FROM unreadable_files(%(role_pipeline_errors_load)s)) AS malformed_files;
