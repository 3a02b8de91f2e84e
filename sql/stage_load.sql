-- A load becomes the day's staged one of its table, the previous one kept only if it is applied
-- (forget_unreferenced_loads.sql). Same-day stagings of a table take turns.
SELECT pg_advisory_xact_lock(hashtext(%(staging_table)s || '/' || %(sync_day)s));
UPDATE staging_loads SET staged = FALSE
WHERE staging_table = %(staging_table)s AND sync_day = %(sync_day)s AND staged;
INSERT INTO staging_loads (load_id, staging_table, sync_day, staged)
VALUES (%(load_id)s, %(staging_table)s, %(sync_day)s, TRUE);
