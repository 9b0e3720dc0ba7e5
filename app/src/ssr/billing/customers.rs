//! `customer.created|updated|deleted`: the customers table rows that come from Stripe.

use super::{
    ensure_customer, lock_object,
    model::{customer_rank, Stamp},
    read::CustomerSnap,
};
use crate::{
    domain::{
        events::{payloads::CustomerChanged, DomainEvent},
        TenantId,
    },
    error::AppResult,
    ssr::{
        bus::{Bus, EventContext},
        db::Tx,
        ledger::stripe_event::StripeEvent,
    },
};

type Stored = (String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, i64, i64, i64, String);

pub async fn apply(bus: &Bus, tx: &mut Tx, ctx: &EventContext, tenant: &TenantId, event: &StripeEvent, snap: CustomerSnap, now: i64) -> AppResult<()> {
    lock_object(bus, tx, &snap.stripe_id).await?;
    let id = ensure_customer(tx, tenant, &snap.stripe_id, event.account.as_deref(), now).await?;
    let (_, email, name, description, country, currency, deleted, event_at, rank, event_id): Stored = sqlx::query_as(
        "SELECT id, email, name, description, country, currency, deleted, stripe_event_at, status_rank, stripe_event_id FROM customers WHERE id = $1",
    )
    .bind(&id)
    .fetch_one(&mut **tx)
    .await?;
    let stored = Stamp { terminal: deleted != 0, at: event_at, rank, event_id };
    let (new_rank, terminal) = customer_rank(snap.deleted);
    let stamp = Stamp { terminal, at: event.created, rank: new_rank, event_id: event.id.clone() };
    if !stamp.supersedes(&stored) {
        return Ok(());
    }
    sqlx::query(
        "UPDATE customers SET email = $2, name = $3, description = $4, country = $5, currency = $6, deleted = $7, stripe_created = $8,
             connected_account = COALESCE($9, connected_account), stripe_event_at = $10, status_rank = $11, stripe_event_id = $12, updated_at = $13
         WHERE id = $1",
    )
    .bind(&id)
    .bind(&snap.email)
    .bind(&snap.name)
    .bind(&snap.description)
    .bind(&snap.country)
    .bind(&snap.currency)
    .bind(i64::from(snap.deleted))
    .bind(snap.created)
    .bind(&event.account)
    .bind(stamp.at)
    .bind(stamp.rank)
    .bind(&stamp.event_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;

    let payload =
        CustomerChanged { customer_id: id, stripe_id: snap.stripe_id.clone(), email: snap.email.clone(), name: snap.name.clone(), deleted: snap.deleted };
    let changed = (email, name, description, country, currency)
        != (snap.email.clone(), snap.name.clone(), snap.description.clone(), snap.country.clone(), snap.currency.clone());
    let domain = if snap.deleted && deleted == 0 {
        Some(DomainEvent::CustomerDeleted(payload))
    } else if stored.is_placeholder() {
        Some(DomainEvent::CustomerCreated(payload))
    } else if changed {
        Some(DomainEvent::CustomerUpdated(payload))
    } else {
        None
    };
    if let Some(domain) = domain {
        bus.publish(tx, ctx, domain).await?;
    }
    Ok(())
}
