-- Per-tenant settings (secrets sealed with AES-GCM under a key derived from the master key),
-- the audit of settings changes (which fields, never values), and the payment audit log of
-- every money-moving action and webhook effect.
CREATE TABLE tenant_settings (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    payments_enabled     BIGINT NOT NULL DEFAULT 1,
    default_currency     TEXT NOT NULL DEFAULT 'usd',
    notification_emails  TEXT NOT NULL DEFAULT '[]',
    stripe_secret_key    TEXT,
    webhook_secrets      TEXT,
    updated_at           BIGINT NOT NULL,
    updated_by           TEXT
);

CREATE TABLE settings_audit (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    actor       TEXT,
    actor_type  TEXT NOT NULL,
    fields      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX settings_audit_tenant_idx ON settings_audit (tenant_id, created_at);

-- result: succeeded, failed, requested, pending_reconciliation (Stripe made it; our write did not land).
CREATE TABLE payment_audit_log (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    actor       TEXT,
    actor_type  TEXT NOT NULL,
    action      TEXT NOT NULL,
    payment_id  TEXT,
    amount      BIGINT,
    currency    TEXT,
    result      TEXT NOT NULL,
    detail      TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX payment_audit_tenant_idx ON payment_audit_log (tenant_id, created_at);
CREATE INDEX payment_audit_payment_idx ON payment_audit_log (payment_id);
