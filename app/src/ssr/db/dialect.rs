//! The one place where SQLite and PostgreSQL differ.

use sqlx::migrate::Migrator;
use std::path::PathBuf;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Run on every new connection. SQLite: write-ahead logging so readers never block the
    /// writer, a busy timeout so concurrent writers wait instead of failing, foreign keys on.
    pub fn connection_setup(self) -> &'static [&'static str] {
        match self {
            Self::Sqlite => &[
                "PRAGMA journal_mode = WAL",
                "PRAGMA busy_timeout = 5000",
                "PRAGMA foreign_keys = ON",
                "PRAGMA synchronous = NORMAL",
            ],
            Self::Postgres => &[],
        }
    }
}

impl Dialect {
    pub fn begin_write_statement(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => Some("BEGIN IMMEDIATE"),
            Self::Postgres => None,
        }
    }
}

impl Dialect {
    /// Claims up to `$4` due deliveries for worker `$1` at time `$2`, leasing them until `$3`,
    /// and returns them. Due means pending and past `next_attempt_at`, or running under a lease
    /// that expired (its worker died). Postgres skips rows another replica is claiming right now
    /// (`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time, so the subquery is enough.
    pub fn claim_deliveries_sql(self) -> &'static str {
        match self {
            Self::Sqlite => {
                "UPDATE event_deliveries
                 SET status = 'running', attempts = attempts + 1, leased_by = $1, lease_until = $3, updated_at = $2
                 WHERE id IN (
                     SELECT id FROM event_deliveries
                     WHERE (status = 'pending' AND next_attempt_at <= $2) OR (status = 'running' AND lease_until < $2)
                     ORDER BY next_attempt_at LIMIT $4)
                 RETURNING id, event_id, listener, origin, attempts, max_attempts"
            }
            Self::Postgres => {
                "UPDATE event_deliveries
                 SET status = 'running', attempts = attempts + 1, leased_by = $1, lease_until = $3, updated_at = $2
                 WHERE id IN (
                     SELECT id FROM event_deliveries
                     WHERE (status = 'pending' AND next_attempt_at <= $2) OR (status = 'running' AND lease_until < $2)
                     ORDER BY next_attempt_at LIMIT $4
                     FOR UPDATE SKIP LOCKED)
                 RETURNING id, event_id, listener, origin, attempts, max_attempts"
            }
        }
    }
}

impl Dialect {
    /// Appended to a `SELECT` that reads a row the transaction will decide on (a payment's
    /// refundable amount). Postgres locks the row; SQLite's write transactions (`BEGIN IMMEDIATE`)
    /// already exclude every other writer.
    pub fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }
}

impl Dialect {
    /// Serialises transactions that work on the same key (`$1`) until they end. Postgres takes a
    /// transaction-scoped advisory lock; SQLite has one writer at a time already.
    pub fn lock_key_sql(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("SELECT pg_advisory_xact_lock(hashtext($1))"),
        }
    }
}

impl Dialect {
    /// Claims up to `$4` due messages of webhook endpoint `$5` for worker `$1` at time `$2`,
    /// leasing them until `$3`. Due means pending and past `next_attempt_at`, or delivering under
    /// an expired lease; a message of an ordered stream waits until the one before it is final
    /// (succeeded, failed or disabled). Postgres skips rows another replica is claiming.
    pub fn claim_webhook_messages_sql(self) -> &'static str {
        match self {
            Self::Sqlite => {
                "UPDATE webhook_messages
                 SET status = 'delivering', attempts = attempts + 1, leased_by = $1, lease_until = $3, updated_at = $2
                 WHERE id IN (
                     SELECT m.id FROM webhook_messages m
                     WHERE m.endpoint_id = $5
                       AND ((m.status = 'pending' AND m.next_attempt_at <= $2) OR (m.status = 'delivering' AND m.lease_until < $2))
                       AND (m.previous_id IS NULL OR EXISTS (SELECT 1 FROM webhook_messages p
                            WHERE p.id = m.previous_id AND p.status IN ('succeeded', 'failed', 'disabled')))
                     ORDER BY m.next_attempt_at, m.created_at LIMIT $4)
                 RETURNING id, tenant_id, endpoint_id, body, sequence, previous_id, attempts, next_trigger"
            }
            Self::Postgres => {
                "UPDATE webhook_messages
                 SET status = 'delivering', attempts = attempts + 1, leased_by = $1, lease_until = $3, updated_at = $2
                 WHERE id IN (
                     SELECT m.id FROM webhook_messages m
                     WHERE m.endpoint_id = $5
                       AND ((m.status = 'pending' AND m.next_attempt_at <= $2) OR (m.status = 'delivering' AND m.lease_until < $2))
                       AND (m.previous_id IS NULL OR EXISTS (SELECT 1 FROM webhook_messages p
                            WHERE p.id = m.previous_id AND p.status IN ('succeeded', 'failed', 'disabled')))
                     ORDER BY m.next_attempt_at, m.created_at LIMIT $4
                     FOR UPDATE OF m SKIP LOCKED)
                 RETURNING id, tenant_id, endpoint_id, body, sequence, previous_id, attempts, next_trigger"
            }
        }
    }
}

