//! `invoice.*`: one row per Stripe invoice, linked to its customer, its subscription (by Stripe
//! id) and the paybus payment that paid it — whichever of the invoice and the payment arrives
//! first, the second one makes the link.

use sqlx::FromRow;

use super::{
    customer_email, ensure_customer, lock_object,
    model::{invoice_rank, Stamp},
    read::{InvoiceSnap, InvoiceTaxLine},
    tenant_mismatch,
};
use crate::{
    domain::{
        events::{payloads::InvoiceChanged, DomainEvent},
        InvoiceId, PrefixedId, TenantId,
    },
    error::AppResult,
    ssr::{
        bus::{Bus, EventContext},
        db::Tx,
        ids::new_id,
        ledger::{ingest::lock_payment, stripe_event::StripeEvent},
    },
};

#[derive(Debug, FromRow)]
struct Stored {
    id: String,
    tenant_id: String,
    status: String,
    status_rank: i64,
    stripe_event_at: i64,
    stripe_event_id: String,
    payment_id: Option<String>,
}

/// Same-second snapshots of one status: the one after more payment attempts is the later one.
fn rank_of(snap: &InvoiceSnap) -> (i64, bool) {
    let (rank, terminal) = invoice_rank(&snap.status);
    (rank * 1000 + snap.attempt_count.clamp(0, 999), terminal)
}

pub async fn apply(bus: &Bus, tx: &mut Tx, ctx: &EventContext, tenant: &TenantId, event: &StripeEvent, snap: InvoiceSnap, now: i64) -> AppResult<()> {
    lock_object(bus, tx, &snap.stripe_id).await?;
    // Taken before any write: the payment's own ingest links it under the same lock.
    lock_payment(tx, bus.db().dialect, snap.payment_intent.as_deref(), snap.charge.as_deref()).await?;
    let existing: Option<Stored> =
        sqlx::query_as("SELECT id, tenant_id, status, status_rank, stripe_event_at, stripe_event_id, payment_id FROM invoices WHERE stripe_invoice_id = $1")
            .bind(&snap.stripe_id)
            .fetch_optional(&mut **tx)
            .await?;
    if existing.as_ref().is_some_and(|row| row.tenant_id != tenant.as_str()) {
        return Err(tenant_mismatch("invoice", &snap.stripe_id));
    }
    let (rank, terminal) = rank_of(&snap);
    let stamp = Stamp { terminal, at: event.created, rank, event_id: event.id.clone() };
    if let Some(row) = &existing {
        let stored = Stamp { terminal: invoice_rank(&row.status).1, at: row.stripe_event_at, rank: row.status_rank, event_id: row.stripe_event_id.clone() };
        if !stamp.supersedes(&stored) {
            return Ok(());
        }
    }
    let customer_id = match &snap.customer {
        Some(c) => Some(ensure_customer(tx, tenant, c, event.account.as_deref(), now).await?),
        None => None,
    };
    let payment_id = match existing.as_ref().and_then(|r| r.payment_id.clone()) {
        Some(id) => Some(id),
        None => find_payment(tx, tenant, snap.payment_intent.as_deref(), snap.charge.as_deref()).await?,
    };
    let id = existing.as_ref().map(|r| r.id.clone()).unwrap_or_else(|| new_id::<InvoiceId>().to_string());
    sqlx::query(
        "INSERT INTO invoices (id, tenant_id, stripe_invoice_id, customer_id, stripe_customer_id, stripe_subscription_id, number, status, status_rank,
             currency, amount_due, amount_paid, amount_remaining, subtotal, tax, total, due_date, hosted_invoice_url, stripe_payment_intent,
             stripe_charge, payment_id, attempt_count, stripe_created, stripe_event_at, stripe_event_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $26)
         ON CONFLICT (stripe_invoice_id) DO UPDATE SET
             customer_id = $4, stripe_customer_id = $5, stripe_subscription_id = $6, number = $7, status = $8, status_rank = $9, currency = $10,
             amount_due = $11, amount_paid = $12, amount_remaining = $13, subtotal = $14, tax = $15, total = $16, due_date = $17,
             hosted_invoice_url = $18, stripe_payment_intent = $19, stripe_charge = $20, payment_id = $21, attempt_count = $22,
             stripe_created = $23, stripe_event_at = $24, stripe_event_id = $25, updated_at = $26",
    )
    .bind(&id)
    .bind(tenant.as_str())
    .bind(&snap.stripe_id)
    .bind(&customer_id)
    .bind(&snap.customer)
    .bind(&snap.subscription)
    .bind(&snap.number)
    .bind(&snap.status)
    .bind(rank)
    .bind(&snap.currency)
    .bind(snap.amount_due)
    .bind(snap.amount_paid)
    .bind(snap.amount_remaining)
    .bind(snap.subtotal)
    .bind(snap.tax)
    .bind(snap.total)
    .bind(snap.due_date)
    .bind(&snap.hosted_invoice_url)
    .bind(&snap.payment_intent)
    .bind(&snap.charge)
    .bind(&payment_id)
    .bind(snap.attempt_count)
    .bind(snap.created)
    .bind(stamp.at)
    .bind(&stamp.event_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    replace_tax_lines(tx, tenant, &id, &snap.tax_lines).await?;

    let email = match (&snap.customer_email, &customer_id) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(c)) => customer_email(tx, c).await?,
        (None, None) => None,
    };
    let payload = InvoiceChanged {
        invoice_id: id,
        stripe_id: snap.stripe_id.clone(),
        number: snap.number.clone(),
        customer_id,
        stripe_customer_id: snap.customer.clone(),
        customer_email: email,
        stripe_subscription_id: snap.subscription.clone(),
        status: snap.status.clone(),
        currency: snap.currency.clone(),
        amount_due: snap.amount_due,
        amount_paid: snap.amount_paid,
        amount_remaining: snap.amount_remaining,
        due_date: snap.due_date,
        payment_id,
        hosted_invoice_url: snap.hosted_invoice_url.clone(),
    };
    let before = existing.as_ref().map(|r| r.status.as_str());
    let mut events = Vec::new();
    if existing.is_none() {
        events.push(DomainEvent::InvoiceCreated(payload.clone()));
    }
    if snap.status == "open" && matches!(before, None | Some("draft")) {
        events.push(DomainEvent::InvoiceFinalized(payload.clone()));
    }
    if snap.status == "paid" && before != Some("paid") {
        events.push(DomainEvent::InvoicePaid(payload.clone()));
    }
    if event.event_type == "invoice.payment_failed" {
        events.push(DomainEvent::InvoicePaymentFailed(payload));
    }
    for domain in events {
        bus.publish(tx, ctx, domain).await?;
    }
    Ok(())
}

