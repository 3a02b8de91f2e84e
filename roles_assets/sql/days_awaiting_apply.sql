-- Applied days with a newer staged load than their applied one (its run failed, was refused, or
-- is still running), in natural order.
SELECT d.sync_day
FROM sync_days d
WHERE d.applied
  AND EXISTS (
      SELECT 1 FROM staging_loads l WHERE l.sync_day = d.sync_day AND l.staged AND NOT l.applied
  )
ORDER BY d.day_order;
