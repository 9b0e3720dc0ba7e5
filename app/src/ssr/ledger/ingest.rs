//! Applying one Stripe event, in ONE transaction: audit row and dedupe, payment snapshot, refund
//! and dispute rows, append-only transactions, the payment's timeline, and the domain events the
//! change implies (through the bus outbox). The webhook handler answers 2xx only after this
//! commits; the reconciliation sweeper and `paybus stripe replay-file` use the same path.

use sqlx::FromRow;

use super::{
    model::{DisputeFact, PaymentFacts, Ranked, RefundFact},
    stripe_event::{handling, payment_update, Child, Handling, PaymentUpdate, StripeEvent},
};
use crate::{
    domain::{
        events::{payloads::*, DomainEvent},
        DisputeId, PaymentId, PrefixedId, RefundId, TenantId, TimelineEntryId, TransactionId, WebhookEventId,
    },
    error::{AppError, AppResult},
    ssr::{
        bus::{Bus, EventContext},
        db::Tx,
        ids::new_id,
    },
};

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Webhook,
    Sweeper,
    ReplayFile,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Sweeper => "sweeper",
            Source::ReplayFile => "replay_file",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub webhook_event_id: String,
    /// processed, duplicate, ignored, unassigned or unparsed.
    pub status: &'static str,
    pub tenant_id: Option<String>,
}

/// Records a request that failed verification: nothing in it is trusted, so no event id.
pub async fn record_rejected(bus: &Bus, raw: &[u8], reason: &str, now_ms: i64) -> AppResult<()> {
    // Keep enough of the body to debug a misconfigured endpoint, not a whole oversized upload.
    let kept: String = String::from_utf8_lossy(&raw[..raw.len().min(16 * 1024)]).into_owned();
    sqlx::query(
        "INSERT INTO webhook_events (id, stripe_event_id, source, status, error, raw, received_at) VALUES ($1, NULL, 'webhook', 'rejected', $2, $3, $4)",
    )
    .bind(new_id::<WebhookEventId>().as_str())
    .bind(reason)
    .bind(kept)
    .bind(now_ms)
    .execute(&bus.db().pool)
    .await?;
    Ok(())
}

/// Ingests one verified event. A duplicate (same Stripe event id) changes nothing.
pub async fn ingest(bus: &Bus, raw: &[u8], source: Source, now_ms: i64) -> AppResult<Ingested> {
    let event = match StripeEvent::parse(raw) {
        Ok(event) => event,
        Err(reason) => {
            record_rejected(bus, raw, &reason, now_ms).await?;
            return Err(AppError::invalid("event_invalid", format!("The body is not a Stripe event: {reason}"), None));
        }
    };
    let raw_text = String::from_utf8_lossy(raw).into_owned();
    // Stripe sends events about one payment concurrently. Two first sightings of a payment can
    // still race to create it (e.g. one keyed by charge, one by intent); the loser starts over
    // and then finds the winner's row.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ingest_once(bus, &event, &raw_text, source, now_ms).await {
            Err(e) if e.code() == LEDGER_RACE && attempt < 3 => {
                tracing::debug!(stripe_event = %event.id, attempt, "ledger race; retrying");
                continue;
            }
            other => return other,
        }
    }
}

const LEDGER_RACE: &str = "ledger_race";

async fn ingest_once(bus: &Bus, event: &StripeEvent, raw_text: &str, source: Source, now_ms: i64) -> AppResult<Ingested> {
    let mut tx = bus.db().begin().await?;
    let outcome = record_and_apply(bus, &mut tx, event, raw_text, source, now_ms).await?;
    if outcome.status == "duplicate" {
        tx.rollback().await?;
    } else {
        bus.commit(tx).await?;
    }
    Ok(outcome)
}

/// Ingests one event inside the caller's transaction, for bulk loads (the demo seed applies a
/// day of events per transaction). Same rules as [`ingest`]; the caller commits.
pub async fn ingest_in(bus: &Bus, tx: &mut Tx, raw: &[u8], source: Source, now_ms: i64) -> AppResult<Ingested> {
    let event = StripeEvent::parse(raw).map_err(|reason| AppError::invalid("event_invalid", format!("The body is not a Stripe event: {reason}"), None))?;
    record_and_apply(bus, tx, &event, &String::from_utf8_lossy(raw), source, now_ms).await
}

