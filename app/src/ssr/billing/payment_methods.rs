//! `payment_method.attached|detached` and `setup_intent.succeeded`: which saved payment methods
//! each customer has (the card's brand, last four digits, country and fingerprint; never more).

use super::{
    ensure_customer, lock_object,
    model::Stamp,
    read::{PaymentMethodSnap, SetupIntentSnap},
    tenant_mismatch,
};
use crate::{
    domain::{PrefixedId, TenantId},
    error::AppResult,
    ssr::{bus::Bus, db::Tx, ledger::stripe_event::StripeEvent},
};

pub async fn apply(bus: &Bus, tx: &mut Tx, tenant: &TenantId, event: &StripeEvent, snap: PaymentMethodSnap, now: i64) -> AppResult<()> {
    lock_object(bus, tx, &snap.stripe_id).await?;
    let existing: Option<(String, i64, i64, String)> =
        sqlx::query_as("SELECT tenant_id, stripe_event_at, status_rank, stripe_event_id FROM payment_methods WHERE stripe_payment_method_id = $1")
            .bind(&snap.stripe_id)
            .fetch_optional(&mut **tx)
            .await?;
    // Attached, then detached: a same-second detach is the later one.
    let stamp = Stamp { terminal: false, at: event.created, rank: if snap.attached { 1 } else { 2 }, event_id: event.id.clone() };
    if let Some((owner, at, rank, event_id)) = existing {
        if owner != tenant.as_str() {
            return Err(tenant_mismatch("payment method", &snap.stripe_id));
        }
        if !stamp.supersedes(&Stamp { terminal: false, at, rank, event_id }) {
            return Ok(());
        }
    }
    let customer_id = match &snap.customer {
        Some(c) => Some(ensure_customer(tx, tenant, c, event.account.as_deref(), now).await?),
        None => None,
    };
    sqlx::query(
        "INSERT INTO payment_methods (stripe_payment_method_id, tenant_id, customer_id, type, card_brand, card_last4, card_country, card_fingerprint,
             attached, status_rank, stripe_event_at, stripe_event_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
         ON CONFLICT (stripe_payment_method_id) DO UPDATE SET
             customer_id = $3, type = $4, card_brand = $5, card_last4 = $6, card_country = $7, card_fingerprint = $8, attached = $9,
             status_rank = $10, stripe_event_at = $11, stripe_event_id = $12, updated_at = $13",
    )
    .bind(&snap.stripe_id)
    .bind(tenant.as_str())
    .bind(&customer_id)
    .bind(&snap.kind)
    .bind(&snap.card_brand)
    .bind(&snap.card_last4)
    .bind(&snap.card_country)
    .bind(&snap.card_fingerprint)
    .bind(i64::from(snap.attached))
    .bind(stamp.rank)
    .bind(stamp.at)
    .bind(&stamp.event_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A succeeded SetupIntent saved its payment method for its customer. The method's own
/// `payment_method.attached` carries the details; until it arrives, a placeholder row says whose
/// it is (and a method paybus already knows is left alone).
pub async fn apply_setup_intent(bus: &Bus, tx: &mut Tx, tenant: &TenantId, event: &StripeEvent, snap: SetupIntentSnap, now: i64) -> AppResult<()> {
    let (Some(customer), Some(method)) = (&snap.customer, &snap.payment_method) else {
        return Ok(());
    };
    lock_object(bus, tx, method).await?;
    let customer_id = ensure_customer(tx, tenant, customer, event.account.as_deref(), now).await?;
    sqlx::query(
        "INSERT INTO payment_methods (stripe_payment_method_id, tenant_id, customer_id, type, attached, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, $5, $5) ON CONFLICT (stripe_payment_method_id) DO NOTHING",
    )
    .bind(method)
    .bind(tenant.as_str())
    .bind(&customer_id)
    .bind(&snap.kind)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let owner: String =
        sqlx::query_scalar("SELECT tenant_id FROM payment_methods WHERE stripe_payment_method_id = $1").bind(method).fetch_one(&mut **tx).await?;
    if owner != tenant.as_str() {
        return Err(tenant_mismatch("payment method", method));
    }
    Ok(())
}
