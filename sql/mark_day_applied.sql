UPDATE sync_days SET applied = TRUE WHERE sync_day = %(sync_day)s;
-- The final tables are built from the day's staged loads now.
UPDATE staging_loads SET applied = staged WHERE sync_day = %(sync_day)s;
