-- The day's loads no pointer holds any more: nothing reads them again. Returns them to drop.
DELETE FROM staging_loads
WHERE sync_day = %(sync_day)s AND NOT staged AND NOT applied
RETURNING staging_table, load_id;
