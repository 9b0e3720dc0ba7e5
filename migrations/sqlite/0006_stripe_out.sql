-- Stripe out: refunds we requested (reserving their amount until the ledger shows them),
-- products with purchase limits, hosted checkout sessions, and reconciliation sweeper runs.

-- status: requested (Stripe not yet known to have it), submitted (Stripe accepted it; the webhook
-- has not reached the ledger), settled (the ledger shows it), failed (Stripe refused it).
-- requested and submitted rows reserve `amount` against the payment's refundable amount.
CREATE TABLE refund_requests (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    payment_id        TEXT NOT NULL,
    idempotency_key   TEXT NOT NULL,
    amount            INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    reason            TEXT,
    status            TEXT NOT NULL,
    stripe_refund_id  TEXT,
    error             TEXT,
    actor             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- A client key names one request for as long as idempotency records last (24 h by default).
CREATE INDEX refund_requests_key_idx ON refund_requests (tenant_id, idempotency_key, created_at);
CREATE INDEX refund_requests_payment_idx ON refund_requests (payment_id, status);
CREATE INDEX refund_requests_stripe_idx ON refund_requests (stripe_refund_id);

CREATE TABLE products (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    name           TEXT NOT NULL,
    unit_amount    INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    max_purchases  INTEGER,
    purchases      INTEGER NOT NULL DEFAULT 0,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX products_tenant_idx ON products (tenant_id, id);

CREATE TABLE checkout_sessions (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    stripe_session_id  TEXT,
    connected_account  TEXT,
    product_id         TEXT,
    amount_total       INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL,
    url                TEXT,
    customer_email     TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX checkout_sessions_tenant_idx ON checkout_sessions (tenant_id, id);
CREATE INDEX checkout_sessions_stripe_idx ON checkout_sessions (stripe_session_id);

-- tenant_id NULL: the platform's own events.
CREATE TABLE reconciliation_runs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT,
    account          TEXT,
    status           TEXT NOT NULL,
    listed           INTEGER NOT NULL DEFAULT 0,
    ingested         INTEGER NOT NULL DEFAULT 0,
    already_present  INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX reconciliation_runs_tenant_idx ON reconciliation_runs (tenant_id, started_at);
