//! `risk`: scores payments as their events arrive and flags the risky ones for review.
//!
//! ```text
//! payment.* / refund.succeeded / dispute.created / webhook.processed (a charge's event)
//!   ─► the payment ─► facts: Radar's outcome, countries (risk_charges, latest charge),
//!                            velocity counts by email / card / IP, the customer's refunds + disputes
//!   ─► domain::risk::assess(facts, tenant's rules) ─► above the flag threshold?
//!   ─► ONE transaction: risk_reviews row (primary key = payment: flagged once, whatever the
//!      redeliveries and replays), a timeline entry with the reasons, `payment.flagged`
//! ```
//!
//! Scoring again is harmless, so every event about a payment may score it: the charge that
//! carries Radar's outcome can arrive after the intent that made the payment succeed, and a
//! payment can become risky later (a dispute of the same customer). `webhook.processed` covers
//! charge events that changed no payment status (so published no `payment.*` event).
//!
//! The reviewers' side (the queue, mark safe / fraudulent) is `services::risk`.

pub mod signals;

use async_trait::async_trait;
use sqlx::FromRow;

use crate::{
    domain::{
        events::{payloads::PaymentRiskChanged, DomainEvent, EventEnvelope},
        risk::{assess, Assessment, KeyCounts, RiskFacts, RiskRules},
        PrefixedId, TenantId, TimelineEntryId,
    },
    error::{AppError, AppResult},
    ssr::{
        bus::{Delivery, EventContext, ListenerError},
        db::{Db, Tx},
        ids::new_id,
        plugins::{Field, FieldKind, Health, Manifest, Plugin, PluginConfig, PluginCtx},
    },
};

pub const NAME: &str = "risk";

const fn int(key: &'static str, label: &'static str, min: i64, max: i64, default: Option<&'static str>, help: &'static str) -> Field {
    Field { key, label, kind: FieldKind::Integer { min, max }, required: false, secret: false, help, default }
}

static MANIFEST: Manifest = Manifest {
    name: NAME,
    version: "1.0.0",
    title: "Risk review",
    description:
        "Scores payments from Stripe Radar's outcome and your rules (velocity, amount, country mismatch, refunds and disputes) and flags risky ones for review.",
    patterns: &["payment.authorized", "payment.captured", "payment.succeeded", "payment.failed", "refund.succeeded", "dispute.created", "webhook.processed"],
    default_enabled: false,
    platform_events: false,
    fields: &[
        int("flag_threshold", "Flag threshold", 0, 100, Some("70"), "Payments scoring above this (0 to 100) are flagged for review."),
        Field {
            key: "use_stripe_score",
            label: "Start from Stripe Radar",
            kind: FieldKind::Bool,
            required: false,
            secret: false,
            help: "Radar's risk_score (or, without one, its risk_level: highest 90, elevated 70, normal 10) counts towards the score.",
            default: Some("true"),
        },
        int("velocity_window_minutes", "Velocity window (minutes)", 1, 43_200, Some("60"), "How far back the velocity limits count."),
        int(
            "max_payments_per_email",
            "Payments per email",
            0,
            100_000,
            Some("10"),
            "More payments than this from one email within the window trip the velocity rule. 0: off.",
        ),
        int("max_payments_per_card", "Payments per card", 0, 100_000, Some("10"), "The same per card fingerprint."),
        int("max_payments_per_ip", "Payments per IP", 0, 100_000, Some("20"), "The same per IP address (from the charge's metadata.ip_address)."),
        int(
            "max_failures_per_email",
            "Failed payments per email",
            0,
            100_000,
            Some("3"),
            "More failed charges than this from one email within the window trip the velocity rule. 0: off.",
        ),
        int("max_failures_per_card", "Failed payments per card", 0, 100_000, Some("3"), "The same per card fingerprint."),
        int("max_failures_per_ip", "Failed payments per IP", 0, 100_000, Some("5"), "The same per IP address."),
        int("velocity_points", "Velocity points", 0, 100, Some("40"), "Added for each velocity limit exceeded."),
        int(
            "amount_threshold",
            "Amount threshold",
            0,
            1_000_000_000_000,
            None,
            "Payments above this amount, in minor units (100000 = 1,000.00), trip the amount rule. Empty or 0: off.",
        ),
        Field {
            key: "amount_threshold_currency",
            label: "Amount threshold currency",
            kind: FieldKind::Text,
            required: false,
            secret: false,
            help: "The currency of the threshold (usd); payments in other currencies are not compared. Empty: any currency, in its minor units.",
            default: None,
        },
        int("amount_points", "Amount points", 0, 100, Some("30"), "Added when the amount is over the threshold."),
        Field {
            key: "country_mismatch",
            label: "Country mismatch",
            kind: FieldKind::Bool,
            required: false,
            secret: false,
            help: "Trip a rule when the card's country differs from the billing address's.",
            default: Some("true"),
        },
        int("country_mismatch_points", "Country mismatch points", 0, 100, Some("30"), "Added on a country mismatch."),
        int(
            "max_refunds_disputes_per_customer",
            "Refunds and disputes per customer",
            0,
            100_000,
            Some("3"),
            "More refunds and disputes than this on one customer's (email's) payments trip a rule. 0: off.",
        ),
        int("refunds_disputes_points", "Refunds and disputes points", 0, 100, Some("40"), "Added when a customer has too many refunds and disputes."),
    ],
};

