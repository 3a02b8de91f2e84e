-- A replay has just written every table from all applied days: no earlier request is pending.
DELETE FROM pending_replays;
