-- Outbound webhooks (Standard Webhooks): a tenant's subscriber endpoints, one message per event
-- per endpoint (stable `webhook-id`, retried on a schedule), and every HTTP attempt made.
-- Signing secrets are sealed (AES-GCM, bound to tenant and endpoint); during a rotation the
-- previous one keeps signing until previous_secret_expires_at.
CREATE TABLE webhook_endpoints (
    id                          TEXT PRIMARY KEY,
    tenant_id                   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url                         TEXT NOT NULL,
    description                 TEXT NOT NULL DEFAULT '',
    events                      TEXT NOT NULL,
    payload_style               TEXT NOT NULL,
    ordered                     BIGINT NOT NULL DEFAULT 0,
    rate_limit_per_sec          BIGINT NOT NULL,
    status                      TEXT NOT NULL,
    disabled_reason             TEXT,
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  BIGINT,
    consecutive_failures        BIGINT NOT NULL DEFAULT 0,
    failing_since               BIGINT,
    circuit_open_until          BIGINT,
    throttled_until             BIGINT,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    deleted_at                  BIGINT
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at);

-- status: pending, delivering (leased), succeeded, failed (schedule exhausted), disabled.
-- next_trigger: what the next attempt is recorded as (scheduled, manual, test).
CREATE TABLE webhook_messages (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    endpoint_id       TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id          TEXT NOT NULL,
    event_type        TEXT NOT NULL,
    payload_style     TEXT NOT NULL,
    body              TEXT NOT NULL,
    note              TEXT,
    origin            TEXT NOT NULL,
    object_id         TEXT,
    sequence          BIGINT,
    previous_id       TEXT,
    status            TEXT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_trigger      TEXT NOT NULL DEFAULT 'scheduled',
    next_attempt_at   BIGINT,
    lease_until       BIGINT,
    leased_by         TEXT,
    last_status_code  BIGINT,
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    completed_at      BIGINT
);
CREATE INDEX webhook_messages_due_idx ON webhook_messages (status, next_attempt_at);
CREATE INDEX webhook_messages_endpoint_idx ON webhook_messages (endpoint_id, status, next_attempt_at);
CREATE INDEX webhook_messages_list_idx ON webhook_messages (endpoint_id, created_at);
CREATE UNIQUE INDEX webhook_messages_sequence_idx ON webhook_messages (endpoint_id, object_id, sequence);

CREATE TABLE webhook_attempts (
    id                TEXT PRIMARY KEY,
    message_id        TEXT NOT NULL REFERENCES webhook_messages(id) ON DELETE CASCADE,
    endpoint_id       TEXT NOT NULL,
    tenant_id         TEXT NOT NULL,
    attempt           BIGINT NOT NULL,
    trigger_kind      TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_code       BIGINT,
    latency_ms        BIGINT NOT NULL,
    response_excerpt  TEXT,
    error             TEXT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (endpoint_id, created_at);
CREATE INDEX webhook_attempts_message_idx ON webhook_attempts (message_id, created_at);