/// The tenant's rules from its configuration (defaults filled in by the schema).
pub fn rules_from(config: &PluginConfig) -> RiskRules {
    let d = RiskRules::default();
    let points = |key: &str, default: i64| config.int(key).unwrap_or(default);
    // A limit of 0 (or none) is a rule switched off.
    let limit = |key: &str| config.int(key).filter(|n| *n > 0);
    RiskRules {
        use_stripe_score: config.values().get("use_stripe_score").and_then(|v| v.as_bool()).unwrap_or(d.use_stripe_score),
        flag_threshold: points("flag_threshold", d.flag_threshold),
        velocity_window_secs: config.int("velocity_window_minutes").map(|m| m * 60).unwrap_or(d.velocity_window_secs),
        max_payments: KeyCounts { email: limit("max_payments_per_email"), card: limit("max_payments_per_card"), ip: limit("max_payments_per_ip") },
        max_failures: KeyCounts { email: limit("max_failures_per_email"), card: limit("max_failures_per_card"), ip: limit("max_failures_per_ip") },
        velocity_points: points("velocity_points", d.velocity_points),
        amount_threshold: limit("amount_threshold"),
        amount_currency: config.str("amount_threshold_currency").map(|c| c.trim().to_ascii_lowercase()),
        amount_points: points("amount_points", d.amount_points),
        country_mismatch: config.values().get("country_mismatch").and_then(|v| v.as_bool()).unwrap_or(d.country_mismatch),
        country_mismatch_points: points("country_mismatch_points", d.country_mismatch_points),
        max_refunds_disputes: limit("max_refunds_disputes_per_customer"),
        refunds_disputes_points: points("refunds_disputes_points", d.refunds_disputes_points),
    }
}

pub struct Risk;

/// The payment as the rules and the review see it.
#[derive(Debug, Clone, FromRow)]
pub struct PaymentBrief {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub customer_email: Option<String>,
    pub status: String,
    pub stripe_created: Option<i64>,
}

#[derive(Debug, Clone, Default, FromRow)]
struct LatestCharge {
    email: Option<String>,
    card_fingerprint: Option<String>,
    card_country: Option<String>,
    billing_country: Option<String>,
    ip_address: Option<String>,
    risk_level: Option<String>,
    risk_score: Option<i64>,
    charged_at: i64,
}

