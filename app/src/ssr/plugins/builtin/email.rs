//! `email-notifications`: a receipt to the customer when a payment's money arrives, an alert to
//! the tenant's notification addresses when a payment fails or a dispute opens, and (for the
//! platform) a welcome mail to each new user.
//!
//! Mail cannot be sent inside a database transaction, so each mail the plugin owes is a row of
//! `plugin_mail_sends`, keyed by what it is about (`receipt` per payment, an alert per event and
//! address, `welcome` per user): claimed before sending, marked sent after, released when the
//! transport fails so the retry sends it. `payment.captured` and `payment.succeeded` of one
//! payment, a redelivery and a replay therefore mail once.

use async_trait::async_trait;

use super::audit_log::money;
use crate::{
    domain::{
        events::{payloads::*, DomainEvent, EventEnvelope, EventType},
        EmailAddress, PrefixedId, TenantId,
    },
    error::AppError,
    ssr::{
        bus::{Delivery, ListenerError},
        mail::{MailError, OutgoingMail},
        plugins::{Field, FieldKind, Health, Manifest, Plugin, PluginConfig, PluginCtx, PluginDeps},
    },
};

pub struct EmailNotifications;

static MANIFEST: Manifest = Manifest {
    name: "email-notifications",
    version: "1.0.0",
    title: "Email notifications",
    description: "Emails receipts to your customers, and failed-payment and dispute alerts to your team.",
    patterns: &["payment.captured", "payment.succeeded", "payment.failed", "dispute.created", "auth.user_signed_up"],
    default_enabled: false,
    platform_events: true,
    fields: &[
        Field {
            key: "send_receipts",
            label: "Payment receipts",
            kind: FieldKind::Bool,
            required: false,
            secret: false,
            help: "Email the customer a receipt when a payment's money arrives (once per payment).",
            default: Some("true"),
        },
        Field {
            key: "send_failed_alerts",
            label: "Failed-payment alerts",
            kind: FieldKind::Bool,
            required: false,
            secret: false,
            help: "Email the notification addresses when a payment fails.",
            default: Some("true"),
        },
        Field {
            key: "send_dispute_alerts",
            label: "Dispute alerts",
            kind: FieldKind::Bool,
            required: false,
            secret: false,
            help: "Email the notification addresses when a customer opens a dispute.",
            default: Some("true"),
        },
        Field {
            key: "notification_emails",
            label: "Alert addresses",
            kind: FieldKind::Emails,
            required: false,
            secret: false,
            help: "Who receives alerts. Empty: the notification addresses of the tenant's settings.",
            default: None,
        },
        Field {
            key: "reply_to",
            label: "Reply-to address",
            kind: FieldKind::Text,
            required: false,
            secret: false,
            help: "Where customers' replies to receipts go (your support address).",
            default: None,
        },
        Field {
            key: "signature",
            label: "Signature",
            kind: FieldKind::Text,
            required: false,
            secret: false,
            help: "Closes every receipt; defaults to the tenant's name.",
            default: None,
        },
    ],
};

/// One mail, ready to send: the key it is deduplicated by, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub key: String,
    pub kind: &'static str,
    pub mail: OutgoingMail,
    pub reply_to: Option<String>,
}

/// What the templates know about the tenant.
#[derive(Debug, Clone)]
pub struct TenantFacts {
    pub name: String,
    pub alert_addresses: Vec<String>,
}

fn date(e: &EventEnvelope) -> String {
    let t = e.occurred_at;
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), t.month() as u8, t.day(), t.hour(), t.minute())
}

/// The customer's receipt.
pub fn receipt(tenant: &str, p: &PaymentChanged, when: &str, signature: Option<&str>, reply_to: Option<&str>) -> (String, String) {
    let amount = money(if p.amount_captured > 0 { p.amount_captured } else { p.amount }, &p.currency);
    let subject = format!("Your receipt from {tenant}: {amount}");
    let mut text = format!(
        "Hello,\n\nThank you for your payment to {tenant}.\n\n\
         Amount paid: {amount}\nPayment reference: {}\nDate: {when}\n",
        p.payment_id
    );
    if let Some(r) = reply_to {
        text.push_str(&format!("\nQuestions about this payment? Reply to this email or write to {r}.\n"));
    }
    text.push_str(&format!("\n{}\n", signature.map(str::to_owned).unwrap_or_else(|| format!("— {tenant}"))));
    (subject, text)
}

