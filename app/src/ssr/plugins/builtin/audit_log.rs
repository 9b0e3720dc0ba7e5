//! `audit-log`: every event of a tenant as one line of its audit trail — who (actor and how they
//! came in: source, IP), what (a sentence built from the payload) and on which object. One row per
//! event: the `(tenant_id, event_id)` key makes a redelivery or a replay harmless.

use async_trait::async_trait;

use crate::{
    domain::{
        events::{payloads::*, ActorType, DomainEvent, EventEnvelope, EventSource},
        AuditEntryId, Currency, PrefixedId,
    },
    error::AppError,
    ssr::{
        bus::{Delivery, ListenerError},
        ids::new_id,
        plugins::{Health, Manifest, Plugin, PluginCtx},
        time_util::to_ms,
    },
};

pub struct AuditLog;

static MANIFEST: Manifest = Manifest {
    name: "audit-log",
    version: "1.0.0",
    title: "Audit log",
    description: "Keeps a searchable, exportable trail of everything that happens in the tenant: who did what, from where, to which object.",
    patterns: &["*"],
    default_enabled: true,
    platform_events: false,
    fields: &[],
};

/// The audit line of one event: a sentence and the object it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub text: String,
    pub object_id: Option<String>,
}

/// `12.50 USD` from minor units; an unknown code is shown as given.
pub(crate) fn money(amount: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| c.format(amount)).unwrap_or_else(|_| format!("{amount} {}", currency.to_uppercase()))
}

/// Who acted, as a reader wants it: the actor id, else Stripe or paybus.
fn who(e: &EventEnvelope) -> String {
    match (&e.actor, e.actor_type) {
        (_, ActorType::Webhook) => "Stripe".to_owned(),
        (Some(actor), _) => actor.clone(),
        (None, ActorType::System) => "paybus".to_owned(),
        (None, _) => "Someone".to_owned(),
    }
}

fn source(s: EventSource) -> &'static str {
    match s {
        EventSource::Api => "api",
        EventSource::Webhook => "webhook",
        EventSource::Dashboard => "dashboard",
        EventSource::System => "system",
    }
}

/// The host of a URL, never its path (which may carry a token).
fn host(url: &str) -> String {
    reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "an endpoint".to_owned())
}