pub async fn payment_brief<'e>(ex: impl sqlx::Executor<'e, Database = sqlx::Any>, tenant: &str, payment_id: &str) -> sqlx::Result<Option<PaymentBrief>> {
    sqlx::query_as("SELECT id, amount, currency, customer_email, status, stripe_created FROM payments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(payment_id)
        .fetch_optional(ex)
        .await
}

/// The payment an event is about, if it is one the rules look at.
async fn payment_of(db: &Db, tenant: &TenantId, event: &EventEnvelope) -> Result<Option<String>, ListenerError> {
    let Ok(typed) = DomainEvent::from_payload(event.event_type, event.payload.clone()) else {
        return Err(ListenerError::permanent(format!("malformed {} payload", event.event_type)));
    };
    Ok(match typed {
        DomainEvent::PaymentAuthorized(p) | DomainEvent::PaymentCaptured(p) | DomainEvent::PaymentSucceeded(p) | DomainEvent::PaymentFailed(p) => {
            Some(p.payment_id)
        }
        DomainEvent::RefundSucceeded(r) => Some(r.payment_id),
        DomainEvent::DisputeCreated(d) => d.payment_id,
        DomainEvent::WebhookProcessed(w) if w.stripe_type.starts_with("charge.") || w.stripe_type.starts_with("payment_intent.") => {
            sqlx::query_scalar("SELECT payment_id FROM risk_charges WHERE tenant_id = $1 AND stripe_event_id = $2 LIMIT 1")
                .bind(tenant.as_str())
                .bind(&w.stripe_event_id)
                .fetch_optional(&db.pool)
                .await?
        }
        _ => None,
    })
}

/// Counts rows of `risk_charges` with `column = value` in the window `(from, to]`.
async fn count(db: &Db, tenant: &str, column: &str, value: Option<&str>, from: i64, to: i64, failures: bool) -> sqlx::Result<Option<i64>> {
    let Some(value) = value else { return Ok(None) };
    debug_assert!(["email", "card_fingerprint", "ip_address"].contains(&column));
    let what = if failures { "COUNT(*)" } else { "COUNT(DISTINCT payment_id)" };
    let only_failed = if failures { " AND status = 'failed'" } else { "" };
    let sql = format!("SELECT {what} FROM risk_charges WHERE tenant_id = $1 AND {column} = $2 AND charged_at > $3 AND charged_at <= $4{only_failed}");
    let n: i64 = sqlx::query_scalar(&sql).bind(tenant).bind(value).bind(from).bind(to).fetch_one(&db.pool).await?;
    Ok(Some(n))
}

/// Everything the rules need about `payment`.
pub async fn facts_for(db: &Db, tenant: &str, payment: &PaymentBrief, rules: &RiskRules, now_ms: i64) -> sqlx::Result<RiskFacts> {
    let latest: Option<LatestCharge> = sqlx::query_as(
        "SELECT email, card_fingerprint, card_country, billing_country, ip_address, risk_level, risk_score, charged_at FROM risk_charges
         WHERE tenant_id = $1 AND payment_id = $2 ORDER BY charged_at DESC, stripe_charge DESC LIMIT 1",
    )
    .bind(tenant)
    .bind(&payment.id)
    .fetch_optional(&db.pool)
    .await?;
    // The window ends at the payment's own time, so the same payment scores the same whenever
    // (and however often) it is scored.
    let at = latest.as_ref().map(|c| c.charged_at).or(payment.stripe_created).unwrap_or(now_ms / 1000);
    let from = at - rules.velocity_window_secs;
    let c = latest.unwrap_or_default();
    let email = c.email.clone().or_else(|| payment.customer_email.as_ref().map(|e| e.trim().to_lowercase())).filter(|e| !e.is_empty());
    let keys = [("email", email.as_deref()), ("card_fingerprint", c.card_fingerprint.as_deref()), ("ip_address", c.ip_address.as_deref())];
    let mut counts = [[None; 3]; 2];
    for (f, failures) in [false, true].into_iter().enumerate() {
        for (k, (column, value)) in keys.iter().enumerate() {
            counts[f][k] = count(db, tenant, column, *value, from, at, failures).await?;
        }
    }
    let refunds_disputes = match &email {
        None => None,
        Some(e) => Some(
            sqlx::query_scalar::<_, i64>(
                "SELECT (SELECT COUNT(*) FROM refunds r JOIN payments p ON p.id = r.payment_id
                         WHERE p.tenant_id = $1 AND LOWER(p.customer_email) = $2 AND r.status IN ('succeeded', 'pending', 'requires_action'))
                      + (SELECT COUNT(*) FROM disputes d JOIN payments p ON p.id = d.payment_id
                         WHERE p.tenant_id = $1 AND LOWER(p.customer_email) = $2)",
            )
            .bind(tenant)
            .bind(e)
            .fetch_one(&db.pool)
            .await?,
        ),
    };
    let key_counts = |i: usize| KeyCounts { email: counts[i][0], card: counts[i][1], ip: counts[i][2] };
    Ok(RiskFacts {
        amount: payment.amount,
        currency: payment.currency.clone(),
        stripe_risk_level: c.risk_level,
        stripe_risk_score: c.risk_score,
        card_country: c.card_country,
        billing_country: c.billing_country,
        payments: key_counts(0),
        failures: key_counts(1),
        refunds_disputes,
    })
}

