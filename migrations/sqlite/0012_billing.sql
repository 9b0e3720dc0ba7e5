-- Recurring billing mirrored from Stripe: customers, their payment methods, subscriptions and
-- invoices. Stripe is the authority; each row keeps the `created` time of the Stripe event that
-- last wrote it (`stripe_event_at`) and, for objects whose status can change twice in one second,
-- a status rank, so an older snapshot never overwrites a newer one (rules in app/src/ssr/billing).
-- Same second and same rank: the greater Stripe event id (`stripe_event_id`) wins, so the final
-- state never depends on arrival order. A row with `stripe_event_at = 0` is a placeholder made
-- because another object named it first; its own event fills it in.
-- Objects are found by their Stripe id; paybus ids (`cst_`, `sbn_`, `inv_`) are what the API shows.
CREATE TABLE customers (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    stripe_customer_id   TEXT NOT NULL,
    connected_account    TEXT,
    email                TEXT,
    name                 TEXT,
    description          TEXT,
    country              TEXT,
    currency             TEXT,
    deleted              INTEGER NOT NULL DEFAULT 0,
    stripe_created       INTEGER,
    status_rank          INTEGER NOT NULL DEFAULT 0,
    stripe_event_at      INTEGER NOT NULL DEFAULT 0,
    stripe_event_id      TEXT NOT NULL DEFAULT '',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX customers_stripe_idx ON customers (stripe_customer_id);
CREATE INDEX customers_tenant_time_idx ON customers (tenant_id, created_at, id);
CREATE INDEX customers_tenant_email_idx ON customers (tenant_id, email);

CREATE TABLE payment_methods (
    stripe_payment_method_id  TEXT PRIMARY KEY,
    tenant_id                 TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    customer_id               TEXT REFERENCES customers(id),
    type                      TEXT NOT NULL,
    card_brand                TEXT,
    card_last4                TEXT,
    card_country              TEXT,
    card_fingerprint          TEXT,
    attached                  INTEGER NOT NULL DEFAULT 0,
    status_rank               INTEGER NOT NULL DEFAULT 0,
    stripe_event_at           INTEGER NOT NULL DEFAULT 0,
    stripe_event_id           TEXT NOT NULL DEFAULT '',
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE INDEX payment_methods_customer_idx ON payment_methods (tenant_id, customer_id);

CREATE TABLE subscriptions (
    id                       TEXT PRIMARY KEY,
    tenant_id                TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    stripe_subscription_id   TEXT NOT NULL,
    customer_id              TEXT REFERENCES customers(id),
    stripe_customer_id       TEXT,
    status                   TEXT NOT NULL,
    status_rank              INTEGER NOT NULL DEFAULT 0,
    price_id                 TEXT,
    product_id               TEXT,
    plan_nickname            TEXT,
    unit_amount              INTEGER,
    currency                 TEXT,
    billing_interval         TEXT,
    quantity                 INTEGER NOT NULL DEFAULT 1,
    current_period_start     INTEGER,
    current_period_end       INTEGER,
    cancel_at_period_end     INTEGER NOT NULL DEFAULT 0,
    canceled_at              INTEGER,
    trial_end                INTEGER,
    paused                   INTEGER NOT NULL DEFAULT 0,
    stripe_created           INTEGER,
    stripe_event_at          INTEGER NOT NULL DEFAULT 0,
    stripe_event_id          TEXT NOT NULL DEFAULT '',
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);
CREATE UNIQUE INDEX subscriptions_stripe_idx ON subscriptions (stripe_subscription_id);
CREATE INDEX subscriptions_tenant_time_idx ON subscriptions (tenant_id, created_at, id);
CREATE INDEX subscriptions_tenant_status_idx ON subscriptions (tenant_id, status);
CREATE INDEX subscriptions_customer_idx ON subscriptions (customer_id);

-- overdue_at is set once, by the overdue job, in the same transaction that publishes
-- invoice.overdue; the `overdue_at IS NULL` guard is what makes it once per invoice.
CREATE TABLE invoices (
    id                       TEXT PRIMARY KEY,
    tenant_id                TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    stripe_invoice_id        TEXT NOT NULL,
    customer_id              TEXT REFERENCES customers(id),
    stripe_customer_id       TEXT,
    stripe_subscription_id   TEXT,
    number                   TEXT,
    status                   TEXT NOT NULL,
    status_rank              INTEGER NOT NULL DEFAULT 0,
    currency                 TEXT NOT NULL,
    amount_due               INTEGER NOT NULL DEFAULT 0,
    amount_paid              INTEGER NOT NULL DEFAULT 0,
    amount_remaining         INTEGER NOT NULL DEFAULT 0,
    subtotal                 INTEGER NOT NULL DEFAULT 0,
    tax                      INTEGER NOT NULL DEFAULT 0,
    total                    INTEGER NOT NULL DEFAULT 0,
    due_date                 INTEGER,
    hosted_invoice_url       TEXT,
    stripe_payment_intent    TEXT,
    stripe_charge            TEXT,
    payment_id               TEXT,
    overdue_at               INTEGER,
    attempt_count            INTEGER NOT NULL DEFAULT 0,
    stripe_created           INTEGER,
    stripe_event_at          INTEGER NOT NULL DEFAULT 0,
    stripe_event_id          TEXT NOT NULL DEFAULT '',
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);
CREATE UNIQUE INDEX invoices_stripe_idx ON invoices (stripe_invoice_id);
CREATE INDEX invoices_tenant_time_idx ON invoices (tenant_id, created_at, id);
CREATE INDEX invoices_tenant_status_idx ON invoices (tenant_id, status);
CREATE INDEX invoices_customer_idx ON invoices (customer_id);
CREATE INDEX invoices_overdue_scan_idx ON invoices (status, due_date);
