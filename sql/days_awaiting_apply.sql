-- Applied days whose newer staging is not applied yet (failed, refused or still running).
SELECT DISTINCT l.sync_day FROM staging_loads l JOIN sync_days d USING (sync_day)
WHERE d.applied AND l.staged AND NOT l.applied ORDER BY 1;