/// The team's alert about a failed payment.
pub fn failed_alert(tenant: &str, p: &PaymentChanged, when: &str, dashboard: &str) -> (String, String) {
    let amount = money(p.amount, &p.currency);
    let customer = p.customer_email.as_deref().unwrap_or("an unknown customer");
    let subject = format!("[{tenant}] Payment failed: {amount} from {customer}");
    let reason = p.failure_message.as_deref().unwrap_or("no reason given");
    let text = format!(
        "A payment to {tenant} failed.\n\nAmount: {amount}\nCustomer: {customer}\nReason: {reason}\nPayment: {}\nWhen: {when}\n\n\
         See it in the dashboard: {dashboard}/payments/{}\n",
        p.payment_id, p.payment_id
    );
    (subject, text)
}

/// The team's alert about a new dispute.
pub fn dispute_alert(tenant: &str, d: &DisputeChanged, when: &str, dashboard: &str) -> (String, String) {
    let amount = money(d.amount, &d.currency);
    let subject = format!("[{tenant}] Dispute opened: {amount} ({})", d.reason.replace('_', " "));
    let payment = d.payment_id.as_deref().unwrap_or("unknown");
    let text = format!(
        "A customer disputed a payment to {tenant}.\n\nAmount: {amount}\nReason: {}\nStatus: {}\nPayment: {payment}\nDispute: {}\nOpened: {when}\n\n\
         Respond with evidence before Stripe's deadline, or the funds are lost.\nSee it in the dashboard: {dashboard}/disputes/{}\n",
        d.reason.replace('_', " "),
        d.status.replace('_', " "),
        d.dispute_id,
        d.dispute_id
    );
    (subject, text)
}

/// A new user's welcome.
pub fn welcome(u: &UserChanged, dashboard: &str) -> (String, String) {
    let text = format!(
        "Welcome to paybus, {}!\n\nYour account and your first workspace are ready. Once you have confirmed your address, sign in at\n{dashboard}/login\n\n\
         From the dashboard you can connect Stripe, follow payments, refunds and disputes as they happen, and switch on plugins such as receipts and chat alerts.\n\n— paybus\n",
        u.email
    );
    ("Welcome to paybus".to_owned(), text)
}

/// What `event` asks of the plugin, given the configuration and the tenant; empty when nothing.
pub fn plan(event: &EventEnvelope, config: &PluginConfig, tenant: Option<(&TenantId, &TenantFacts)>, deps: &PluginDeps) -> Result<Vec<Planned>, ListenerError> {
    let parsed = DomainEvent::from_payload(event.event_type, event.payload.clone())
        .map_err(|e| ListenerError::permanent(format!("unreadable {} payload: {e}", event.event_type)))?;
    let dashboard = deps.public_url.trim_end_matches('/');
    let when = date(event);
    let Some((tenant_id, facts)) = tenant else {
        // The platform's own mail.
        return Ok(match parsed {
            DomainEvent::AuthUserSignedUp(u) if deps.welcome_email => {
                let (subject, text) = welcome(&u, dashboard);
                vec![Planned { key: format!("welcome/{}", u.user_id), kind: "welcome", mail: OutgoingMail { to: u.email, subject, text }, reply_to: None }]
            }
            _ => vec![],
        });
    };
    let t = tenant_id.as_str();
    let reply_to = config.str("reply_to").and_then(|r| EmailAddress::parse(r).ok()).map(|r| r.as_str().to_owned());
    let alerts = |kind: &'static str, about: &str, subject: String, text: String| -> Vec<Planned> {
        facts
            .alert_addresses
            .iter()
            .map(|to| Planned { key: format!("{t}/{kind}/{about}/{to}"), kind, mail: OutgoingMail { to: to.clone(), subject: subject.clone(), text: text.clone() }, reply_to: None })
            .collect()
    };
    Ok(match parsed {
        DomainEvent::PaymentCaptured(p) | DomainEvent::PaymentSucceeded(p) if config.bool("send_receipts") => {
            let Some(to) = p.customer_email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) else { return Ok(vec![]) };
            let (subject, text) = receipt(&facts.name, &p, &when, config.str("signature"), reply_to.as_deref());
            // One receipt per payment, whichever of its events comes first.
            vec![Planned { key: format!("{t}/receipt/{}", p.payment_id), kind: "receipt", mail: OutgoingMail { to: to.as_str().to_owned(), subject, text }, reply_to }]
        }
        DomainEvent::PaymentFailed(p) if config.bool("send_failed_alerts") => {
            let (subject, text) = failed_alert(&facts.name, &p, &when, dashboard);
            // Per failure (a payment may fail, be retried and fail again), per address.
            alerts("payment_failed", &format!("{}/{}", p.payment_id, event.id.as_str()), subject, text)
        }
        DomainEvent::DisputeCreated(d) if config.bool("send_dispute_alerts") => {
            let (subject, text) = dispute_alert(&facts.name, &d, &when, dashboard);
            alerts("dispute_opened", &d.dispute_id, subject, text)
        }
        _ => vec![],
    })
}