/// Stripe's tax amounts of the snapshot that just won replace the stored ones (the tax plugin's
/// invoice breakdown reads them).
async fn replace_tax_lines(tx: &mut Tx, tenant: &TenantId, invoice_id: &str, lines: &[InvoiceTaxLine]) -> AppResult<()> {
    sqlx::query("DELETE FROM invoice_tax_amounts WHERE invoice_id = $1").bind(invoice_id).execute(&mut **tx).await?;
    for (position, line) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO invoice_tax_amounts (invoice_id, position, tenant_id, name, percentage_e4, inclusive, taxable_amount, amount)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(invoice_id)
        .bind(position as i64)
        .bind(tenant.as_str())
        .bind(&line.name)
        .bind(line.percentage_e4)
        .bind(i64::from(line.inclusive))
        .bind(line.taxable_amount)
        .bind(line.amount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The tenant's payment with this PaymentIntent or charge, if paybus has it.
async fn find_payment(tx: &mut Tx, tenant: &TenantId, intent: Option<&str>, charge: Option<&str>) -> AppResult<Option<String>> {
    if intent.is_none() && charge.is_none() {
        return Ok(None);
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM payments WHERE tenant_id = $1 AND ((stripe_payment_intent IS NOT NULL AND stripe_payment_intent = $2) OR (stripe_charge IS NOT NULL AND stripe_charge = $3))
         ORDER BY created_at LIMIT 1",
    )
    .bind(tenant.as_str())
    .bind(intent)
    .bind(charge)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Called by payment ingest (under the payment's lock): invoices that named this payment before
/// paybus had it now point at it.
pub async fn link_payment(_bus: &Bus, tx: &mut Tx, tenant: &TenantId, payment_id: &str, intent: Option<&str>, charge: Option<&str>, now: i64) -> AppResult<()> {
    if intent.is_none() && charge.is_none() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE invoices SET payment_id = $2, updated_at = $5
         WHERE tenant_id = $1 AND payment_id IS NULL
           AND ((stripe_payment_intent IS NOT NULL AND stripe_payment_intent = $3) OR (stripe_charge IS NOT NULL AND stripe_charge = $4))",
    )
    .bind(tenant.as_str())
    .bind(payment_id)
    .bind(intent)
    .bind(charge)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
