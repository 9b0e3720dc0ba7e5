-- Rules: a tenant's event pattern (type patterns and field conditions, stored as the JSON the API
-- takes) with one target. `rule_deliveries` holds one row per (rule, event) matched: it makes a
-- target act once per event whatever the redeliveries, and keeps the outcome for retries and
-- statistics. `rule_stats_daily` counts per rule and UTC day; `rule_archive` is the archive target.
CREATE TABLE rules (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    enabled        INTEGER NOT NULL,
    pattern        TEXT NOT NULL,
    target_type    TEXT NOT NULL CHECK (target_type IN ('webhook_endpoint','plugin','archive')),
    target_ref     TEXT,
    payload_style  TEXT NOT NULL CHECK (payload_style IN ('snapshot','thin')),
    created_by     TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX rules_tenant_enabled_idx ON rules (tenant_id, enabled);
CREATE INDEX rules_tenant_time_idx ON rules (tenant_id, created_at, id);

CREATE TABLE rule_deliveries (
    rule_id       TEXT NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    event_id      TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending','delivered','failed','skipped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    matched_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (rule_id, event_id)
);
CREATE INDEX rule_deliveries_tenant_time_idx ON rule_deliveries (tenant_id, matched_at);
CREATE INDEX rule_deliveries_rule_status_idx ON rule_deliveries (rule_id, status, updated_at);

CREATE TABLE rule_stats_daily (
    rule_id    TEXT NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    matched    INTEGER NOT NULL DEFAULT 0,
    delivered  INTEGER NOT NULL DEFAULT 0,
    failed     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rule_id, day)
);

CREATE TABLE rule_archive (
    rule_id        TEXT NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    event_id       TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    payload_style  TEXT NOT NULL,
    body           TEXT NOT NULL,
    occurred_at    INTEGER NOT NULL,
    archived_at    INTEGER NOT NULL,
    PRIMARY KEY (rule_id, event_id)
);
CREATE INDEX rule_archive_rule_time_idx ON rule_archive (rule_id, archived_at, event_id);
