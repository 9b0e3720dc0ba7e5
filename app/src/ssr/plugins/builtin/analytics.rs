//! `analytics`: per-tenant daily aggregates in `analytics_daily`, by UTC day of the event's
//! `occurred_at` and by currency.
//!
//! What counts, once each:
//! - a **payment** when it first succeeds or is captured (`payment.succeeded` or
//!   `payment.captured`, whichever comes first; a card charge emits both): count + volume (the
//!   captured amount, or the amount when nothing is captured);
//! - a **failed payment** on `payment.failed`;
//! - a **refund** on `refund.succeeded` — money actually returned; `refund.created` is only a
//!   request, which may still fail;
//! - a **dispute** on `dispute.created`.
//!
//! Each counted fact leaves a mark (`paid:<payment>`, `failed:<payment>`, `refund:<refund>`,
//! `dispute:<dispute>`) in `analytics_marks`, inserted in the same transaction as its increment:
//! a redelivery, a second event about the same payment, or a replay (new delivery ids for old
//! events) finds the mark and adds nothing. The delivery's receipt (`bus::receipts`) is written in
//! that transaction too. Increments are single upserts adding to the stored value
//! (`x = analytics_daily.x + excluded.x`), so concurrent deliveries on Postgres lose nothing.

use async_trait::async_trait;
use time::{OffsetDateTime, UtcOffset};

use crate::{
    domain::{
        events::{DomainEvent, EventEnvelope},
        DeliveryId, PrefixedId, TenantId,
    },
    error::AppError,
    ssr::{
        bus::{receipts, Delivery, ListenerError},
        db::Db,
        plugins::{Health, Manifest, Plugin, PluginCtx},
    },
};

use super::crm::paid_amount;

pub const NAME: &str = "analytics";

static MANIFEST: Manifest = Manifest {
    name: NAME,
    version: "1.0.0",
    title: "Analytics",
    description: "Counts payments, volume, failures, refunds and disputes per day and currency (the Overview charts and /api/v1/analytics).",
    patterns: &["payment.*", "refund.*", "dispute.*"],
    default_enabled: true,
    platform_events: false,
    fields: &[],
};

pub struct Analytics;

/// One thing to count, with the mark that makes it count once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub mark: String,
    pub currency: String,
    pub delta: Delta,
}

/// What a fact adds to its day's row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    pub payments_count: i64,
    pub volume: i64,
    pub failed_count: i64,
    pub refunds_count: i64,
    pub refunds_amount: i64,
    pub disputes_count: i64,
    pub disputes_amount: i64,
}

/// What `event` counts, if anything.
pub fn fact_for(event: &DomainEvent) -> Option<Fact> {
    use DomainEvent::*;
    let (mark, currency, delta) = match event {
        PaymentCaptured(p) | PaymentSucceeded(p) => {
            (format!("paid:{}", p.payment_id), &p.currency, Delta { payments_count: 1, volume: paid_amount(p), ..Delta::default() })
        }
        PaymentFailed(p) => (format!("failed:{}", p.payment_id), &p.currency, Delta { failed_count: 1, ..Delta::default() }),
        RefundSucceeded(r) => (format!("refund:{}", r.refund_id), &r.currency, Delta { refunds_count: 1, refunds_amount: r.amount, ..Delta::default() }),
        DisputeCreated(d) => (format!("dispute:{}", d.dispute_id), &d.currency, Delta { disputes_count: 1, disputes_amount: d.amount, ..Delta::default() }),
        _ => return None,
    };
    Some(Fact { mark, currency: currency.trim().to_ascii_lowercase(), delta })
}

