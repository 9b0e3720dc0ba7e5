-- The risk plugin: what Stripe told us about each charge attempt that matters for fraud (Radar's
-- outcome, the card's fingerprint and country, the billing country, the buyer's email and IP),
-- and the review queue of payments the plugin flagged. Rules live in app/src/domain/risk.rs.

-- One row per Stripe charge (an attempt to pay), written by the ledger in the ingest
-- transaction. Velocity rules count these rows by email, card fingerprint or IP in a window of
-- `charged_at` (Stripe's `created`, seconds). A final status (succeeded, failed) is never
-- replaced by a late `pending`; signals, once known, are never blanked by a snapshot without them.
CREATE TABLE risk_charges (
    stripe_charge     TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    payment_id        TEXT NOT NULL REFERENCES payments(id),
    -- The Stripe event that last wrote the row: `webhook.processed` finds the payment by it.
    stripe_event_id   TEXT NOT NULL,
    status            TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    email             TEXT,
    card_fingerprint  TEXT,
    card_country      TEXT,
    billing_country   TEXT,
    ip_address        TEXT,
    risk_level        TEXT,
    risk_score        BIGINT,
    charged_at        BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX risk_charges_payment_idx ON risk_charges (payment_id, charged_at);
CREATE INDEX risk_charges_event_idx ON risk_charges (tenant_id, stripe_event_id);
CREATE INDEX risk_charges_email_idx ON risk_charges (tenant_id, email, charged_at);
CREATE INDEX risk_charges_card_idx ON risk_charges (tenant_id, card_fingerprint, charged_at);
CREATE INDEX risk_charges_ip_idx ON risk_charges (tenant_id, ip_address, charged_at);

-- One row per flagged payment (the primary key is what makes a flag happen once, whatever the
-- redeliveries and replays). status: open, safe, fraudulent. reasons: JSON [{code, message, points}].
CREATE TABLE risk_reviews (
    payment_id     TEXT PRIMARY KEY REFERENCES payments(id),
    tenant_id      TEXT NOT NULL,
    status         TEXT NOT NULL,
    score          BIGINT NOT NULL,
    threshold      BIGINT NOT NULL,
    reasons        TEXT NOT NULL,
    flagged_at     BIGINT NOT NULL,
    reviewed_by    TEXT,
    reviewed_at    BIGINT,
    note           TEXT,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX risk_reviews_tenant_time_idx ON risk_reviews (tenant_id, flagged_at, payment_id);
CREATE INDEX risk_reviews_tenant_status_idx ON risk_reviews (tenant_id, status, flagged_at);
