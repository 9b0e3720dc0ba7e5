//! The overdue job: open invoices past their due date become overdue, and `invoice.overdue` is
//! published — in the one transaction that marks them, so exactly once per invoice, whichever
//! replica runs it and however often. A later `paid` or `void` ends the overdue badge (the badge
//! is "open and marked"); the mark itself stays, so nothing is ever published twice.

use sqlx::FromRow;

use crate::{
    domain::{
        events::{payloads::InvoiceChanged, DomainEvent},
        PrefixedId, TenantId,
    },
    error::AppResult,
    ssr::{
        bus::{Bus, EventContext},
        db::Tx,
    },
};

/// Invoices marked per transaction: bounded, so one run never holds locks for long.
pub const BATCH: i64 = 100;

#[derive(Debug, FromRow)]
struct Claimed {
    id: String,
    tenant_id: String,
    stripe_invoice_id: String,
    number: Option<String>,
    customer_id: Option<String>,
    stripe_customer_id: Option<String>,
    stripe_subscription_id: Option<String>,
    status: String,
    currency: String,
    amount_due: i64,
    amount_paid: i64,
    amount_remaining: i64,
    due_date: Option<i64>,
    payment_id: Option<String>,
    hosted_invoice_url: Option<String>,
}

/// Marks every open invoice due before `now_ms` and publishes its `invoice.overdue`. Returns how
/// many this call marked (another replica's share is not counted).
#[tracing::instrument(name = "billing.overdue", skip(bus))]
pub async fn run_once(bus: &Bus, now_ms: i64) -> AppResult<u64> {
    let mut marked = 0;
    loop {
        let mut tx = bus.db().begin().await?;
        let claimed: Vec<Claimed> =
            sqlx::query_as(bus.db().dialect.claim_overdue_invoices_sql()).bind(now_ms).bind(now_ms.div_euclid(1000)).bind(BATCH).fetch_all(&mut *tx).await?;
        let n = claimed.len() as i64;
        for invoice in claimed {
            publish(bus, &mut tx, invoice).await?;
        }
        bus.commit(tx).await?;
        marked += n as u64;
        if n < BATCH {
            return Ok(marked);
        }
    }
}

async fn publish(bus: &Bus, tx: &mut Tx, row: Claimed) -> AppResult<()> {
    let email: Option<String> = match &row.customer_id {
        Some(c) => sqlx::query_scalar::<_, Option<String>>("SELECT email FROM customers WHERE id = $1").bind(c).fetch_optional(&mut **tx).await?.flatten(),
        None => None,
    };
    let tenant = TenantId::parse(&row.tenant_id).ok();
    let payload = InvoiceChanged {
        invoice_id: row.id,
        stripe_id: row.stripe_invoice_id,
        number: row.number,
        customer_id: row.customer_id,
        stripe_customer_id: row.stripe_customer_id,
        customer_email: email,
        stripe_subscription_id: row.stripe_subscription_id,
        status: row.status,
        currency: row.currency,
        amount_due: row.amount_due,
        amount_paid: row.amount_paid,
        amount_remaining: row.amount_remaining,
        due_date: row.due_date,
        payment_id: row.payment_id,
        hosted_invoice_url: row.hosted_invoice_url,
    };
    bus.publish(tx, &EventContext::system(tenant), DomainEvent::InvoiceOverdue(payload)).await?;
    Ok(())
}
