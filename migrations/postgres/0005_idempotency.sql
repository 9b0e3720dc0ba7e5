-- Idempotency-Key records for money-moving requests: keyed by (tenant, key), the request's
-- fingerprint, and once it completed, the response to replay. status: in_flight or completed.
CREATE TABLE idempotency_keys (
    tenant_id         TEXT NOT NULL,
    idempotency_key   TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    status            TEXT NOT NULL,
    response_status   BIGINT,
    response_body     TEXT,
    content_type      TEXT,
    created_at        BIGINT NOT NULL,
    locked_until      BIGINT NOT NULL,
    completed_at      BIGINT,
    PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