/// `2026-11-23`: the UTC day of an instant.
pub fn utc_day(t: OffsetDateTime) -> String {
    let d = t.to_offset(UtcOffset::UTC).date();
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// Counts `event` (delivered as `delivery`) for `tenant`. `Ok(true)` when something was added.
pub async fn apply(db: &Db, tenant: &TenantId, delivery: &DeliveryId, event: &EventEnvelope, now_ms: i64) -> Result<bool, ListenerError> {
    let typed = DomainEvent::from_payload(event.event_type, event.payload.clone())
        .map_err(|e| ListenerError::permanent(format!("malformed {} payload: {e}", event.event_type)))?;
    let Some(fact) = fact_for(&typed) else { return Ok(false) };
    let mut tx = db.begin().await.map_err(|e| ListenerError::retryable(format!("database: {e}")))?;
    if !receipts::record_once(&mut *tx, NAME, delivery, &event.id, now_ms).await? {
        return Ok(false);
    }
    let marked = sqlx::query(
        "INSERT INTO analytics_marks (tenant_id, mark, event_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, mark) DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(&fact.mark)
    .bind(event.id.as_str())
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    let counted = marked.rows_affected() == 1;
    if counted {
        let d = fact.delta;
        sqlx::query(
            "INSERT INTO analytics_daily (tenant_id, day, currency, payments_count, volume, failed_count, refunds_count, refunds_amount, disputes_count, disputes_amount)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (tenant_id, day, currency) DO UPDATE SET
                 payments_count = analytics_daily.payments_count + excluded.payments_count,
                 volume = analytics_daily.volume + excluded.volume,
                 failed_count = analytics_daily.failed_count + excluded.failed_count,
                 refunds_count = analytics_daily.refunds_count + excluded.refunds_count,
                 refunds_amount = analytics_daily.refunds_amount + excluded.refunds_amount,
                 disputes_count = analytics_daily.disputes_count + excluded.disputes_count,
                 disputes_amount = analytics_daily.disputes_amount + excluded.disputes_amount",
        )
        .bind(tenant.as_str())
        .bind(utc_day(event.occurred_at))
        .bind(&fact.currency)
        .bind(d.payments_count)
        .bind(d.volume)
        .bind(d.failed_count)
        .bind(d.refunds_count)
        .bind(d.refunds_amount)
        .bind(d.disputes_count)
        .bind(d.disputes_amount)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(counted)
}

#[async_trait]
impl Plugin for Analytics {
    fn manifest(&self) -> &'static Manifest {
        &MANIFEST
    }

    async fn health(&self, ctx: &PluginCtx<'_>) -> Health {
        match sqlx::query("SELECT 1 FROM analytics_daily WHERE tenant_id = $1 LIMIT 1")
            .bind(ctx.tenant.map(|t| t.as_str()).unwrap_or_default())
            .fetch_optional(&ctx.deps.db.pool)
            .await
        {
            Ok(_) => Health::Healthy,
            Err(e) => Health::Unhealthy(format!("the analytics table is unreadable: {e}")),
        }
    }

    async fn handle(&self, ctx: &PluginCtx<'_>, delivery: &Delivery) -> Result<(), ListenerError> {
        let Some(tenant) = ctx.tenant else { return Ok(()) };
        apply(&ctx.deps.db, tenant, &delivery.id, &delivery.event, ctx.deps.clock.now_ms()).await.map(|_| ())
    }

    async fn test(&self, ctx: &PluginCtx<'_>) -> Result<String, AppError> {
        let tenant = ctx.tenant.ok_or(AppError::Internal)?;
        let (days,): (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT day) FROM analytics_daily WHERE tenant_id = $1")
            .bind(tenant.as_str())
            .fetch_one(&ctx.deps.db.pool)
            .await?;
        Ok(format!("Analytics are counted: {days} days with activity so far."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::payloads::{PaymentChanged, RefundChanged};
    use time::macros::datetime;

    fn payment(captured: i64) -> PaymentChanged {
        PaymentChanged {
            payment_id: "pay_1".into(),
            stripe_id: "pi_1".into(),
            amount: 2500,
            amount_captured: captured,
            amount_refunded: 0,
            currency: "EUR".into(),
            status: "succeeded".into(),
            customer_email: None,
            connected_account: None,
            failure_message: None,
        }
    }

    #[test]
    fn captured_and_succeeded_of_one_payment_share_one_mark() {
        let a = fact_for(&DomainEvent::PaymentCaptured(payment(2000))).unwrap();
        let b = fact_for(&DomainEvent::PaymentSucceeded(payment(2000))).unwrap();
        assert_eq!(a.mark, b.mark);
        assert_eq!((a.currency.as_str(), a.delta.payments_count, a.delta.volume), ("eur", 1, 2000));
        // Nothing captured yet: the amount stands for the volume.
        assert_eq!(fact_for(&DomainEvent::PaymentSucceeded(payment(0))).unwrap().delta.volume, 2500);
    }

    #[test]
    fn refunds_count_when_they_succeed_not_when_requested() {
        let refund = RefundChanged {
            refund_id: "ref_1".into(),
            stripe_id: None,
            payment_id: "pay_1".into(),
            amount: 500,
            currency: "eur".into(),
            status: "pending".into(),
            reason: None,
            failure_reason: None,
        };
        assert_eq!(fact_for(&DomainEvent::RefundCreated(refund.clone())), None);
        let f = fact_for(&DomainEvent::RefundSucceeded(refund)).unwrap();
        assert_eq!((f.mark.as_str(), f.delta.refunds_count, f.delta.refunds_amount), ("refund:ref_1", 1, 500));
        assert_eq!(fact_for(&DomainEvent::PaymentRefunded(payment(2500))), None);
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(utc_day(datetime!(2026-11-23 23:30 -02:00)), "2026-11-24");
        assert_eq!(utc_day(datetime!(2026-01-05 00:00 UTC)), "2026-01-05");
    }
}