/// The addresses alerts go to: the plugin's own list, else the tenant's settings.
async fn alert_addresses(deps: &PluginDeps, tenant: &TenantId, config: &PluginConfig) -> sqlx::Result<Vec<String>> {
    let own = config.list("notification_emails");
    if !own.is_empty() {
        return Ok(own);
    }
    let stored: Option<String> = sqlx::query_scalar("SELECT notification_emails FROM tenant_settings WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_optional(&deps.db.pool)
        .await?;
    Ok(stored.and_then(|s| serde_json::from_str::<Vec<String>>(&s).ok()).unwrap_or_default())
}

async fn tenant_facts(deps: &PluginDeps, tenant: &TenantId, config: &PluginConfig) -> sqlx::Result<TenantFacts> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1").bind(tenant.as_str()).fetch_optional(&deps.db.pool).await?;
    Ok(TenantFacts { name: name.unwrap_or_else(|| "your merchant".to_owned()), alert_addresses: alert_addresses(deps, tenant, config).await? })
}

/// How long a claim may stay unfinished before another delivery may take it over (a process
/// that died between claiming and sending).
const STALE_CLAIM_MS: i64 = 10 * 60 * 1000;

enum Claim {
    Mine,
    /// Sent already, or being sent by another delivery that will retry if it fails.
    Taken,
}

async fn claim(deps: &PluginDeps, tenant: Option<&TenantId>, planned: &Planned, event: &EventEnvelope, delivery: &Delivery) -> sqlx::Result<Claim> {
    let now = deps.clock.now_ms();
    let inserted = sqlx::query(
        "INSERT INTO plugin_mail_sends (dedupe_key, tenant_id, kind, recipient, event_id, delivery_id, status, claimed_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'sending', $7) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&planned.key)
    .bind(tenant.map(|t| t.as_str()))
    .bind(planned.kind)
    .bind(&planned.mail.to)
    .bind(event.id.as_str())
    .bind(delivery.id.as_str())
    .bind(now)
    .execute(&deps.db.pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Mine);
    }
    let row: Option<(String, String, i64)> = sqlx::query_as("SELECT status, delivery_id, claimed_at FROM plugin_mail_sends WHERE dedupe_key = $1")
        .bind(&planned.key)
        .fetch_optional(&deps.db.pool)
        .await?;
    let Some((status, owner, claimed_at)) = row else { return Ok(Claim::Taken) };
    // Our own earlier attempt that never finished (it timed out or its process died), or an
    // abandoned claim: take it over — at least once beats never.
    if status == "sending" && (owner == delivery.id.as_str() || claimed_at < now - STALE_CLAIM_MS) {
        let took = sqlx::query("UPDATE plugin_mail_sends SET delivery_id = $1, event_id = $2, claimed_at = $3 WHERE dedupe_key = $4 AND status = 'sending' AND delivery_id = $5 AND claimed_at = $6")
            .bind(delivery.id.as_str())
            .bind(event.id.as_str())
            .bind(now)
            .bind(&planned.key)
            .bind(&owner)
            .bind(claimed_at)
            .execute(&deps.db.pool)
            .await?;
        if took.rows_affected() == 1 {
            return Ok(Claim::Mine);
        }
    }
    Ok(Claim::Taken)
}

