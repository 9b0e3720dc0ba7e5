//! `customer.subscription.*`: one row per Stripe subscription, linked to its customer.

use sqlx::FromRow;

use super::{
    customer_email, ensure_customer, lock_object,
    model::{is_active, subscription_rank, Stamp},
    read::SubscriptionSnap,
    tenant_mismatch,
};
use crate::{
    domain::{
        events::{payloads::SubscriptionChanged, DomainEvent},
        PrefixedId, SubscriptionId, TenantId,
    },
    error::AppResult,
    ssr::{
        bus::{Bus, EventContext},
        db::Tx,
        ids::new_id,
        ledger::stripe_event::StripeEvent,
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
    price_id: Option<String>,
    quantity: i64,
    current_period_end: Option<i64>,
    cancel_at_period_end: i64,
    trial_end: Option<i64>,
    paused: i64,
}

pub async fn apply(bus: &Bus, tx: &mut Tx, ctx: &EventContext, tenant: &TenantId, event: &StripeEvent, snap: SubscriptionSnap, now: i64) -> AppResult<()> {
    lock_object(bus, tx, &snap.stripe_id).await?;
    let existing: Option<Stored> = sqlx::query_as(
        "SELECT id, tenant_id, status, status_rank, stripe_event_at, stripe_event_id, price_id, quantity, current_period_end, cancel_at_period_end,
             trial_end, paused
         FROM subscriptions WHERE stripe_subscription_id = $1",
    )
    .bind(&snap.stripe_id)
    .fetch_optional(&mut **tx)
    .await?;
    if existing.as_ref().is_some_and(|row| row.tenant_id != tenant.as_str()) {
        return Err(tenant_mismatch("subscription", &snap.stripe_id));
    }
    let (rank, terminal) = subscription_rank(&snap.status);
    let stamp = Stamp { terminal, at: event.created, rank, event_id: event.id.clone() };
    if let Some(row) = &existing {
        let stored =
            Stamp { terminal: subscription_rank(&row.status).1, at: row.stripe_event_at, rank: row.status_rank, event_id: row.stripe_event_id.clone() };
        if !stamp.supersedes(&stored) {
            return Ok(());
        }
    }
    let customer_id = ensure_customer(tx, tenant, &snap.customer, event.account.as_deref(), now).await?;
    let id = existing.as_ref().map(|r| r.id.clone()).unwrap_or_else(|| new_id::<SubscriptionId>().to_string());
    sqlx::query(
        "INSERT INTO subscriptions (id, tenant_id, stripe_subscription_id, customer_id, stripe_customer_id, status, status_rank, price_id, product_id,
             plan_nickname, unit_amount, currency, billing_interval, quantity, current_period_start, current_period_end, cancel_at_period_end,
             canceled_at, trial_end, paused, stripe_created, stripe_event_at, stripe_event_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $24)
         ON CONFLICT (stripe_subscription_id) DO UPDATE SET
             customer_id = $4, stripe_customer_id = $5, status = $6, status_rank = $7, price_id = $8, product_id = $9, plan_nickname = $10,
             unit_amount = $11, currency = $12, billing_interval = $13, quantity = $14, current_period_start = $15, current_period_end = $16,
             cancel_at_period_end = $17, canceled_at = $18, trial_end = $19, paused = $20, stripe_created = $21, stripe_event_at = $22,
             stripe_event_id = $23, updated_at = $24",
    )
    .bind(&id)
    .bind(tenant.as_str())
    .bind(&snap.stripe_id)
    .bind(&customer_id)
    .bind(&snap.customer)
    .bind(&snap.status)
    .bind(rank)
    .bind(&snap.price_id)
    .bind(&snap.product_id)
    .bind(&snap.plan_nickname)
    .bind(snap.unit_amount)
    .bind(&snap.currency)
    .bind(&snap.interval)
    .bind(snap.quantity)
    .bind(snap.current_period_start)
    .bind(snap.current_period_end)
    .bind(i64::from(snap.cancel_at_period_end))
    .bind(snap.canceled_at)
    .bind(snap.trial_end)
    .bind(i64::from(snap.paused))
    .bind(snap.created)
    .bind(stamp.at)
    .bind(&stamp.event_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;

    let payload = SubscriptionChanged {
        subscription_id: id,
        stripe_id: snap.stripe_id.clone(),
        customer_id: Some(customer_id.clone()),
        stripe_customer_id: Some(snap.customer.clone()),
        customer_email: customer_email(tx, &customer_id).await?,
        status: snap.status.clone(),
        previous_status: existing.as_ref().map(|r| r.status.clone()),
        price_id: snap.price_id.clone(),
        unit_amount: snap.unit_amount,
        currency: snap.currency.clone(),
        quantity: snap.quantity,
        current_period_end: snap.current_period_end,
        cancel_at_period_end: snap.cancel_at_period_end,
    };
    let was_active = existing.as_ref().is_some_and(|r| is_active(&r.status));
    let was_canceled = existing.as_ref().is_some_and(|r| r.status == "canceled");
    let mut events = Vec::new();
    if existing.is_none() {
        events.push(DomainEvent::SubscriptionCreated(payload.clone()));
    }
    if is_active(&snap.status) && !was_active {
        events.push(DomainEvent::SubscriptionActivated(payload));
    } else if snap.status == "canceled" && !was_canceled {
        events.push(DomainEvent::SubscriptionCanceled(payload));
    } else if existing.as_ref().is_some_and(|row| {
        (row.status.as_str(), &row.price_id, row.quantity, row.current_period_end, row.cancel_at_period_end != 0, row.trial_end, row.paused != 0)
            != (snap.status.as_str(), &snap.price_id, snap.quantity, snap.current_period_end, snap.cancel_at_period_end, snap.trial_end, snap.paused)
    }) {
        events.push(DomainEvent::SubscriptionUpdated(payload));
    }
    for domain in events {
        bus.publish(tx, ctx, domain).await?;
    }
    Ok(())
}
