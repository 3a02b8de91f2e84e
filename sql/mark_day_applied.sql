UPDATE sync_days SET applied = TRUE WHERE sync_day = %(sync_day)s;