/// A human sentence for the event, built from its payload. A payload that does not read back
/// (an older version) still gets a line naming the event.
pub fn summarize(e: &EventEnvelope) -> Summary {
    let Ok(event) = DomainEvent::from_payload(e.event_type, e.payload.clone()) else {
        return Summary { text: format!("{} ({})", e.event_type, who(e)), object_id: None };
    };
    let who = who(e);
    let (text, object): (String, Option<String>) = match event {
        DomainEvent::PaymentAuthorized(p) => (format!("Payment {} of {} authorized", p.payment_id, money(p.amount, &p.currency)), Some(p.payment_id)),
        DomainEvent::PaymentCaptured(p) => {
            (format!("{who} captured {} on {}", money(p.amount_captured.max(p.amount), &p.currency), p.payment_id), Some(p.payment_id))
        }
        DomainEvent::PaymentSucceeded(p) => (format!("Payment {} of {} succeeded", p.payment_id, money(p.amount, &p.currency)), Some(p.payment_id)),
        DomainEvent::PaymentFailed(p) => {
            let why = p.failure_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            (format!("Payment {} of {} failed{why}", p.payment_id, money(p.amount, &p.currency)), Some(p.payment_id))
        }
        DomainEvent::PaymentCanceled(p) => (format!("{who} canceled payment {} of {}", p.payment_id, money(p.amount, &p.currency)), Some(p.payment_id)),
        DomainEvent::PaymentRefunded(p) => (format!("{who} refunded {} on {}", money(p.amount_refunded, &p.currency), p.payment_id), Some(p.payment_id)),
        DomainEvent::PaymentPartiallyRefunded(p) => {
            (format!("{who} partially refunded {} on {}", money(p.amount_refunded, &p.currency), p.payment_id), Some(p.payment_id))
        }
        DomainEvent::PaymentFlagged(r) => (format!("Payment {} flagged for review (risk score {}): {}", r.payment_id, r.score, risk_reasons(&r)), Some(r.payment_id)),
        DomainEvent::PaymentMarkedSafe(r) => (format!("{who} marked payment {} safe", r.payment_id), Some(r.payment_id)),
        DomainEvent::PaymentReportedFraudulent(r) => (format!("{who} reported payment {} as fraudulent", r.payment_id), Some(r.payment_id)),
        DomainEvent::RefundCreated(r) => (format!("{who} refunded {} on {}", money(r.amount, &r.currency), r.payment_id), Some(r.refund_id)),
        DomainEvent::RefundSucceeded(r) => (format!("Refund {} of {} on {} succeeded", r.refund_id, money(r.amount, &r.currency), r.payment_id), Some(r.refund_id)),
        DomainEvent::RefundFailed(r) => {
            let why = r.failure_reason.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            (format!("Refund {} of {} on {} failed{why}", r.refund_id, money(r.amount, &r.currency), r.payment_id), Some(r.refund_id))
        }
        DomainEvent::RefundUpdated(r) => (format!("Refund {} on {} is now {}", r.refund_id, r.payment_id, r.status), Some(r.refund_id)),
        DomainEvent::DisputeCreated(d) => {
            let on = d.payment_id.as_deref().map(|p| format!(" on {p}")).unwrap_or_default();
            (format!("Dispute {} opened{on} for {} ({})", d.dispute_id, money(d.amount, &d.currency), d.reason), Some(d.dispute_id))
        }
        DomainEvent::DisputeUpdated(d) => (format!("Dispute {} is now {}", d.dispute_id, d.status), Some(d.dispute_id)),
        DomainEvent::DisputeClosed(d) => (format!("Dispute {} closed: {}", d.dispute_id, d.status), Some(d.dispute_id)),
        DomainEvent::DisputeFundsWithdrawn(d) => (format!("{} withdrawn for dispute {}", money(d.amount, &d.currency), d.dispute_id), Some(d.dispute_id)),
        DomainEvent::DisputeFundsReinstated(d) => (format!("{} reinstated after dispute {}", money(d.amount, &d.currency), d.dispute_id), Some(d.dispute_id)),
        DomainEvent::ConnectAccountCreated(a) => (format!("{who} created connected account {}", a.account_id), Some(a.account_id)),
        DomainEvent::ConnectAccountUpdated(a) => (
            format!("Connected account {} updated (charges {}, payouts {})", a.account_id, on_off(a.charges_enabled), on_off(a.payouts_enabled)),
            Some(a.account_id),
        ),
        DomainEvent::ConnectOnboardingLinkCreated(a) => (format!("{who} created an onboarding link for {}", a.account_id), Some(a.account_id)),
        DomainEvent::ConnectAccountDeauthorized(a) => (format!("Connected account {} was disconnected", a.account_id), Some(a.account_id)),
        DomainEvent::CheckoutSessionCreated(c) => (format!("{who} created checkout session {}{}", c.session_id, checkout_amount(&c)), Some(c.session_id)),
        DomainEvent::CheckoutSessionCompleted(c) => (format!("Checkout session {} completed{}", c.session_id, checkout_amount(&c)), Some(c.session_id)),
        DomainEvent::CheckoutSessionExpired(c) => (format!("Checkout session {} expired", c.session_id), Some(c.session_id)),
        DomainEvent::CustomerCreated(c) => (format!("Customer {} created{}", c.customer_id, customer_label(&c)), Some(c.customer_id)),
        DomainEvent::CustomerUpdated(c) => (format!("Customer {} updated{}", c.customer_id, customer_label(&c)), Some(c.customer_id)),
        DomainEvent::CustomerDeleted(c) => (format!("Customer {} deleted in Stripe{}", c.customer_id, customer_label(&c)), Some(c.customer_id)),
        DomainEvent::SubscriptionCreated(s) => (format!("Subscription {} created ({})", s.subscription_id, s.status), Some(s.subscription_id)),
        DomainEvent::SubscriptionActivated(s) => (format!("Subscription {} is {}", s.subscription_id, s.status), Some(s.subscription_id)),
        DomainEvent::SubscriptionUpdated(s) => (format!("Subscription {} updated ({})", s.subscription_id, s.status), Some(s.subscription_id)),
        DomainEvent::SubscriptionCanceled(s) => (format!("Subscription {} canceled", s.subscription_id), Some(s.subscription_id)),
        DomainEvent::InvoiceCreated(i) => (format!("Invoice {} created for {}", invoice_label(&i), money(i.amount_due, &i.currency)), Some(i.invoice_id)),
        DomainEvent::InvoiceFinalized(i) => (format!("Invoice {} finalized: {} due", invoice_label(&i), money(i.amount_due, &i.currency)), Some(i.invoice_id)),
        DomainEvent::InvoicePaid(i) => (format!("Invoice {} paid: {}", invoice_label(&i), money(i.amount_paid, &i.currency)), Some(i.invoice_id)),
        DomainEvent::InvoicePaymentFailed(i) => {
            (format!("Payment of invoice {} failed: {} still due", invoice_label(&i), money(i.amount_remaining, &i.currency)), Some(i.invoice_id))
        }
        DomainEvent::InvoiceOverdue(i) => (format!("Invoice {} is overdue: {} unpaid", invoice_label(&i), money(i.amount_remaining, &i.currency)), Some(i.invoice_id)),
        DomainEvent::PayoutPaid(b) => billing("Payout", "paid", b),
        DomainEvent::PayoutFailed(b) => billing("Payout", "failed", b),
        DomainEvent::AuthUserSignedUp(u) => (format!("{} signed up", u.email), Some(u.user_id)),
        DomainEvent::AuthEmailVerified(u) => (format!("{} verified their email address", u.email), Some(u.user_id)),
        DomainEvent::AuthLoggedIn(u) => (format!("{} logged in", u.email), Some(u.user_id)),
        DomainEvent::AuthLoginFailed(l) => (format!("Failed login for {} ({})", l.email, l.reason), None),
        DomainEvent::OrgTenantCreated(t) => (format!("{who} created tenant \u{201c}{}\u{201d}", t.name), Some(t.tenant_id)),
        DomainEvent::OrgTenantUpdated(t) => (format!("{who} renamed the tenant to \u{201c}{}\u{201d}", t.name), Some(t.tenant_id)),
        DomainEvent::OrgMemberInvited(i) => (format!("{who} invited {} as {}", i.email, i.role), Some(i.invitation_id)),
        DomainEvent::OrgInvitationRevoked(i) => (format!("{who} revoked the invitation of {}", i.email), Some(i.invitation_id)),
        DomainEvent::OrgMemberJoined(m) => (format!("{} joined as {}", m.email, m.role), Some(m.user_id)),
        DomainEvent::OrgMemberRoleChanged(m) => {
            let from = m.previous_role.as_deref().map(|r| format!(" from {r}")).unwrap_or_default();
            (format!("{who} changed the role of {}{from} to {}", m.email, m.role), Some(m.user_id))
        }
        DomainEvent::OrgMemberRemoved(m) => (format!("{who} removed {} ({})", m.email, m.role), Some(m.user_id)),
        DomainEvent::ApiKeyCreated(k) => (format!("API key {} \u{201c}{}\u{201d} ({}, {}) created by {who}", k.api_key_id, k.name, k.role, k.mode), Some(k.api_key_id)),
        DomainEvent::ApiKeyRevoked(k) => (format!("API key {} \u{201c}{}\u{201d} revoked by {who}", k.api_key_id, k.name), Some(k.api_key_id)),
        DomainEvent::SettingsUpdated(s) => (format!("{who} changed settings: {}", s.keys.join(", ")), None),
        DomainEvent::PluginEnabled(p) => (format!("{who} enabled the {} plugin", p.plugin), Some(p.plugin)),
        DomainEvent::PluginDisabled(p) => (format!("{who} disabled the {} plugin", p.plugin), Some(p.plugin)),
        DomainEvent::PluginConfigured(p) => (format!("{who} changed the settings of the {} plugin", p.plugin), Some(p.plugin)),
        DomainEvent::EndpointCreated(x) => (format!("{who} added endpoint {} ({})", x.endpoint_id, host(&x.url)), Some(x.endpoint_id)),
        DomainEvent::EndpointUpdated(x) => (format!("{who} changed endpoint {} ({})", x.endpoint_id, host(&x.url)), Some(x.endpoint_id)),
        DomainEvent::EndpointDeleted(x) => (format!("{who} deleted endpoint {} ({})", x.endpoint_id, host(&x.url)), Some(x.endpoint_id)),
        DomainEvent::EndpointSecretRotated(x) => (format!("{who} rotated the signing secret of endpoint {}", x.endpoint_id), Some(x.endpoint_id)),
        DomainEvent::EndpointTestSent(x) => (format!("{who} sent a test event to endpoint {}", x.endpoint_id), Some(x.endpoint_id)),
        DomainEvent::EndpointDisabled(x) => (format!("Endpoint {} ({}) was disabled: {}", x.endpoint_id, host(&x.url), x.reason), Some(x.endpoint_id)),
        DomainEvent::RuleCreated(r) => (format!("{who} created rule {} \u{201c}{}\u{201d}", r.rule_id, r.name), Some(r.rule_id)),
        DomainEvent::RuleUpdated(r) => (format!("{who} changed rule {} \u{201c}{}\u{201d}", r.rule_id, r.name), Some(r.rule_id)),
        DomainEvent::RuleDeleted(r) => (format!("{who} deleted rule {} \u{201c}{}\u{201d}", r.rule_id, r.name), Some(r.rule_id)),
        DomainEvent::WebhookReceived(w) => (format!("Stripe event {} ({}) received", w.stripe_event_id, w.stripe_type), Some(w.webhook_event_id)),
        DomainEvent::WebhookProcessed(w) => (format!("Stripe event {} ({}) applied", w.stripe_event_id, w.stripe_type), Some(w.webhook_event_id)),
        DomainEvent::WebhookFailed(w) => {
            let why = w.error.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            (format!("Stripe event {} ({}) failed{why}", w.stripe_event_id, w.stripe_type), Some(w.webhook_event_id))
        }
        DomainEvent::WebhookUnparsed(w) => (format!("Stripe event {} ({}) stored but not understood", w.stripe_event_id, w.stripe_type), Some(w.webhook_event_id)),
        DomainEvent::BusDeliveryDead(d) => (
            format!("Delivery of {} {} to {} gave up after {} attempts: {}", d.event_type, d.event_id, d.listener, d.attempts, d.last_error),
            Some(d.delivery_id),
        ),
        DomainEvent::BusReplayCompleted(r) => (format!("Replay {} re-sent {} of {} matching deliveries", r.replay_id, r.enqueued, r.matched), Some(r.replay_id)),
        // Customer balances and currencies (issue 7).
        DomainEvent::BalanceCredited(b) => (format!("{who} credited {} to customer {}: {}", money(b.amount, &b.currency), b.customer_id, b.reason), Some(b.transaction_id)),
        DomainEvent::BalanceDebited(b) => (format!("{who} debited {} from customer {}: {}", money(b.amount, &b.currency), b.customer_id, b.reason), Some(b.transaction_id)),
        DomainEvent::CurrencyActivated(c) => (format!("{who} activated {}", c.currency.to_uppercase()), Some(c.currency)),
        DomainEvent::CurrencyDeactivated(c) => (format!("{who} deactivated {}", c.currency.to_uppercase()), Some(c.currency)),
    };
    Summary { text: clip(text, 500), object_id: object }
}