fn mail_error(e: MailError) -> ListenerError {
    match e {
        MailError::Rejected(m) => ListenerError::permanent(format!("the mail transport refused the message: {m}")),
        MailError::Unreachable(m) => ListenerError::retryable(format!("the mail transport is unreachable: {m}")),
        MailError::Config(m) => ListenerError::retryable(format!("mail is misconfigured: {m}")),
    }
}

async fn send_once(deps: &PluginDeps, tenant: Option<&TenantId>, planned: Planned, delivery: &Delivery) -> Result<(), ListenerError> {
    if let Claim::Taken = claim(deps, tenant, &planned, &delivery.event, delivery).await? {
        return Ok(());
    }
    let key = planned.key.clone();
    match deps.mailer.send_replying_to(planned.mail, planned.reply_to.as_deref()).await {
        Ok(()) => {
            sqlx::query("UPDATE plugin_mail_sends SET status = 'sent', sent_at = $1 WHERE dedupe_key = $2")
                .bind(deps.clock.now_ms())
                .bind(&key)
                .execute(&deps.db.pool)
                .await?;
            Ok(())
        }
        Err(e) => {
            let err = mail_error(e);
            // Let the retry (or, if refused for good, a replay after a fix) send it.
            sqlx::query("DELETE FROM plugin_mail_sends WHERE dedupe_key = $1 AND delivery_id = $2 AND status = 'sending'")
                .bind(&key)
                .bind(delivery.id.as_str())
                .execute(&deps.db.pool)
                .await?;
            Err(err)
        }
    }
}

