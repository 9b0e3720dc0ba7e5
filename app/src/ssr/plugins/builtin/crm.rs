//! `crm-activity`: a timeline per customer (their email, lower-cased) of the payments, refunds,
//! disputes and checkouts that concern them — one `customer_activity` row per event.
//!
//! Idempotent by event, not by delivery: the row's `UNIQUE (tenant_id, event_id)` absorbs a
//! redelivery and a replay (which comes with a new delivery id) alike, so replaying past events
//! to this listener backfills a tenant that enabled the plugin late and duplicates nothing.
//! Events whose customer cannot be told (no email on the payment) are skipped: they succeed and
//! write nothing.

use async_trait::async_trait;

use crate::{
    domain::{
        events::{payloads::*, DomainEvent, EventEnvelope},
        ActivityId, Currency, PrefixedId, TenantId,
    },
    error::AppError,
    ssr::{
        bus::{Delivery, ListenerError},
        db::Db,
        ids::new_id,
        plugins::{Health, Manifest, Plugin, PluginCtx},
        time_util::to_ms,
    },
};

pub const NAME: &str = "crm-activity";

static MANIFEST: Manifest = Manifest {
    name: NAME,
    version: "1.0.0",
    title: "Customer activity",
    description: "Keeps a timeline per customer email of their payments, refunds and disputes (the Customers page).",
    patterns: &["payment.*", "refund.*", "dispute.*", "checkout.session_completed"],
    default_enabled: true,
    platform_events: false,
    fields: &[],
};

pub struct CrmActivity;

/// `25.00 EUR`; a malformed currency code shows as given.
pub(crate) fn money(amount: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => c.format(amount),
        Err(_) => format!("{amount} {}", currency.to_uppercase()),
    }
}

/// What one event adds to a timeline, before its customer is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The email the event itself carries, if any.
    pub email: Option<String>,
    /// The payment to read the customer's email from when the event carries none.
    pub payment_id: Option<String>,
    pub object_id: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub summary: String,
}

/// The timeline entry an event makes, or `None` for events the plugin does not record.
pub fn entry_for(event: &DomainEvent) -> Option<Entry> {
    use DomainEvent::*;
    let payment = |p: &PaymentChanged, summary: String| Entry {
        email: p.customer_email.clone(),
        payment_id: Some(p.payment_id.clone()),
        object_id: Some(p.payment_id.clone()),
        amount: Some(paid_amount(p)),
        currency: Some(p.currency.clone()),
        summary,
    };
    let refund = |r: &RefundChanged, summary: String| Entry {
        email: None,
        payment_id: Some(r.payment_id.clone()),
        object_id: Some(r.refund_id.clone()),
        amount: Some(r.amount),
        currency: Some(r.currency.clone()),
        summary,
    };
    let dispute = |d: &DisputeChanged, summary: String| Entry {
        email: None,
        payment_id: d.payment_id.clone(),
        object_id: Some(d.dispute_id.clone()),
        amount: Some(d.amount),
        currency: Some(d.currency.clone()),
        summary,
    };
    Some(match event {
        PaymentAuthorized(p) => payment(p, format!("Authorized {}", money(p.amount, &p.currency))),
        PaymentCaptured(p) => payment(p, format!("Captured {}", money(paid_amount(p), &p.currency))),
        PaymentSucceeded(p) => payment(p, format!("Paid {}", money(paid_amount(p), &p.currency))),
        PaymentFailed(p) => payment(
            p,
            match &p.failure_message {
                Some(why) => format!("Payment of {} failed: {why}", money(p.amount, &p.currency)),
                None => format!("Payment of {} failed", money(p.amount, &p.currency)),
            },
        ),
        PaymentCanceled(p) => payment(p, format!("Payment of {} canceled", money(p.amount, &p.currency))),
        PaymentRefunded(p) => payment(p, format!("Payment of {} fully refunded", money(paid_amount(p), &p.currency))),
        PaymentPartiallyRefunded(p) => {
            payment(p, format!("Payment partially refunded: {} of {}", money(p.amount_refunded, &p.currency), money(paid_amount(p), &p.currency)))
        }
        RefundCreated(r) => refund(r, format!("Refund of {} requested", money(r.amount, &r.currency))),
        RefundSucceeded(r) => refund(r, format!("Refund of {}", money(r.amount, &r.currency))),
        RefundUpdated(r) => refund(r, format!("Refund of {} is {}", money(r.amount, &r.currency), r.status)),
        RefundFailed(r) => refund(r, format!("Refund of {} failed", money(r.amount, &r.currency))),
        DisputeCreated(d) => dispute(d, format!("Dispute opened: {}, {}", d.reason, money(d.amount, &d.currency))),
        DisputeUpdated(d) => dispute(d, format!("Dispute updated: {}, {}", d.status, money(d.amount, &d.currency))),
        DisputeClosed(d) => dispute(d, format!("Dispute closed: {}, {}", d.status, money(d.amount, &d.currency))),
        DisputeFundsWithdrawn(d) => dispute(d, format!("Dispute funds withdrawn: {}", money(d.amount, &d.currency))),
        DisputeFundsReinstated(d) => dispute(d, format!("Dispute funds reinstated: {}", money(d.amount, &d.currency))),
        CheckoutSessionCompleted(c) => Entry {
            email: c.customer_email.clone(),
            payment_id: c.payment_id.clone(),
            object_id: Some(c.session_id.clone()),
            amount: c.amount_total,
            currency: c.currency.clone(),
            summary: match (c.amount_total, c.currency.as_deref()) {
                (Some(a), Some(cur)) => format!("Checkout completed: {}", money(a, cur)),
                _ => "Checkout completed".to_owned(),
            },
        },
        _ => return None,
    })
}

