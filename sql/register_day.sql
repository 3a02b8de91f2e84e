-- Records a sync day with its natural-order key and its sync time (taken from the landed data).
INSERT INTO sync_days (sync_day, day_order, synced_at)
VALUES (%(sync_day)s, %(day_order)s, %(synced_at)s)
ON CONFLICT (sync_day) DO UPDATE
SET day_order = EXCLUDED.day_order,
    synced_at = EXCLUDED.synced_at
RETURNING
    -- A day newer than every applied day, applied for the first time, can be folded in
    -- incrementally; any other day (a re-run, a backfill of an older day) needs a replay.
    NOT applied AND NOT EXISTS (
        SELECT 1 FROM sync_days newer
        WHERE newer.applied AND newer.day_order > sync_days.day_order
    ) AS is_incremental;
