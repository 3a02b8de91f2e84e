-- The applied days in natural order, as a replay folds them in.
SELECT sync_day, synced_at FROM sync_days WHERE applied ORDER BY day_order;
