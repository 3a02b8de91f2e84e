UPDATE sync_days SET applied = TRUE WHERE sync_day = %(sync_day)s;

-- The final tables are built from the day's staged loads now (two steps: one applied load per
-- day and table at any moment).
UPDATE staging_loads SET applied = FALSE WHERE sync_day = %(sync_day)s AND applied;
UPDATE staging_loads SET applied = TRUE WHERE sync_day = %(sync_day)s AND staged;