/// Appends an entry to the payment's timeline (`source = 'risk'`), after everything already on it.
pub async fn timeline_entry(tx: &mut Tx, tenant: &str, payment: &PaymentBrief, title: &str, detail: serde_json::Value, now_ms: i64) -> AppResult<()> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(occurred_at) FROM event_logs WHERE tenant_id = $1 AND payment_id = $2")
        .bind(tenant)
        .bind(&payment.id)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO event_logs (id, tenant_id, payment_id, source, title, stripe_event_id, stripe_type, status_after, detail, occurred_at, created_at)
         VALUES ($1, $2, $3, 'risk', $4, NULL, NULL, $5, $6, $7, $8)",
    )
    .bind(new_id::<TimelineEntryId>().as_str())
    .bind(tenant)
    .bind(&payment.id)
    .bind(title)
    .bind(&payment.status)
    .bind(detail.to_string())
    .bind(last.unwrap_or(0).max(now_ms))
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub fn risk_payload(
    payment: &PaymentBrief,
    score: i64,
    threshold: i64,
    reasons: Vec<crate::domain::risk::RiskReason>,
    status: &str,
    note: Option<String>,
) -> PaymentRiskChanged {
    PaymentRiskChanged {
        payment_id: payment.id.clone(),
        amount: payment.amount,
        currency: payment.currency.clone(),
        customer_email: payment.customer_email.clone(),
        score,
        threshold,
        reasons,
        review_status: status.to_owned(),
        note,
    }
}

/// Flags `payment` once: `Ok(false)` when it already was.
async fn flag(ctx: &PluginCtx<'_>, tenant: &TenantId, payment: &PaymentBrief, a: &Assessment, rules: &RiskRules) -> Result<bool, ListenerError> {
    let bus = ctx.deps.bus.get().ok_or_else(|| ListenerError::retryable("the bus is not running yet"))?;
    let app = |e: AppError| ListenerError::retryable(format!("flagging {}: {e}", payment.id));
    let now = ctx.deps.clock.now_ms();
    let reasons = serde_json::to_string(&a.reasons).map_err(|e| ListenerError::permanent(e.to_string()))?;
    let mut tx = ctx.deps.db.begin().await.map_err(app)?;
    let inserted = sqlx::query(
        "INSERT INTO risk_reviews (payment_id, tenant_id, status, score, threshold, reasons, flagged_at, updated_at)
         VALUES ($1, $2, 'open', $3, $4, $5, $6, $6) ON CONFLICT (payment_id) DO NOTHING",
    )
    .bind(&payment.id)
    .bind(tenant.as_str())
    .bind(a.score)
    .bind(rules.flag_threshold)
    .bind(&reasons)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    let title = format!("Flagged for risk review (score {} > {}): {}", a.score, rules.flag_threshold, a.summary());
    let detail = serde_json::json!({ "score": a.score, "threshold": rules.flag_threshold, "reasons": a.reasons });
    timeline_entry(&mut tx, tenant.as_str(), payment, &title, detail, now).await.map_err(app)?;
    let payload = risk_payload(payment, a.score, rules.flag_threshold, a.reasons.clone(), "open", None);
    bus.publish(&mut tx, &EventContext::system(Some(tenant.clone())), DomainEvent::PaymentFlagged(payload)).await.map_err(app)?;
    bus.commit(tx).await.map_err(app)?;
    Ok(true)
}

