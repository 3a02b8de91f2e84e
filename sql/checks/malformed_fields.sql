-- Per field of a role record, how many of the day's staged roles had it malformed
-- (INVALID_VALUE), most first, with a sample; and how many roles the day staged.
SELECT e.field,
       count(DISTINCT e.role_id) AS malformed,
       (SELECT count(*) FROM stg_roles WHERE load_id = %(stg_roles_load)s) AS staged_roles,
       (array_agg(jsonb_build_object('role_id', e.role_id,
                                     'error_message', left(e.error_message, 120))
                  ORDER BY e.role_id))[1:%(sample_rows)s] AS sample
FROM role_pipeline_errors e
WHERE e.load_id = %(role_pipeline_errors_load)s
  AND e.error_type = 'INVALID_VALUE' AND e.role_id IS NOT NULL
GROUP BY e.field
ORDER BY malformed DESC, e.field;
