-- Days known to the final tables. day_order sorts naturally under plain byte order
-- (roles_assets.partitions.day_order); synced_at comes from the landed data, never a clock.
CREATE TABLE sync_days (
    sync_day   TEXT PRIMARY KEY,
    day_order  TEXT COLLATE "C" NOT NULL UNIQUE,
    synced_at  TIMESTAMP NOT NULL,
    applied    BOOLEAN NOT NULL DEFAULT FALSE  -- the final tables include this day
);

-- Staging: one list partition per sync day, swapped whole when a day is re-run.
-- Their keys are enforced from step 003 on (a unique index per attached partition).
CREATE TABLE stg_roles (
    role_id      BIGINT,
    name         TEXT,
    description  TEXT,
    is_default   BOOLEAN,
    agent_type   INT,
    created_at   TIMESTAMP,
    updated_at   TIMESTAMP,
    sync_day     TEXT NOT NULL,
    source       TEXT,
    ingested_at  TIMESTAMP
) PARTITION BY LIST (sync_day);

CREATE TABLE stg_agent_roles (
    agent_id    BIGINT,
    role_id     BIGINT,
    status      TEXT,
    updated_at  TIMESTAMP,
    sync_day    TEXT NOT NULL
) PARTITION BY LIST (sync_day);

CREATE TABLE role_pipeline_errors (
    id             SERIAL,
    sync_day       TEXT NOT NULL,
    role_id        BIGINT,
    agent_id       BIGINT,
    error_type     TEXT NOT NULL,
    error_message  TEXT NOT NULL,
    raw_record     JSONB,
    source_file    TEXT,
    created_at     TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
) PARTITION BY LIST (sync_day);

-- Final tables. Only primary keys: the asset checks verify the rest and can say what is wrong.
CREATE TABLE roles (
    role_id      BIGINT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT,
    is_default   BOOLEAN,
    agent_type   INT,
    created_at   TIMESTAMP,
    updated_at   TIMESTAMP
);

CREATE TABLE agent_role_mapping (
    agent_id     BIGINT NOT NULL,
    role_id      BIGINT NOT NULL,
    status       TEXT NOT NULL,
    assigned_at  TIMESTAMP,
    removed_at   TIMESTAMP,
    PRIMARY KEY (agent_id, role_id)
);