/// The audit row (deduplicated by Stripe event id), then the event's effects.
async fn record_and_apply(bus: &Bus, tx: &mut Tx, event: &StripeEvent, raw_text: &str, source: Source, now_ms: i64) -> AppResult<Ingested> {
    let audit_id = new_id::<WebhookEventId>().to_string();
    let inserted = sqlx::query(
        "INSERT INTO webhook_events (id, stripe_event_id, account, type, api_version, livemode, stripe_created, source, status, raw, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'received', $9, $10) ON CONFLICT (stripe_event_id) DO NOTHING",
    )
    .bind(&audit_id)
    .bind(&event.id)
    .bind(&event.account)
    .bind(&event.event_type)
    .bind(&event.api_version)
    .bind(i64::from(event.livemode))
    .bind(event.created)
    .bind(source.as_str())
    .bind(raw_text)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        let existing: (String, Option<String>) = sqlx::query_as("SELECT id, tenant_id FROM webhook_events WHERE stripe_event_id = $1")
            .bind(&event.id)
            .fetch_one(&mut **tx)
            .await?;
        return Ok(Ingested { webhook_event_id: existing.0, status: "duplicate", tenant_id: existing.1 });
    }
    apply(bus, tx, &audit_id, event).await
}

/// Applies a stored event again: an `unparsed` one after an upgrade taught paybus its shape, or
/// an `unassigned` one once its connected account belongs to a tenant. The status check and the
/// application share one transaction, so two operators clicking at once apply it once.
pub async fn reprocess(bus: &Bus, webhook_event_id: &str) -> AppResult<Ingested> {
    let raw: Option<(String, String)> = sqlx::query_as("SELECT raw, status FROM webhook_events WHERE id = $1 AND stripe_event_id IS NOT NULL")
        .bind(webhook_event_id)
        .fetch_optional(&bus.db().pool)
        .await?;
    let (raw, _) = raw.ok_or_else(|| AppError::not_found("webhook_event"))?;
    let event = StripeEvent::parse(raw.as_bytes()).map_err(|e| AppError::unprocessable("event_invalid", format!("The stored event is not a Stripe event: {e}"), None))?;
    let mut tx = bus.db().begin().await?;
    let claimed = sqlx::query("UPDATE webhook_events SET status = 'received', error = NULL WHERE id = $1 AND status IN ('unparsed', 'unassigned')")
        .bind(webhook_event_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if claimed == 0 {
        return Err(AppError::conflict(
            "webhook_event_already_processed",
            "Only unparsed or unassigned events can be re-processed; this one was applied or ignored.",
            None,
        ));
    }
    let outcome = apply(bus, &mut tx, webhook_event_id, &event).await?;
    bus.commit(tx).await?;
    Ok(outcome)
}

async fn finish_audit(tx: &mut Tx, id: &str, status: &str, tenant: Option<&str>, error: Option<&str>, now: i64) -> AppResult<()> {
    sqlx::query("UPDATE webhook_events SET status = $2, tenant_id = $3, error = $4, processed_at = $5 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(tenant)
        .bind(error)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The tenant an event belongs to: the owner of its connected account, or — for objects paybus
/// created on the platform account — the tenant named in their metadata. Never a guess.
async fn resolve_tenant(tx: &mut Tx, event: &StripeEvent) -> AppResult<Option<TenantId>> {
    let found: Option<String> = match &event.account {
        Some(account) => sqlx::query_scalar("SELECT tenant_id FROM stripe_accounts WHERE account_id = $1").bind(account).fetch_optional(&mut **tx).await?,
        None => match event.tenant_hint() {
            Some(hint) => sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1").bind(hint).fetch_optional(&mut **tx).await?,
            None => None,
        },
    };
    Ok(found.and_then(|t| TenantId::parse(&t).ok()))
}

async fn apply(bus: &Bus, tx: &mut Tx, audit_id: &str, event: &StripeEvent) -> AppResult<Ingested> {
    let now = bus.now_ms();
    let how = handling(&event.event_type);
    let tenant = resolve_tenant(tx, event).await?;
    let tenant_s = tenant.as_ref().map(|t| t.to_string());
    let ctx = EventContext::webhook(tenant.clone(), &event.id);
    let webhook_payload = |error: Option<String>| WebhookChanged {
        webhook_event_id: audit_id.to_owned(),
        stripe_event_id: event.id.clone(),
        stripe_type: event.event_type.clone(),
        account: event.account.clone(),
        error,
    };
    let done = |status: &'static str| Ingested { webhook_event_id: audit_id.to_owned(), status, tenant_id: tenant_s.clone() };

    if how == Handling::Ignored {
        finish_audit(tx, audit_id, "ignored", tenant_s.as_deref(), None, now).await?;
        return Ok(done("ignored"));
    }
    let Some(tenant) = tenant.clone() else {
        let why = match &event.account {
            Some(a) => format!("no tenant owns the connected account {a}"),
            None => "a platform event without a paybus tenant in its metadata".to_owned(),
        };
        finish_audit(tx, audit_id, "unassigned", None, Some(&why), now).await?;
        bus.publish(tx, &ctx, DomainEvent::WebhookReceived(webhook_payload(Some(why)))).await?;
        return Ok(done("unassigned"));
    };

    if how == Handling::CheckoutSession {
        checkout_session_status(tx, &tenant, event, now).await?;
    }
    let result = match how {
        Handling::Account => apply_account(bus, tx, &ctx, &tenant, event, now).await,
        Handling::AccountDeauthorized => {
            let account = event.account.clone().unwrap_or_default();
            let payload = ConnectAccountChanged { account_id: account, charges_enabled: false, payouts_enabled: false, details_submitted: false };
            bus.publish(tx, &ctx, DomainEvent::ConnectAccountDeauthorized(payload)).await.map(|_| ())
        }
        Handling::Payout => {
            let o = &event.data.object;
            let payload = BillingObjectChanged {
                stripe_id: o.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
                customer: None,
                status: o.get("status").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
                amount: o.get("amount").and_then(|v| v.as_i64()),
                currency: o.get("currency").and_then(|v| v.as_str()).map(str::to_owned),
            };
            let domain = if event.event_type == "payout.paid" { DomainEvent::PayoutPaid(payload) } else { DomainEvent::PayoutFailed(payload) };
            bus.publish(tx, &ctx, domain).await.map(|_| ())
        }
        how if how.is_billing() => match crate::ssr::billing::read(event, how) {
            Ok(update) => crate::ssr::billing::apply(bus, tx, &ctx, &tenant, event, update, now).await,
            Err(reason) => {
                tracing::error!(stripe_event = %event.id, event_type = %event.event_type, %reason, "Stripe billing event could not be read");
                finish_audit(tx, audit_id, "unparsed", Some(tenant.as_str()), Some(&reason), now).await?;
                bus.publish(tx, &ctx, DomainEvent::WebhookUnparsed(webhook_payload(Some(reason)))).await?;
                return Ok(done("unparsed"));
            }
        },
        _ => match payment_update(event, how) {
            Ok(Some(update)) => apply_payment(bus, tx, &ctx, &tenant, event, update, now).await,
            Ok(None) => Ok(()),
            Err(reason) => {
                // Stripe changed something we depend on: keep the event, say so loudly, and let
                // an operator re-process it after an upgrade. Stripe still gets its 2xx.
                tracing::error!(stripe_event = %event.id, event_type = %event.event_type, %reason, "Stripe event could not be read");
                finish_audit(tx, audit_id, "unparsed", Some(tenant.as_str()), Some(&reason), now).await?;
                bus.publish(tx, &ctx, DomainEvent::WebhookUnparsed(webhook_payload(Some(reason)))).await?;
                return Ok(done("unparsed"));
            }
        },
    };
    match result {
        Ok(()) => {
            finish_audit(tx, audit_id, "processed", Some(tenant.as_str()), None, now).await?;
            bus.publish(tx, &ctx, DomainEvent::WebhookProcessed(webhook_payload(None))).await?;
            Ok(done("processed"))
        }
        Err(e) if e.code() == LEDGER_RACE => Err(e),
        Err(AppError::Conflict { message, .. }) => {
            finish_audit(tx, audit_id, "unassigned", Some(tenant.as_str()), Some(&message), now).await?;
            Ok(done("unassigned"))
        }
        Err(e) => Err(e),
    }
}

/// Sessions created through paybus follow Stripe's word; an expired one gives its product unit
/// back. The `status = 'open'` guard makes a duplicate or late event change nothing twice.
async fn checkout_session_status(tx: &mut Tx, tenant: &TenantId, event: &StripeEvent, now: i64) -> AppResult<()> {
    let Some(session) = event.data.object.get("id").and_then(|v| v.as_str()) else { return Ok(()) };
    let new_status = match event.event_type.as_str() {
        "checkout.session.expired" => "expired",
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => "complete",
        _ => return Ok(()),
    };
    if new_status == "expired" {
        sqlx::query(
            "UPDATE products SET purchases = purchases - 1, updated_at = $3
             WHERE purchases > 0 AND id = (SELECT product_id FROM checkout_sessions WHERE stripe_session_id = $1 AND tenant_id = $2 AND status = 'open')",
        )
        .bind(session)
        .bind(tenant.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE checkout_sessions SET status = $3, updated_at = $4 WHERE stripe_session_id = $1 AND tenant_id = $2 AND status = 'open'")
        .bind(session)
        .bind(tenant.as_str())
        .bind(new_status)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn apply_account(bus: &Bus, tx: &mut Tx, ctx: &EventContext, tenant: &TenantId, event: &StripeEvent, now: i64) -> AppResult<()> {
    let o = &event.data.object;
    let flag = |name: &str| o.get(name).and_then(|v| v.as_bool()).unwrap_or(false);
    let account = o.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let requirements = o.get("requirements").map(|r| r.to_string());
    // Older snapshots never overwrite newer ones.
    sqlx::query(
        "UPDATE stripe_accounts SET charges_enabled = $3, payouts_enabled = $4, details_submitted = $5, requirements = $6,
             stripe_updated_at = $7, updated_at = $8
         WHERE account_id = $1 AND tenant_id = $2 AND stripe_updated_at <= $7",
    )
    .bind(&account)
    .bind(tenant.as_str())
    .bind(i64::from(flag("charges_enabled")))
    .bind(i64::from(flag("payouts_enabled")))
    .bind(i64::from(flag("details_submitted")))
    .bind(requirements)
    .bind(event.created)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let payload = ConnectAccountChanged {
        account_id: account,
        charges_enabled: flag("charges_enabled"),
        payouts_enabled: flag("payouts_enabled"),
        details_submitted: flag("details_submitted"),
    };
    bus.publish(tx, ctx, DomainEvent::ConnectAccountUpdated(payload)).await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
struct PaymentRow {
    id: String,
    tenant_id: String,
    stripe_payment_intent: Option<String>,
    stripe_charge: Option<String>,
    amount: i64,
    currency: String,
    amount_captured: i64,
    charge_amount_refunded: i64,
    intent_status: Option<String>,
    intent_status_rank: i64,
    intent_status_at: i64,
    failed: i64,
    failure_message: Option<String>,
    customer_email: Option<String>,
    status: String,
    stripe_created: Option<i64>,
}

const PAYMENT_COLUMNS: &str = "id, tenant_id, stripe_payment_intent, stripe_charge, amount, currency, amount_captured, charge_amount_refunded,
    intent_status, intent_status_rank, intent_status_at, failed, failure_message, customer_email, status, stripe_created";

async fn find_payment(tx: &mut Tx, update: &PaymentUpdate) -> AppResult<Option<PaymentRow>> {
    if let Some(pi) = &update.key.payment_intent {
        let row: Option<PaymentRow> = sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE stripe_payment_intent = $1"))
            .bind(pi)
            .fetch_optional(&mut **tx)
            .await?;
        if row.is_some() {
            return Ok(row);
        }
    }
    if let Some(charge) = &update.key.charge {
        return Ok(sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE stripe_charge = $1"))
            .bind(charge)
            .fetch_optional(&mut **tx)
            .await?);
    }
    Ok(None)
}

async fn load_facts(tx: &mut Tx, row: &PaymentRow) -> AppResult<PaymentFacts> {
    let mut facts = PaymentFacts {
        amount: row.amount,
        currency: row.currency.clone(),
        amount_captured: row.amount_captured,
        charge_amount_refunded: row.charge_amount_refunded,
        intent_status: row.intent_status.as_ref().map(|s| Ranked::new(s, row.intent_status_rank.clamp(0, 255) as u8, row.intent_status_at)),
        failed: row.failed != 0,
        failure_message: row.failure_message.clone(),
        customer_email: row.customer_email.clone(),
        created: row.stripe_created,
        ..Default::default()
    };
    let refunds: Vec<(String, i64, String, i64, i64, Option<String>)> =
        sqlx::query_as("SELECT stripe_refund_id, amount, status, status_rank, status_at, reason FROM refunds WHERE payment_id = $1 AND stripe_refund_id IS NOT NULL")
            .bind(&row.id)
            .fetch_all(&mut **tx)
            .await?;
    for (id, amount, status, rank, at, reason) in refunds {
        facts.refunds.insert(id, RefundFact { amount, status: Ranked::new(&status, rank.clamp(0, 255) as u8, at), reason });
    }
    let disputes: Vec<(String, i64, String, String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT stripe_dispute_id, amount, reason, status, status_rank, status_at, evidence_due_by FROM disputes WHERE payment_id = $1",
    )
    .bind(&row.id)
    .fetch_all(&mut **tx)
    .await?;
    for (id, amount, reason, status, rank, at, due) in disputes {
        facts.disputes.insert(id, DisputeFact { amount, reason, status: Ranked::new(&status, rank.clamp(0, 255) as u8, at), evidence_due_by: due });
    }
    Ok(facts)
}

fn payment_payload(id: &str, row_key: &PaymentUpdate, facts: &PaymentFacts, connected: Option<&String>) -> PaymentChanged {
    PaymentChanged {
        payment_id: id.to_owned(),
        stripe_id: row_key.key.payment_intent.clone().or_else(|| row_key.key.charge.clone()).unwrap_or_default(),
        amount: facts.amount,
        amount_captured: facts.amount_captured,
        amount_refunded: facts.amount_refunded(),
        currency: facts.currency.clone(),
        status: facts.status().to_owned(),
        customer_email: facts.customer_email.clone(),
        connected_account: connected.cloned(),
        failure_message: facts.failure_message.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
/// Serialises everything that writes one payment (webhook ingest, refund bookkeeping) within
/// their transactions, keyed by its Stripe ids in a fixed order so two holders never deadlock.
/// Take it before touching the payment's rows.
pub async fn lock_payment(tx: &mut Tx, dialect: crate::ssr::db::Dialect, intent: Option<&str>, charge: Option<&str>) -> AppResult<()> {
    if let Some(lock) = dialect.lock_key_sql() {
        let mut keys: Vec<&str> = intent.into_iter().chain(charge).collect();
        keys.sort_unstable();
        for key in keys {
            sqlx::query(lock).bind(key).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

async fn apply_payment(bus: &Bus, tx: &mut Tx, ctx: &EventContext, tenant: &TenantId, event: &StripeEvent, update: PaymentUpdate, now: i64) -> AppResult<()> {
    // One payment's events apply one after another (read, merge, write), never interleaved.
    lock_payment(tx, bus.db().dialect, update.key.payment_intent.as_deref(), update.key.charge.as_deref()).await?;
    let existing = find_payment(tx, &update).await?;
    if let Some(row) = &existing {
        if row.tenant_id != tenant.as_str() {
            // The same Stripe object claimed by two tenants: apply to neither.
            return Err(AppError::conflict("payment_tenant_mismatch", format!("{} belongs to another tenant", row.id), None));
        }
    }
    let (payment_id, mut facts, before) = match &existing {
        Some(row) => (row.id.clone(), load_facts(tx, row).await?, Some(row.status.clone())),
        None => (new_id::<PaymentId>().to_string(), PaymentFacts::default(), None),
    };
    let before_facts = facts.clone();
    for fact in &update.facts {
        facts.apply(fact);
    }
    let status = facts.status();
    let intent = facts.intent_status.clone();
    let pi = update.key.payment_intent.clone().or_else(|| existing.as_ref().and_then(|r| r.stripe_payment_intent.clone()));
    let charge = update.key.charge.clone().or_else(|| existing.as_ref().and_then(|r| r.stripe_charge.clone()));
    sqlx::query(
        "INSERT INTO payments (id, tenant_id, stripe_payment_intent, stripe_charge, connected_account, amount, currency, amount_captured,
             charge_amount_refunded, amount_refunded, amount_disputed, amount_disputed_lost, intent_status, intent_status_rank, intent_status_at,
             failed, failure_message, customer_email, status, stripe_created, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)
         ON CONFLICT (id) DO UPDATE SET stripe_payment_intent = $3, stripe_charge = $4, connected_account = COALESCE(payments.connected_account, $5),
             amount = $6, currency = $7, amount_captured = $8, charge_amount_refunded = $9, amount_refunded = $10, amount_disputed = $11,
             amount_disputed_lost = $12, intent_status = $13, intent_status_rank = $14, intent_status_at = $15, failed = $16,
             failure_message = $17, customer_email = $18, status = $19, stripe_created = $20, updated_at = $21",
    )
    .bind(&payment_id)
    .bind(tenant.as_str())
    .bind(&pi)
    .bind(&charge)
    .bind(&event.account)
    .bind(facts.amount)
    .bind(&facts.currency)
    .bind(facts.amount_captured)
    .bind(facts.charge_amount_refunded)
    .bind(facts.amount_refunded())
    .bind(facts.amount_disputed_open())
    .bind(facts.amount_disputed_lost())
    .bind(intent.as_ref().map(|i| i.status.clone()))
    .bind(intent.as_ref().map(|i| i64::from(i.rank)).unwrap_or(0))
    .bind(intent.as_ref().map(|i| i.seen_at).unwrap_or(0))
    .bind(i64::from(facts.failed))
    .bind(&facts.failure_message)
    .bind(&facts.customer_email)
    .bind(status)
    .bind(facts.created)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if crate::ssr::db::is_unique_violation(&e) {
            AppError::conflict(LEDGER_RACE, "another event created this payment at the same moment", None)
        } else {
            e.into()
        }
    })?;

    // Invoices that named this payment before it existed now point at it.
    crate::ssr::billing::invoices::link_payment(bus, tx, tenant, &payment_id, pi.as_deref(), charge.as_deref(), now).await?;

    let mut domain_events: Vec<DomainEvent> = Vec::new();
    match &update.child {
        Some(Child::Refund { stripe_id, amount, currency, reason, failure_reason, .. }) => {
            let merged = &facts.refunds[stripe_id];
            let was = before_facts.refunds.get(stripe_id);
            let refund_id: Option<String> = sqlx::query_scalar("SELECT id FROM refunds WHERE stripe_refund_id = $1").bind(stripe_id).fetch_optional(&mut **tx).await?;
            let refund_id = match refund_id {
                Some(id) => {
                    sqlx::query("UPDATE refunds SET amount = $2, status = $3, status_rank = $4, status_at = $5, failure_reason = COALESCE($6, failure_reason), updated_at = $7 WHERE id = $1")
                        .bind(&id)
                        .bind(merged.amount)
                        .bind(&merged.status.status)
                        .bind(i64::from(merged.status.rank))
                        .bind(merged.status.seen_at)
                        .bind(failure_reason)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    id
                }
                None => {
                    let id = new_id::<RefundId>().to_string();
                    sqlx::query(
                        "INSERT INTO refunds (id, tenant_id, payment_id, stripe_refund_id, amount, currency, status, status_rank, status_at, reason, failure_reason, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
                    )
                    .bind(&id)
                    .bind(tenant.as_str())
                    .bind(&payment_id)
                    .bind(stripe_id)
                    .bind(merged.amount)
                    .bind(currency)
                    .bind(&merged.status.status)
                    .bind(i64::from(merged.status.rank))
                    .bind(merged.status.seen_at)
                    .bind(reason)
                    .bind(failure_reason)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    id
                }
            };
            let request_id = event.data.object.get("metadata").and_then(|m| m.get("paybus_refund_request")).and_then(|v| v.as_str());
            super::refund_requests::settle(tx, tenant.as_str(), stripe_id, request_id, now).await?;
            let payload = RefundChanged {
                refund_id: refund_id.clone(),
                stripe_id: Some(stripe_id.clone()),
                payment_id: payment_id.clone(),
                amount: *amount,
                currency: currency.clone(),
                status: merged.status.status.clone(),
                reason: reason.clone(),
                failure_reason: failure_reason.clone(),
            };
            if was.is_none() {
                domain_events.push(DomainEvent::RefundCreated(payload.clone()));
            }
            if was.map(|w| &w.status.status) != Some(&merged.status.status) {
                match merged.status.status.as_str() {
                    "succeeded" => {
                        transaction(tx, tenant, &payment_id, "refund", merged.amount, currency, stripe_id, &event.id, event.created, now).await?;
                        domain_events.push(DomainEvent::RefundSucceeded(payload));
                    }
                    "failed" | "canceled" => domain_events.push(DomainEvent::RefundFailed(payload)),
                    _ => domain_events.push(DomainEvent::RefundUpdated(payload)),
                }
            }
        }
        Some(Child::Dispute { stripe_id, currency, .. }) => {
            let merged = &facts.disputes[stripe_id];
            let was = before_facts.disputes.get(stripe_id);
            let dispute_id: Option<String> = sqlx::query_scalar("SELECT id FROM disputes WHERE stripe_dispute_id = $1").bind(stripe_id).fetch_optional(&mut **tx).await?;
            let dispute_id = match dispute_id {
                Some(id) => {
                    sqlx::query("UPDATE disputes SET amount = $2, status = $3, status_rank = $4, status_at = $5, evidence_due_by = $6, updated_at = $7 WHERE id = $1")
                        .bind(&id)
                        .bind(merged.amount)
                        .bind(&merged.status.status)
                        .bind(i64::from(merged.status.rank))
                        .bind(merged.status.seen_at)
                        .bind(merged.evidence_due_by)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    id
                }
                None => {
                    let id = new_id::<DisputeId>().to_string();
                    sqlx::query(
                        "INSERT INTO disputes (id, tenant_id, payment_id, stripe_dispute_id, amount, currency, reason, status, status_rank, status_at, evidence_due_by, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
                    )
                    .bind(&id)
                    .bind(tenant.as_str())
                    .bind(&payment_id)
                    .bind(stripe_id)
                    .bind(merged.amount)
                    .bind(currency)
                    .bind(&merged.reason)
                    .bind(&merged.status.status)
                    .bind(i64::from(merged.status.rank))
                    .bind(merged.status.seen_at)
                    .bind(merged.evidence_due_by)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    id
                }
            };
            let payload = DisputeChanged {
                dispute_id,
                stripe_id: stripe_id.clone(),
                payment_id: Some(payment_id.clone()),
                amount: merged.amount,
                currency: currency.clone(),
                reason: merged.reason.clone(),
                status: merged.status.status.clone(),
            };
            if was.is_none() {
                transaction(tx, tenant, &payment_id, "dispute_opened", merged.amount, currency, stripe_id, &event.id, event.created, now).await?;
                domain_events.push(DomainEvent::DisputeCreated(payload.clone()));
            }
            match event.event_type.as_str() {
                "charge.dispute.funds_withdrawn" => {
                    transaction(tx, tenant, &payment_id, "dispute_funds_withdrawn", merged.amount, currency, stripe_id, &event.id, event.created, now).await?;
                    domain_events.push(DomainEvent::DisputeFundsWithdrawn(payload.clone()));
                }
                "charge.dispute.funds_reinstated" => {
                    transaction(tx, tenant, &payment_id, "dispute_funds_reinstated", merged.amount, currency, stripe_id, &event.id, event.created, now).await?;
                    domain_events.push(DomainEvent::DisputeFundsReinstated(payload.clone()));
                }
                _ => {}
            }
            let closed_now = merged.status.rank == u8::MAX && was.is_none_or(|w| w.status.rank != u8::MAX);
            if closed_now {
                let kind = if merged.is_lost() { "dispute_lost" } else { "dispute_won" };
                transaction(tx, tenant, &payment_id, kind, merged.amount, currency, stripe_id, &event.id, event.created, now).await?;
                domain_events.push(DomainEvent::DisputeClosed(payload));
            } else if was.is_some_and(|w| w.status != merged.status) {
                domain_events.push(DomainEvent::DisputeUpdated(payload));
            }
        }
        None => {}
    }

    // The capture, once, when money first arrives.
    if facts.amount_captured > 0 && before_facts.amount_captured == 0 {
        let object = charge.clone().or_else(|| pi.clone()).unwrap_or_default();
        transaction(tx, tenant, &payment_id, "capture", facts.amount_captured, &facts.currency, &object, &event.id, event.created, now).await?;
        domain_events.push(DomainEvent::PaymentCaptured(payment_payload(&payment_id, &update, &facts, event.account.as_ref())));
    }
    if before.as_deref() != Some(status) {
        let payload = payment_payload(&payment_id, &update, &facts, event.account.as_ref());
        let status_event = match status {
            "succeeded" => Some(DomainEvent::PaymentSucceeded(payload)),
            "failed" => Some(DomainEvent::PaymentFailed(payload)),
            "canceled" => Some(DomainEvent::PaymentCanceled(payload)),
            "refunded" => Some(DomainEvent::PaymentRefunded(payload)),
            "partially_refunded" => Some(DomainEvent::PaymentPartiallyRefunded(payload)),
            "requires_capture" => Some(DomainEvent::PaymentAuthorized(payload)),
            _ => None,
        };
        domain_events.extend(status_event);
    }
    if event.event_type.starts_with("checkout.session.") {
        let o = &event.data.object;
        let payload = CheckoutSessionChanged {
            session_id: o.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
            payment_id: Some(payment_id.clone()),
            amount_total: o.get("amount_total").and_then(|v| v.as_i64()),
            currency: o.get("currency").and_then(|v| v.as_str()).map(str::to_owned),
            customer_email: facts.customer_email.clone(),
            status: o.get("status").and_then(|v| v.as_str()).unwrap_or_default().to_owned(),
        };
        domain_events.push(match event.event_type.as_str() {
            "checkout.session.expired" => DomainEvent::CheckoutSessionExpired(payload),
            _ => DomainEvent::CheckoutSessionCompleted(payload),
        });
    }

    // What the charges say about fraud, for the risk plugin's rules.
    crate::ssr::plugins::builtin::risk::signals::record(tx, tenant, &payment_id, event, now).await?;
    sqlx::query(
        "INSERT INTO event_logs (id, tenant_id, payment_id, source, title, stripe_event_id, stripe_type, status_after, detail, occurred_at, created_at)
         VALUES ($1, $2, $3, 'webhook', $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id::<TimelineEntryId>().as_str())
    .bind(tenant.as_str())
    .bind(&payment_id)
    .bind(timeline_title(&event.event_type))
    .bind(&event.id)
    .bind(&event.event_type)
    .bind(status)
    .bind(serde_json::json!({ "before": before, "after": status, "amount_refunded": facts.amount_refunded(), "amount_captured": facts.amount_captured }).to_string())
    .bind(event.created * 1000)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for domain in domain_events {
        bus.publish(tx, ctx, domain).await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn transaction(
    tx: &mut Tx,
    tenant: &TenantId,
    payment_id: &str,
    kind: &str,
    amount: i64,
    currency: &str,
    object: &str,
    stripe_event: &str,
    occurred_secs: i64,
    now: i64,
) -> AppResult<()> {
    let inserted = sqlx::query(
        "INSERT INTO payment_transactions (id, tenant_id, payment_id, kind, amount, currency, stripe_object_id, stripe_event_id, occurred_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (payment_id, kind, stripe_object_id) DO NOTHING",
    )
    .bind(new_id::<TransactionId>().as_str())
    .bind(tenant.as_str())
    .bind(payment_id)
    .bind(kind)
    .bind(amount)
    .bind(currency)
    .bind(object)
    .bind(stripe_event)
    .bind(occurred_secs * 1000)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    // Money moved by Stripe's word: the payment audit log says so, once per movement.
    if inserted == 1 {
        let entry = crate::ssr::services::payment_audit::Entry {
            tenant_id: tenant.as_str(),
            actor: Some("stripe"),
            actor_type: "stripe",
            action: &format!("webhook.{kind}"),
            payment_id: Some(payment_id),
            amount: Some(amount),
            currency: Some(currency),
            result: "succeeded",
            detail: Some(format!("Stripe event {stripe_event}")),
        };
        crate::ssr::services::payment_audit::record(tx, entry).await?;
    }
    Ok(())
}

/// How a Stripe event reads on the payment's timeline.
pub fn timeline_title(event_type: &str) -> &'static str {
    match event_type {
        "payment_intent.created" => "Payment created",
        "payment_intent.processing" => "Payment processing",
        "payment_intent.succeeded" => "Payment succeeded",
        "payment_intent.payment_failed" => "Payment failed",
        "payment_intent.canceled" => "Payment canceled",
        "payment_intent.amount_capturable_updated" => "Authorized, awaiting capture",
        "payment_intent.requires_action" => "Customer action required",
        "charge.succeeded" => "Charge succeeded",
        "charge.failed" => "Charge failed",
        "charge.captured" => "Charge captured",
        "charge.refunded" => "Charge refunded",
        "charge.updated" => "Charge updated",
        "charge.refund.updated" | "refund.updated" => "Refund updated",
        "refund.created" => "Refund created",
        "refund.failed" => "Refund failed",
        "charge.dispute.created" => "Dispute opened",
        "charge.dispute.updated" => "Dispute updated",
        "charge.dispute.funds_withdrawn" => "Dispute funds withdrawn",
        "charge.dispute.funds_reinstated" => "Dispute funds reinstated",
        "charge.dispute.closed" => "Dispute closed",
        "checkout.session.completed" => "Checkout completed",
        "checkout.session.expired" => "Checkout expired",
        "checkout.session.async_payment_succeeded" => "Checkout payment succeeded",
        "checkout.session.async_payment_failed" => "Checkout payment failed",
        _ => "Stripe event",
    }
}