#[async_trait]
impl Plugin for EmailNotifications {
    fn manifest(&self) -> &'static Manifest {
        &MANIFEST
    }

    fn is_platform_event(&self, event: &EventEnvelope) -> bool {
        event.event_type == EventType::AuthUserSignedUp
    }

    async fn health(&self, ctx: &PluginCtx<'_>) -> Health {
        let Some(tenant) = ctx.tenant else { return Health::Healthy };
        if let Some(r) = ctx.config.str("reply_to") {
            if EmailAddress::parse(r).is_err() {
                return Health::Unhealthy(format!("the reply-to address `{r}` is not a valid email address"));
            }
        }
        if !(ctx.config.bool("send_failed_alerts") || ctx.config.bool("send_dispute_alerts")) {
            return Health::Healthy;
        }
        match alert_addresses(ctx.deps, tenant, ctx.config).await {
            Ok(a) if a.is_empty() => Health::Unconfigured("alerts are on but there is no address to send them to: set alert addresses here or notification addresses in settings".into()),
            Ok(_) => Health::Healthy,
            Err(e) => Health::Unhealthy(format!("cannot read the notification addresses: {e}")),
        }
    }

    async fn handle(&self, ctx: &PluginCtx<'_>, delivery: &Delivery) -> Result<(), ListenerError> {
        let facts = match ctx.tenant {
            Some(t) => Some(tenant_facts(ctx.deps, t, ctx.config).await?),
            None => None,
        };
        let tenant = ctx.tenant.zip(facts.as_ref());
        let planned = plan(&delivery.event, ctx.config, tenant, ctx.deps)?;
        // Each mail on its own: one address refused does not hold back the others.
        let mut first_error = None;
        for p in planned {
            if let Err(e) = send_once(ctx.deps, ctx.tenant, p, delivery).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn test(&self, ctx: &PluginCtx<'_>) -> Result<String, AppError> {
        let tenant = ctx.tenant.ok_or(AppError::Internal)?;
        let facts = tenant_facts(ctx.deps, tenant, ctx.config).await?;
        if facts.alert_addresses.is_empty() {
            return Err(AppError::invalid(
                "plugin_unconfigured",
                "there is no address to send a test to: set alert addresses here or notification addresses in settings",
                Some("config.notification_emails"),
            ));
        }
        let subject = format!("[{}] Test email from paybus", facts.name);
        let text = format!(
            "This is a test of the email notifications of {}.\n\nFailed-payment and dispute alerts will arrive at this address.\n\n— paybus\n",
            facts.name
        );
        for to in &facts.alert_addresses {
            ctx.deps.mailer.send(OutgoingMail { to: to.clone(), subject: subject.clone(), text: text.clone() }).await.map_err(|e| AppError::Upstream {
                code: "plugin_test_failed".into(),
                message: format!("sending to {to} failed: {e}"),
            })?;
        }
        Ok(format!("sent a test email to {}", facts.alert_addresses.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment() -> PaymentChanged {
        PaymentChanged {
            payment_id: "pay_123".into(),
            stripe_id: "pi_123".into(),
            amount: 1250,
            amount_captured: 1250,
            amount_refunded: 0,
            currency: "usd".into(),
            status: "succeeded".into(),
            customer_email: Some("buyer@example.com".into()),
            connected_account: None,
            failure_message: Some("Your card has insufficient funds.".into()),
        }
    }

    #[test]
    fn a_receipt_names_the_merchant_the_amount_and_the_reference() {
        let (subject, text) = receipt("Acme Books", &payment(), "2026-01-02 03:04 UTC", None, Some("help@acme.example"));
        assert_eq!(subject, "Your receipt from Acme Books: 12.50 USD");
        assert!(text.contains("Amount paid: 12.50 USD"), "{text}");
        assert!(text.contains("Payment reference: pay_123"), "{text}");
        assert!(text.contains("write to help@acme.example"), "{text}");
        assert!(text.trim_end().ends_with("— Acme Books"), "{text}");
        let (_, signed) = receipt("Acme Books", &payment(), "now", Some("Thanks, the Acme team"), None);
        assert!(signed.trim_end().ends_with("Thanks, the Acme team"), "{signed}");
        assert!(!signed.contains("Questions"), "{signed}");
    }

    #[test]
    fn zero_and_three_decimal_currencies_are_formatted_by_their_minor_unit() {
        let mut p = payment();
        (p.amount, p.amount_captured, p.currency) = (1200, 1200, "jpy".into());
        assert!(receipt("A", &p, "now", None, None).0.ends_with("1200 JPY"));
        (p.amount, p.amount_captured, p.currency) = (1500, 1500, "kwd".into());
        assert!(receipt("A", &p, "now", None, None).0.ends_with("1.500 KWD"));
    }

    #[test]
    fn alerts_say_what_happened_and_link_to_the_dashboard() {
        let (subject, text) = failed_alert("Acme", &payment(), "now", "https://pay.example.com");
        assert_eq!(subject, "[Acme] Payment failed: 12.50 USD from buyer@example.com");
        assert!(text.contains("Reason: Your card has insufficient funds."), "{text}");
        assert!(text.contains("https://pay.example.com/payments/pay_123"), "{text}");

        let d = DisputeChanged {
            dispute_id: "dsp_9".into(),
            stripe_id: "dp_9".into(),
            payment_id: Some("pay_123".into()),
            amount: 3500,
            currency: "eur".into(),
            reason: "product_not_received".into(),
            status: "needs_response".into(),
        };
        let (subject, text) = dispute_alert("Acme", &d, "now", "https://pay.example.com");
        assert_eq!(subject, "[Acme] Dispute opened: 35.00 EUR (product not received)");
        assert!(text.contains("https://pay.example.com/disputes/dsp_9"), "{text}");
        assert!(text.contains("Status: needs response"), "{text}");
    }

    #[test]
    fn the_welcome_greets_the_user_and_links_to_sign_in() {
        let (subject, text) = welcome(&UserChanged { user_id: "usr_1".into(), email: "new@example.com".into() }, "http://localhost:3000");
        assert_eq!(subject, "Welcome to paybus");
        assert!(text.contains("Welcome to paybus, new@example.com!"), "{text}");
        assert!(text.contains("http://localhost:3000/login"), "{text}");
    }
}
