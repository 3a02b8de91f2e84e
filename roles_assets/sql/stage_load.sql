-- A load becomes its day's staged load of its table; the one it replaces stays only while it is
-- the applied one (forget_unreferenced_loads.sql).
UPDATE staging_loads SET staged = FALSE
WHERE staging_table = %(staging_table)s AND sync_day = %(sync_day)s AND staged;

INSERT INTO staging_loads (load_id, staging_table, sync_day, staged)
VALUES (%(load_id)s, %(staging_table)s, %(sync_day)s, TRUE);
