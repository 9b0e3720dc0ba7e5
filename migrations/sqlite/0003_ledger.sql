-- Stripe in: the webhook audit, connected accounts, and the ledger (payments, refunds, disputes,
-- append-only transactions, per-payment timeline). Merge rules live in app/src/ssr/ledger.

-- Every request to POST /webhook and every event the sweeper pulls, with what became of it.
-- status: processed, duplicate, ignored (a type we do not apply), unassigned (no tenant for it),
-- unparsed (a known type whose payload we could not read: kept for re-processing), rejected
-- (signature or format: stripe_event_id is NULL because nothing in the body is trusted).
CREATE TABLE webhook_events (
    id               TEXT PRIMARY KEY,
    stripe_event_id  TEXT,
    tenant_id        TEXT,
    account          TEXT,
    type             TEXT,
    api_version      TEXT,
    livemode         INTEGER NOT NULL DEFAULT 0,
    stripe_created   INTEGER,
    source           TEXT NOT NULL,
    status           TEXT NOT NULL,
    error            TEXT,
    raw              TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    processed_at     INTEGER
);
CREATE UNIQUE INDEX webhook_events_stripe_id_idx ON webhook_events (stripe_event_id);
CREATE INDEX webhook_events_tenant_time_idx ON webhook_events (tenant_id, received_at, id);
CREATE INDEX webhook_events_time_idx ON webhook_events (received_at, id);

CREATE TABLE stripe_accounts (
    account_id         TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    charges_enabled    INTEGER NOT NULL DEFAULT 0,
    payouts_enabled    INTEGER NOT NULL DEFAULT 0,
    details_submitted  INTEGER NOT NULL DEFAULT 0,
    requirements       TEXT,
    stripe_updated_at  INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX stripe_accounts_tenant_idx ON stripe_accounts (tenant_id);

CREATE TABLE payments (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL,
    stripe_payment_intent   TEXT,
    stripe_charge           TEXT,
    connected_account       TEXT,
    amount                  INTEGER NOT NULL DEFAULT 0,
    currency                TEXT NOT NULL DEFAULT '',
    amount_captured         INTEGER NOT NULL DEFAULT 0,
    charge_amount_refunded  INTEGER NOT NULL DEFAULT 0,
    amount_refunded         INTEGER NOT NULL DEFAULT 0,
    amount_disputed         INTEGER NOT NULL DEFAULT 0,
    amount_disputed_lost    INTEGER NOT NULL DEFAULT 0,
    intent_status           TEXT,
    intent_status_rank      INTEGER NOT NULL DEFAULT 0,
    intent_status_at        INTEGER NOT NULL DEFAULT 0,
    failed                  INTEGER NOT NULL DEFAULT 0,
    failure_message         TEXT,
    customer_email          TEXT,
    status                  TEXT NOT NULL,
    stripe_created          INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE UNIQUE INDEX payments_intent_idx ON payments (stripe_payment_intent);
CREATE UNIQUE INDEX payments_charge_idx ON payments (stripe_charge);
CREATE INDEX payments_tenant_time_idx ON payments (tenant_id, created_at, id);
CREATE INDEX payments_tenant_status_idx ON payments (tenant_id, status);

CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    payment_id        TEXT NOT NULL REFERENCES payments(id),
    stripe_refund_id  TEXT,
    amount            INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_rank       INTEGER NOT NULL,
    status_at         INTEGER NOT NULL,
    reason            TEXT,
    failure_reason    TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX refunds_stripe_idx ON refunds (stripe_refund_id);
CREATE INDEX refunds_tenant_time_idx ON refunds (tenant_id, created_at, id);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

CREATE TABLE disputes (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    payment_id         TEXT NOT NULL REFERENCES payments(id),
    stripe_dispute_id  TEXT NOT NULL,
    amount             INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    reason             TEXT NOT NULL,
    status             TEXT NOT NULL,
    status_rank        INTEGER NOT NULL,
    status_at          INTEGER NOT NULL,
    evidence_due_by    INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX disputes_stripe_idx ON disputes (stripe_dispute_id);
CREATE INDEX disputes_tenant_time_idx ON disputes (tenant_id, created_at, id);
CREATE INDEX disputes_payment_idx ON disputes (payment_id);

-- Append-only money movements; each Stripe object contributes each kind once.
CREATE TABLE payment_transactions (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    payment_id        TEXT NOT NULL REFERENCES payments(id),
    kind              TEXT NOT NULL,
    amount            INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    stripe_object_id  TEXT NOT NULL,
    stripe_event_id   TEXT,
    occurred_at       INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    CONSTRAINT payment_transactions_once UNIQUE (payment_id, kind, stripe_object_id)
);
CREATE INDEX payment_transactions_tenant_idx ON payment_transactions (tenant_id, occurred_at);

-- The per-payment timeline: every webhook and API action, in order.
CREATE TABLE event_logs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    payment_id       TEXT NOT NULL REFERENCES payments(id),
    source           TEXT NOT NULL,
    title            TEXT NOT NULL,
    stripe_event_id  TEXT,
    stripe_type      TEXT,
    status_after     TEXT NOT NULL,
    detail           TEXT,
    occurred_at      INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX event_logs_payment_idx ON event_logs (payment_id, occurred_at, id);
