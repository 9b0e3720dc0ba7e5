-- Customer credit balances and a tenant's enabled currencies.
--
-- `tenant_currencies` holds explicit choices only: a currency without a row is enabled exactly
-- when it is the tenant's default currency (tenant_settings.default_currency, 'usd' without
-- settings). Activating or deactivating writes a row; the row then wins.
CREATE TABLE tenant_currencies (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    currency    TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT,
    PRIMARY KEY (tenant_id, currency)
);

-- One running balance per customer and currency: the row a debit updates with a conditional
-- `UPDATE … SET balance = balance - $n WHERE balance >= $n`, in the same transaction as its
-- ledger entry, so two concurrent debits can never both spend the same credit. `entries` counts
-- the ledger entries; each entry takes the next number as its `sequence`.
CREATE TABLE customer_balances (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    currency     TEXT NOT NULL,
    balance      INTEGER NOT NULL DEFAULT 0,
    entries      INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (customer_id, currency)
);
CREATE INDEX customer_balances_tenant_idx ON customer_balances (tenant_id, customer_id);

-- The append-only ledger: never updated, never deleted. `balance_after` is the running balance
-- right after this entry and `sequence` its position (1, 2, 3 … per customer and currency), so
-- replaying the entries in sequence order reproduces every balance_after; the sum of the signed
-- amounts equals customer_balances.balance.
CREATE TABLE customer_balance_transactions (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    customer_id    TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    type           TEXT NOT NULL CHECK (type IN ('credit','debit')),
    amount         INTEGER NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    actor          TEXT,
    actor_type     TEXT NOT NULL,
    balance_after  INTEGER NOT NULL,
    sequence       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
-- One entry per position: two transactions that both believed they came next could not both commit.
CREATE UNIQUE INDEX customer_balance_tx_sequence_idx ON customer_balance_transactions (customer_id, currency, sequence);
CREATE INDEX customer_balance_tx_customer_idx ON customer_balance_transactions (tenant_id, customer_id, created_at, id);

-- Whether a debit may take a customer's balance below zero (off by default).
ALTER TABLE tenant_settings ADD COLUMN allow_negative_balances INTEGER NOT NULL DEFAULT 0;
