-- The event bus: the outbox of events, one delivery row per (event, listener, origin), the
-- attempts made, listeners' idempotency receipts, replay jobs and the archive.

CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT,
    type         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    actor        TEXT,
    actor_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    metadata     TEXT NOT NULL
);
CREATE INDEX events_tenant_time_idx ON events (tenant_id, occurred_at, id);
CREATE INDEX events_time_idx ON events (occurred_at, id);
CREATE INDEX events_type_time_idx ON events (type, occurred_at);

-- Events past retention move here with their deliveries' outcome folded into nothing: the
-- archive is for replay and audit, not for dispatch.
CREATE TABLE events_archive (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT,
    type         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    actor        TEXT,
    actor_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    archived_at  BIGINT NOT NULL
);
CREATE INDEX events_archive_tenant_time_idx ON events_archive (tenant_id, occurred_at, id);
CREATE INDEX events_archive_time_idx ON events_archive (occurred_at, id);

-- origin: 'publish' for the first delivery, else the replay job's id; a replay that resumes
-- never enqueues the same (event, listener) twice.
CREATE TABLE event_deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL,
    listener         TEXT NOT NULL,
    origin           TEXT NOT NULL,
    tenant_id        TEXT,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','skipped','dead')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    max_attempts     BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT,
    leased_by        TEXT,
    last_error       TEXT,
    duration_ms      BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    completed_at     BIGINT,
    CONSTRAINT event_deliveries_once UNIQUE (event_id, listener, origin)
);
CREATE INDEX event_deliveries_due_idx ON event_deliveries (status, next_attempt_at);
CREATE INDEX event_deliveries_tenant_idx ON event_deliveries (tenant_id, status);
CREATE INDEX event_deliveries_listener_idx ON event_deliveries (listener, status);

CREATE TABLE delivery_attempts (
    delivery_id  TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    listener     TEXT NOT NULL,
    tenant_id    TEXT,
    event_type   TEXT NOT NULL,
    worker       TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('succeeded','failed','timed_out','panicked','skipped')),
    error        TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX delivery_attempts_time_idx ON delivery_attempts (started_at);
CREATE INDEX delivery_attempts_tenant_time_idx ON delivery_attempts (tenant_id, started_at);

-- Listeners record what they have done here, keyed by delivery id, so an at-least-once
-- redelivery is recognised and skipped.
CREATE TABLE listener_receipts (
    listener      TEXT NOT NULL,
    delivery_id   TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    processed_at  BIGINT NOT NULL,
    PRIMARY KEY (listener, delivery_id)
);

CREATE TABLE replay_jobs (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT,
    filter       TEXT NOT NULL,
    listener     TEXT,
    status       TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','canceled')),
    matched      BIGINT NOT NULL DEFAULT 0,
    enqueued     BIGINT NOT NULL DEFAULT 0,
    total        BIGINT,
    cursor_time  BIGINT,
    cursor_id    TEXT,
    error        TEXT,
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX replay_jobs_tenant_idx ON replay_jobs (tenant_id, created_at);

-- The platform operator sees every tenant's bus statistics.
ALTER TABLE users ADD COLUMN platform_admin BIGINT NOT NULL DEFAULT 0;
