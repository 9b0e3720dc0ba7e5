-- email-notifications: one row per mail the plugin owes (a payment's receipt, an alert to one
-- address, a user's welcome), claimed before sending and marked sent after, so two events about
-- one payment (captured, succeeded), a redelivery or a replay never mail twice.
CREATE TABLE plugin_mail_sends (
    dedupe_key   TEXT PRIMARY KEY,
    tenant_id    TEXT,
    kind         TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    delivery_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    claimed_at   BIGINT NOT NULL,
    sent_at      BIGINT
);
CREATE INDEX plugin_mail_sends_tenant_idx ON plugin_mail_sends (tenant_id, claimed_at);
