-- Plugins: each tenant's switch and configuration per plugin (secret settings sealed), and the
-- tables the built-in plugins write: the audit trail, customers' activity, daily analytics.
CREATE TABLE tenant_plugins (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    plugin      TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    config      TEXT NOT NULL DEFAULT '{}',
    secrets     TEXT,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT,
    PRIMARY KEY (tenant_id, plugin)
);

-- audit-log: one row per event (who did what), written once per event whatever the redeliveries.
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    actor        TEXT,
    actor_type   TEXT NOT NULL,
    source       TEXT,
    ip           TEXT,
    summary      TEXT NOT NULL,
    object_id    TEXT,
    occurred_at  INTEGER NOT NULL,
    CONSTRAINT audit_log_event_once UNIQUE (tenant_id, event_id)
);
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, occurred_at, id);

-- crm-activity: a customer's (by email) timeline of payments, refunds and disputes.
CREATE TABLE customer_activity (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    customer_email  TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    object_id       TEXT,
    amount          INTEGER,
    currency        TEXT,
    summary         TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    CONSTRAINT customer_activity_event_once UNIQUE (tenant_id, event_id)
);
CREATE INDEX customer_activity_customer_idx ON customer_activity (tenant_id, customer_email, occurred_at, id);

-- analytics: per tenant, day (UTC, YYYY-MM-DD) and currency; amounts in minor units.
CREATE TABLE analytics_daily (
    tenant_id        TEXT NOT NULL,
    day              TEXT NOT NULL,
    currency         TEXT NOT NULL,
    payments_count   INTEGER NOT NULL DEFAULT 0,
    volume           INTEGER NOT NULL DEFAULT 0,
    failed_count     INTEGER NOT NULL DEFAULT 0,
    refunds_count    INTEGER NOT NULL DEFAULT 0,
    refunds_amount   INTEGER NOT NULL DEFAULT 0,
    disputes_count   INTEGER NOT NULL DEFAULT 0,
    disputes_amount  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, currency)
);

-- analytics: what has been counted, so that neither a redelivery nor a replay (a new delivery id
-- for the same event) counts anything twice: one mark per counted fact — 'paid:<payment id>',
-- 'failed:<payment id>', 'refund:<refund id>', 'dispute:<dispute id>' — inserted in the same
-- transaction as the increment it guards.
CREATE TABLE analytics_marks (
    tenant_id   TEXT NOT NULL,
    mark        TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, mark)
);