/// What a payment took: its captured amount, or the amount when nothing is captured (yet).
pub fn paid_amount(p: &PaymentChanged) -> i64 {
    if p.amount_captured > 0 {
        p.amount_captured
    } else {
        p.amount
    }
}

/// `" Jane@Example.com "` → `jane@example.com`; blank is no email.
pub fn normalise_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    (!e.is_empty() && e.contains('@')).then_some(e)
}

/// Records `event` in its customer's timeline. `Ok(true)` when a row was written, `Ok(false)`
/// when the event was already recorded, is not one the plugin records, or has no customer.
pub async fn record(db: &Db, tenant: &TenantId, event: &EventEnvelope) -> Result<bool, ListenerError> {
    let typed = DomainEvent::from_payload(event.event_type, event.payload.clone())
        .map_err(|e| ListenerError::permanent(format!("malformed {} payload: {e}", event.event_type)))?;
    let Some(entry) = entry_for(&typed) else { return Ok(false) };
    let mut email = entry.email.as_deref().and_then(normalise_email);
    if email.is_none() {
        if let Some(payment_id) = &entry.payment_id {
            let stored: Option<Option<String>> = sqlx::query_scalar("SELECT customer_email FROM payments WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(payment_id)
                .fetch_optional(&db.pool)
                .await?;
            email = stored.flatten().as_deref().and_then(normalise_email);
        }
    }
    let Some(email) = email else {
        tracing::debug!(event = %event.id, "crm-activity: no customer email; skipped");
        return Ok(false);
    };
    let written = sqlx::query(
        "INSERT INTO customer_activity (id, tenant_id, customer_email, event_id, event_type, object_id, amount, currency, summary, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (tenant_id, event_id) DO NOTHING",
    )
    .bind(new_id::<ActivityId>().as_str())
    .bind(tenant.as_str())
    .bind(&email)
    .bind(event.id.as_str())
    .bind(event.event_type.name())
    .bind(entry.object_id.as_deref())
    .bind(entry.amount)
    .bind(entry.currency.as_deref().map(str::to_lowercase))
    .bind(&entry.summary)
    .bind(to_ms(event.occurred_at))
    .execute(&db.pool)
    .await?;
    Ok(written.rows_affected() == 1)
}

#[async_trait]
impl Plugin for CrmActivity {
    fn manifest(&self) -> &'static Manifest {
        &MANIFEST
    }

    async fn health(&self, ctx: &PluginCtx<'_>) -> Health {
        match sqlx::query("SELECT 1 FROM customer_activity WHERE tenant_id = $1 LIMIT 1")
            .bind(ctx.tenant.map(|t| t.as_str()).unwrap_or_default())
            .fetch_optional(&ctx.deps.db.pool)
            .await
        {
            Ok(_) => Health::Healthy,
            Err(e) => Health::Unhealthy(format!("the activity table is unreadable: {e}")),
        }
    }

    async fn handle(&self, ctx: &PluginCtx<'_>, delivery: &Delivery) -> Result<(), ListenerError> {
        let Some(tenant) = ctx.tenant else { return Ok(()) };
        record(&ctx.deps.db, tenant, &delivery.event).await.map(|_| ())
    }

    async fn test(&self, ctx: &PluginCtx<'_>) -> Result<String, AppError> {
        let tenant = ctx.tenant.ok_or(AppError::Internal)?;
        let (customers, entries): (i64, i64) =
            sqlx::query_as("SELECT COUNT(DISTINCT customer_email), COUNT(*) FROM customer_activity WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .fetch_one(&ctx.deps.db.pool)
                .await?;
        Ok(format!("Customer activity is recorded: {entries} entries for {customers} customers so far."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(email: Option<&str>) -> PaymentChanged {
        PaymentChanged {
            payment_id: "pay_1".into(),
            stripe_id: "pi_1".into(),
            amount: 2500,
            amount_captured: 2500,
            amount_refunded: 500,
            currency: "eur".into(),
            status: "succeeded".into(),
            customer_email: email.map(Into::into),
            connected_account: None,
            failure_message: None,
        }
    }

    #[test]
    fn summaries_read_as_sentences_with_major_units() {
        let paid = entry_for(&DomainEvent::PaymentSucceeded(payment(Some("Jane@Example.com")))).unwrap();
        assert_eq!(paid.summary, "Paid 25.00 EUR");
        assert_eq!((paid.amount, paid.currency.as_deref(), paid.object_id.as_deref()), (Some(2500), Some("eur"), Some("pay_1")));
        let refund = RefundChanged {
            refund_id: "ref_1".into(),
            stripe_id: None,
            payment_id: "pay_1".into(),
            amount: 500,
            currency: "eur".into(),
            status: "succeeded".into(),
            reason: None,
            failure_reason: None,
        };
        let r = entry_for(&DomainEvent::RefundSucceeded(refund)).unwrap();
        assert_eq!(r.summary, "Refund of 5.00 EUR");
        assert_eq!((r.email, r.payment_id.as_deref()), (None, Some("pay_1")));
        let dispute = DisputeChanged {
            dispute_id: "dsp_1".into(),
            stripe_id: "dp_1".into(),
            payment_id: Some("pay_1".into()),
            amount: 2500,
            currency: "eur".into(),
            reason: "fraudulent".into(),
            status: "needs_response".into(),
        };
        assert_eq!(entry_for(&DomainEvent::DisputeCreated(dispute)).unwrap().summary, "Dispute opened: fraudulent, 25.00 EUR");
        assert_eq!(
            entry_for(&DomainEvent::PaymentPartiallyRefunded(payment(None))).unwrap().summary,
            "Payment partially refunded: 5.00 EUR of 25.00 EUR"
        );
    }

    #[test]
    fn events_about_no_customer_make_no_entry() {
        let changed = PluginChanged { plugin: "analytics".into(), enabled: true };
        assert_eq!(entry_for(&DomainEvent::PluginEnabled(changed)), None);
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(normalise_email(" Jane@Example.COM ").as_deref(), Some("jane@example.com"));
        assert_eq!(normalise_email("  "), None);
        assert_eq!(normalise_email("not-an-email"), None);
    }
}
