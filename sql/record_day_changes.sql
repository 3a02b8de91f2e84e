-- The keys the day's apply wrote, for its checks (pairs_to_check, roles_to_check): they replace
-- what an earlier apply of the same day wrote. Inserted in key order: a day of a million new
-- pairs fills the primary key page by page instead of at random (less than half the time).
DELETE FROM day_changed_pairs WHERE sync_day = %(sync_day)s;
INSERT INTO day_changed_pairs (sync_day, agent_id, role_id)
SELECT DISTINCT %(sync_day)s, agent_id, role_id FROM changed_pairs ORDER BY agent_id, role_id;

DELETE FROM day_changed_roles WHERE sync_day = %(sync_day)s;
INSERT INTO day_changed_roles (sync_day, role_id)
SELECT DISTINCT %(sync_day)s, role_id FROM changed_roles ORDER BY role_id;

-- The checks run next, in other transactions: their plans need the day's rows counted.
ANALYZE day_changed_pairs, day_changed_roles;