fn risk_reasons(r: &PaymentRiskChanged) -> String {
    r.reasons.iter().map(|x| x.message.as_str()).collect::<Vec<_>>().join("; ")
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn checkout_amount(c: &CheckoutSessionChanged) -> String {
    match (c.amount_total, c.currency.as_deref()) {
        (Some(a), Some(cur)) => format!(" for {}", money(a, cur)),
        _ => String::new(),
    }
}

fn customer_label(c: &CustomerChanged) -> String {
    match (&c.name, &c.email) {
        (Some(n), _) => format!(" ({n})"),
        (None, Some(e)) => format!(" ({e})"),
        (None, None) => String::new(),
    }
}

fn invoice_label(i: &InvoiceChanged) -> String {
    match &i.number {
        Some(n) => format!("{} ({n})", i.invoice_id),
        None => i.invoice_id.clone(),
    }
}

fn billing(kind: &str, verb: &str, b: BillingObjectChanged) -> (String, Option<String>) {
    let amount = match (b.amount, b.currency.as_deref()) {
        (Some(a), Some(c)) => format!(" ({})", money(a, c)),
        _ => String::new(),
    };
    (format!("{kind} {} {verb}{amount}", b.stripe_id), Some(b.stripe_id))
}

fn clip(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        s
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('\u{2026}');
        out
    }
}