impl Dialect {
    /// Marks up to `$3` open invoices whose due date (Unix seconds) is before `$2` and that were
    /// never marked overdue as overdue at `$1`, and returns them. The `overdue_at IS NULL` guard
    /// makes it once per invoice; Postgres replicas skip rows another is marking right now.
    pub fn claim_overdue_invoices_sql(self) -> &'static str {
        match self {
            Self::Sqlite => {
                "UPDATE invoices SET overdue_at = $1, updated_at = $1
                 WHERE overdue_at IS NULL AND id IN (
                     SELECT id FROM invoices
                     WHERE status = 'open' AND due_date IS NOT NULL AND due_date < $2 AND overdue_at IS NULL
                     ORDER BY due_date, id LIMIT $3)
                 RETURNING id, tenant_id, stripe_invoice_id, number, customer_id, stripe_customer_id, stripe_subscription_id, status, currency,
                     amount_due, amount_paid, amount_remaining, due_date, payment_id, hosted_invoice_url"
            }
            Self::Postgres => {
                "UPDATE invoices SET overdue_at = $1, updated_at = $1
                 WHERE overdue_at IS NULL AND id IN (
                     SELECT id FROM invoices
                     WHERE status = 'open' AND due_date IS NOT NULL AND due_date < $2 AND overdue_at IS NULL
                     ORDER BY due_date, id LIMIT $3
                     FOR UPDATE SKIP LOCKED)
                 RETURNING id, tenant_id, stripe_invoice_id, number, customer_id, stripe_customer_id, stripe_subscription_id, status, currency,
                     amount_due, amount_paid, amount_remaining, due_date, payment_id, hosted_invoice_url"
            }
        }
    }
}

/// Postgres NOTIFY channel on which commits that published events wake every replica
/// (delivered at commit, dropped on rollback).
pub const OUTBOX_CHANNEL: &str = "paybus_outbox";

/// The directory of a `sqlite://path/to/file.db?…` URL, to create before connecting.
pub fn sqlite_file_dir(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    PathBuf::from(path).parent().filter(|p| !p.as_os_str().is_empty()).map(PathBuf::from)
}

/// Postgres reports a server that went away (admin shutdown, a dropped database) as a database
/// error with an SQLSTATE of class 57P / 08 rather than as an I/O error.
pub fn is_connection_lost(err: &dyn sqlx::error::DatabaseError) -> bool {
    err.code().is_some_and(|code| code.starts_with("57P") || code.starts_with("08") || code == "3D000")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dialect_follows_the_url_scheme() {
        assert_eq!(Dialect::from_url("sqlite://data/x.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("postgres://localhost/test"), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_url("mysql://x"), None);
    }

    #[test]
    fn the_sqlite_directory_is_found_in_the_url() {
        assert_eq!(sqlite_file_dir("sqlite://./data/paybus.db?mode=rwc"), Some(PathBuf::from("./data")));
        assert_eq!(sqlite_file_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_file_dir("sqlite://paybus.db"), None);
    }
}
