//! Recurring billing mirrored from Stripe: customers, their payment methods, subscriptions and
//! invoices, applied by webhook ingest inside its one transaction (same dedupe, same audit row),
//! plus the overdue job.
//!
//! Every object is locked by its Stripe id for the length of the transaction (Postgres advisory
//! lock; SQLite has one writer), read, compared by [`model::Stamp`] with the snapshot it holds,
//! and written only when the new snapshot is newer — so a domain event follows only a real
//! transition, never a stale snapshot or a duplicate. An object that names a customer paybus has
//! not seen yet creates a placeholder customer row that the customer's own event fills in.

pub mod customers;
pub mod invoices;
pub mod model;
pub mod overdue;
pub mod payment_methods;
pub mod read;
pub mod subscriptions;

pub use read::{read, BillingUpdate};

use crate::{
    domain::{CustomerId, PrefixedId, TenantId},
    error::{AppError, AppResult},
    ssr::{
        bus::{Bus, EventContext},
        db::Tx,
        ids::new_id,
        ledger::stripe_event::StripeEvent,
    },
};

/// Applies one billing snapshot (already read from `event`) for `tenant`, inside ingest's
/// transaction.
pub async fn apply(bus: &Bus, tx: &mut Tx, ctx: &EventContext, tenant: &TenantId, event: &StripeEvent, update: BillingUpdate, now: i64) -> AppResult<()> {
    match update {
        BillingUpdate::Customer(snap) => customers::apply(bus, tx, ctx, tenant, event, snap, now).await,
        BillingUpdate::PaymentMethod(snap) => payment_methods::apply(bus, tx, tenant, event, snap, now).await,
        BillingUpdate::SetupIntent(snap) => payment_methods::apply_setup_intent(bus, tx, tenant, event, snap, now).await,
        BillingUpdate::Subscription(snap) => subscriptions::apply(bus, tx, ctx, tenant, event, snap, now).await,
        BillingUpdate::Invoice(snap) => invoices::apply(bus, tx, ctx, tenant, event, snap, now).await,
    }
}

/// Serialises the transactions that write one Stripe object (`cus_…`, `sub_…`, `in_…`, `pm_…`).
pub(crate) async fn lock_object(bus: &Bus, tx: &mut Tx, stripe_id: &str) -> AppResult<()> {
    if let Some(lock) = bus.db().dialect.lock_key_sql() {
        sqlx::query(lock).bind(stripe_id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The same Stripe object claimed by two tenants: applied to neither (ingest records the event
/// as `unassigned` with this message).
pub(crate) fn tenant_mismatch(what: &str, stripe_id: &str) -> AppError {
    AppError::conflict("billing_tenant_mismatch", format!("{what} {stripe_id} belongs to another tenant"), None)
}

/// Our id of the customer Stripe calls `stripe_customer_id`, creating a placeholder row (filled
/// in by the customer's own event, whenever it comes) when paybus has not seen it yet.
pub(crate) async fn ensure_customer(tx: &mut Tx, tenant: &TenantId, stripe_customer_id: &str, account: Option<&str>, now: i64) -> AppResult<String> {
    sqlx::query(
        "INSERT INTO customers (id, tenant_id, stripe_customer_id, connected_account, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (stripe_customer_id) DO NOTHING",
    )
    .bind(new_id::<CustomerId>().as_str())
    .bind(tenant.as_str())
    .bind(stripe_customer_id)
    .bind(account)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let (id, owner): (String, String) =
        sqlx::query_as("SELECT id, tenant_id FROM customers WHERE stripe_customer_id = $1").bind(stripe_customer_id).fetch_one(&mut **tx).await?;
    if owner != tenant.as_str() {
        return Err(tenant_mismatch("customer", stripe_customer_id));
    }
    Ok(id)
}

/// The email paybus knows for a customer, for event payloads (listeners mail and chat with it).
pub(crate) async fn customer_email(tx: &mut Tx, customer_id: &str) -> AppResult<Option<String>> {
    let email: Option<Option<String>> = sqlx::query_scalar("SELECT email FROM customers WHERE id = $1").bind(customer_id).fetch_optional(&mut **tx).await?;
    Ok(email.flatten())
}