#[async_trait]
impl Plugin for AuditLog {
    fn manifest(&self) -> &'static Manifest {
        &MANIFEST
    }

    async fn health(&self, _ctx: &PluginCtx<'_>) -> Health {
        Health::Healthy
    }

    async fn handle(&self, ctx: &PluginCtx<'_>, delivery: &Delivery) -> Result<(), ListenerError> {
        let Some(tenant) = ctx.tenant else { return Ok(()) };
        let e = &delivery.event;
        let summary = summarize(e);
        // One row per event, whatever the redeliveries and replays.
        sqlx::query(
            "INSERT INTO audit_log (id, tenant_id, event_id, event_type, actor, actor_type, source, ip, summary, object_id, occurred_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (tenant_id, event_id) DO NOTHING",
        )
        .bind(new_id::<AuditEntryId>().as_str())
        .bind(tenant.as_str())
        .bind(e.id.as_str())
        .bind(e.event_type.name())
        .bind(e.actor.as_deref())
        .bind(e.actor_type.as_str())
        .bind(source(e.metadata.source))
        .bind(e.metadata.ip.as_deref())
        .bind(&summary.text)
        .bind(summary.object_id.as_deref())
        .bind(to_ms(e.occurred_at))
        .execute(&ctx.deps.db.pool)
        .await?;
        Ok(())
    }

    async fn test(&self, ctx: &PluginCtx<'_>) -> Result<String, AppError> {
        let Some(tenant) = ctx.tenant else { return Ok("the audit log records tenants' events only".into()) };
        let latest: Option<(String, i64)> = sqlx::query_as("SELECT summary, occurred_at FROM audit_log WHERE tenant_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT 1")
            .bind(tenant.as_str())
            .fetch_optional(&ctx.deps.db.pool)
            .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1").bind(tenant.as_str()).fetch_one(&ctx.deps.db.pool).await?;
        Ok(match latest {
            Some((summary, _)) => format!("{count} entries recorded; the latest: {summary}"),
            None => "the audit log is working; nothing recorded yet".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{events::EventMetadata, EventId, TenantId};
    use serde_json::json;

    fn envelope(event: DomainEvent, actor: Option<&str>, actor_type: ActorType) -> EventEnvelope {
        EventEnvelope {
            id: EventId::parse("evt_test0001").unwrap(),
            event_type: event.event_type(),
            version: 1,
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            tenant_id: Some(TenantId::parse("ten_test0001").unwrap()),
            actor: actor.map(str::to_owned),
            actor_type,
            payload: event.payload_json().unwrap(),
            metadata: EventMetadata::system(),
        }
    }

    fn payment(amount: i64, refunded: i64, currency: &str) -> PaymentChanged {
        PaymentChanged {
            payment_id: "pay_123".into(),
            stripe_id: "pi_123".into(),
            amount,
            amount_captured: amount,
            amount_refunded: refunded,
            currency: currency.into(),
            status: "succeeded".into(),
            customer_email: Some("buyer@example.com".into()),
            connected_account: None,
            failure_message: Some("Your card was declined.".into()),
        }
    }

    #[test]
    fn money_events_name_the_actor_the_amount_and_the_payment() {
        let s = summarize(&envelope(DomainEvent::PaymentRefunded(payment(5000, 1250, "usd")), Some("usr_abc"), ActorType::User));
        assert_eq!(s.text, "usr_abc refunded 12.50 USD on pay_123");
        assert_eq!(s.object_id.as_deref(), Some("pay_123"));

        let s = summarize(&envelope(DomainEvent::PaymentCaptured(payment(1200, 0, "jpy")), Some("evt_stripe"), ActorType::Webhook));
        assert_eq!(s.text, "Stripe captured 1200 JPY on pay_123");

        let s = summarize(&envelope(DomainEvent::PaymentFailed(payment(5000, 0, "eur")), None, ActorType::Webhook));
        assert_eq!(s.text, "Payment pay_123 of 50.00 EUR failed: Your card was declined.");

        let refund = RefundChanged {
            refund_id: "ref_1".into(),
            stripe_id: None,
            payment_id: "pay_123".into(),
            amount: 1500,
            currency: "kwd".into(),
            status: "pending".into(),
            reason: None,
            failure_reason: None,
        };
        let s = summarize(&envelope(DomainEvent::RefundCreated(refund), Some("key_9"), ActorType::ApiKey));
        assert_eq!(s.text, "key_9 refunded 1.500 KWD on pay_123");
        assert_eq!(s.object_id.as_deref(), Some("ref_1"));

        let dispute = DisputeChanged {
            dispute_id: "dsp_1".into(),
            stripe_id: "dp_1".into(),
            payment_id: Some("pay_123".into()),
            amount: 3500,
            currency: "usd".into(),
            reason: "fraudulent".into(),
            status: "needs_response".into(),
        };
        let s = summarize(&envelope(DomainEvent::DisputeCreated(dispute), None, ActorType::Webhook));
        assert_eq!(s.text, "Dispute dsp_1 opened on pay_123 for 35.00 USD (fraudulent)");
    }

    #[test]
    fn account_events_read_as_sentences() {
        let key = ApiKeyChanged { api_key_id: "key_1".into(), name: "Checkout".into(), role: "developer".into(), mode: "test".into(), prefix: "sk_test_abcd".into() };
        let s = summarize(&envelope(DomainEvent::ApiKeyCreated(key), Some("usr_1"), ActorType::User));
        assert_eq!(s.text, "API key key_1 \u{201c}Checkout\u{201d} (developer, test) created by usr_1");
        assert!(!s.text.contains("sk_test"), "no key material in the trail");

        let m = MemberChanged { user_id: "usr_2".into(), email: "a@example.com".into(), role: "admin".into(), previous_role: Some("viewer".into()) };
        let s = summarize(&envelope(DomainEvent::OrgMemberRoleChanged(m), Some("usr_1"), ActorType::User));
        assert_eq!(s.text, "usr_1 changed the role of a@example.com from viewer to admin");

        let s = summarize(&envelope(DomainEvent::SettingsUpdated(SettingsChanged { keys: vec!["stripe_secret_key".into()] }), None, ActorType::System));
        assert_eq!(s.text, "paybus changed settings: stripe_secret_key");

        let x = EndpointChanged { endpoint_id: "we_1".into(), url: "https://hooks.example.com/T0/secret-token".into(), enabled_events: vec![] };
        let s = summarize(&envelope(DomainEvent::EndpointCreated(x), Some("usr_1"), ActorType::User));
        assert_eq!(s.text, "usr_1 added endpoint we_1 (hooks.example.com)");
        assert!(!s.text.contains("secret-token"));
    }

    #[test]
    fn every_catalog_event_gets_a_line_and_a_bad_payload_still_gets_one() {
        let mut e = envelope(DomainEvent::PaymentCaptured(payment(100, 0, "usd")), None, ActorType::System);
        e.payload = json!({ "unexpected": true });
        let s = summarize(&e);
        assert_eq!(s.text, "payment.captured (paybus)");
        assert_eq!(s.object_id, None);
    }
}
