-- Tax: a tenant's rates per country, optional region and optional product tax code, and the tax
-- amounts Stripe reports per invoice. Percentages are exact: ten-thousandths of a percent
-- (19% = 190000, 8.875% = 88750). Rate selection and rounding live in app/src/domain/tax/calc.rs.
CREATE TABLE tax_rates (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    country        TEXT NOT NULL,
    region         TEXT,
    tax_code       TEXT,
    percentage_e4  INTEGER NOT NULL CHECK (percentage_e4 >= 0 AND percentage_e4 <= 1000000),
    inclusive      INTEGER NOT NULL DEFAULT 0,
    active         INTEGER NOT NULL DEFAULT 1,
    created_by     TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX tax_rates_tenant_time_idx ON tax_rates (tenant_id, created_at, id);
-- One active rate per scope: rate selection never has to break a tie.
CREATE UNIQUE INDEX tax_rates_active_scope_idx ON tax_rates (tenant_id, country, COALESCE(region, ''), COALESCE(tax_code, ''))
    WHERE active = 1;

-- Stripe's invoice.total_tax_amounts, one row per entry, when the invoice mirror stores them
-- (written in the same transaction as the invoice snapshot, replaced as a whole). An invoice
-- without rows here gets its breakdown from the tenant's rates (GET /api/v1/invoices/{id}/tax).
CREATE TABLE invoice_tax_amounts (
    invoice_id      TEXT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    percentage_e4   INTEGER,
    inclusive       INTEGER NOT NULL DEFAULT 0,
    taxable_amount  INTEGER NOT NULL DEFAULT 0,
    amount          INTEGER NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

-- The tax inside a checkout session's amount_total (added by the tax plugin).
ALTER TABLE checkout_sessions ADD COLUMN amount_tax INTEGER NOT NULL DEFAULT 0;