/// Scores the payment `event` is about and flags it if it is risky. `Ok(Some(score))` when a
/// payment was scored.
pub async fn score_event(ctx: &PluginCtx<'_>, tenant: &TenantId, event: &EventEnvelope) -> Result<Option<(i64, bool)>, ListenerError> {
    let db = &ctx.deps.db;
    let Some(payment_id) = payment_of(db, tenant, event).await? else { return Ok(None) };
    let Some(payment) = payment_brief(&db.pool, tenant.as_str(), &payment_id).await? else { return Ok(None) };
    let rules = rules_from(ctx.config);
    let facts = facts_for(db, tenant.as_str(), &payment, &rules, ctx.deps.clock.now_ms()).await?;
    let a = assess(&facts, &rules);
    let flagged = a.flagged(&rules) && flag(ctx, tenant, &payment, &a, &rules).await?;
    Ok(Some((a.score, flagged)))
}

#[async_trait]
impl Plugin for Risk {
    fn manifest(&self) -> &'static Manifest {
        &MANIFEST
    }

    async fn health(&self, ctx: &PluginCtx<'_>) -> Health {
        if ctx.deps.bus.get().is_none() {
            return Health::Unhealthy("the event bus is not running".into());
        }
        match sqlx::query("SELECT 1 FROM risk_reviews WHERE tenant_id = $1 LIMIT 1")
            .bind(ctx.tenant.map(|t| t.as_str()).unwrap_or_default())
            .fetch_optional(&ctx.deps.db.pool)
            .await
        {
            Ok(_) => Health::Healthy,
            Err(e) => Health::Unhealthy(format!("the review queue is unreadable: {e}")),
        }
    }

    async fn handle(&self, ctx: &PluginCtx<'_>, delivery: &Delivery) -> Result<(), ListenerError> {
        let Some(tenant) = ctx.tenant else { return Ok(()) };
        score_event(ctx, tenant, &delivery.event).await.map(|_| ())
    }

    /// Scores a sample payment with the tenant's rules, without storing or flagging anything.
    async fn test(&self, ctx: &PluginCtx<'_>) -> Result<String, AppError> {
        let rules = rules_from(ctx.config);
        let sample = RiskFacts {
            amount: rules.amount_threshold.map(|t| t + 1).unwrap_or(5_000),
            currency: rules.amount_currency.clone().unwrap_or_else(|| "usd".into()),
            stripe_risk_level: Some("elevated".into()),
            card_country: Some("NG".into()),
            billing_country: Some("US".into()),
            ..Default::default()
        };
        let a = assess(&sample, &rules);
        let verdict = if a.flagged(&rules) { "would be flagged" } else { "would not be flagged" };
        Ok(format!(
            "A sample payment (Radar elevated, card from NG, billing in US) scores {} and {verdict} (threshold {}): {}.",
            a.score,
            rules.flag_threshold,
            a.summary()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_manifest_defaults_make_the_documented_rules() {
        let config = PluginConfig::from_stored(MANIFEST.fields, Default::default());
        assert_eq!(rules_from(&config), RiskRules::default());
    }

    #[test]
    fn a_tenants_settings_become_its_rules() {
        let patch = json!({ "flag_threshold": 40, "velocity_window_minutes": 15, "max_payments_per_card": 0, "max_failures_per_ip": null, "amount_threshold": 50000,
            "amount_threshold_currency": " EUR ", "country_mismatch": false });
        let config = crate::ssr::plugins::schema::apply_patch(MANIFEST.fields, &PluginConfig::empty(), patch.as_object().unwrap()).unwrap();
        let rules = rules_from(&config);
        assert_eq!(rules.flag_threshold, 40);
        assert_eq!(rules.velocity_window_secs, 900);
        assert_eq!(rules.amount_threshold, Some(50_000));
        assert_eq!(rules.amount_currency.as_deref(), Some("eur"));
        assert!(!rules.country_mismatch);
        assert_eq!(rules.max_payments.card, None, "0 switches a limit off");
        assert_eq!(rules.max_failures.ip, Some(5), "null puts the default back");
    }
}
