//! `chat-alerts`: posts the events a tenant picked (disputes and failed payments by default), and
//! payments above a threshold, to a Slack- or Rocket.Chat-compatible incoming webhook.
//!
//! The webhook URL is a secret (it is the credential). Private and loopback targets are refused
//! unless the operator allowed them. A 2xx is success; a 429 or 5xx is retried; any other answer
//! is final. A message that was posted is recorded by delivery (`listener_receipts`), so a
//! retried delivery does not post it again.

use std::net::IpAddr;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::audit_log::{money, summarize};
use crate::{
    domain::{
        events::{pattern::any_matches, payloads::*, DomainEvent, EventEnvelope, EventType},
        PrefixedId, TenantId,
    },
    error::AppError,
    ssr::{
        bus::{receipts, Delivery, ListenerError},
        plugins::{Field, FieldKind, Health, Manifest, Plugin, PluginConfig, PluginCtx, PluginDeps},
    },
};

pub struct ChatAlerts;

static MANIFEST: Manifest = Manifest {
    name: "chat-alerts",
    version: "1.0.0",
    title: "Chat alerts",
    description: "Posts disputes, failed payments and large payments to a Slack or Rocket.Chat channel.",
    // Any event a tenant may pick; the tenant's `events` narrow it down.
    patterns: &["*"],
    default_enabled: false,
    platform_events: false,
    fields: &[
        Field {
            key: "webhook_url",
            label: "Incoming webhook URL",
            kind: FieldKind::Url,
            required: true,
            secret: true,
            help: "The channel's incoming-webhook URL (Slack: https://hooks.slack.com/services/…; Rocket.Chat: https://chat.example.com/hooks/…).",
            default: None,
        },
        Field {
            key: "flavor",
            label: "Chat",
            kind: FieldKind::Choice { options: &["slack", "rocketchat"] },
            required: false,
            secret: false,
            help: "Which message format the webhook expects.",
            default: Some(r#""slack""#),
        },
        Field {
            key: "events",
            label: "Events",
            kind: FieldKind::Patterns,
            required: false,
            secret: false,
            help: "Which events to post: names (payment.failed), domains (dispute.*) or *.",
            default: Some(r#"["dispute.*", "payment.failed"]"#),
        },
        Field {
            key: "large_payment_threshold",
            label: "Large payment threshold",
            kind: FieldKind::Integer { min: 1, max: 1_000_000_000_000 },
            required: false,
            secret: false,
            help: "Also post each captured payment above this amount, in minor units (500000 = 5,000.00). Empty: off.",
            default: None,
        },
        Field {
            key: "large_payment_currency",
            label: "Threshold currency",
            kind: FieldKind::Text,
            required: false,
            secret: false,
            help: "The currency the threshold is in; payments in other currencies are not compared.",
            default: Some(r#""usd""#),
        },
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Slack,
    RocketChat,
}

impl Flavor {
    fn of(config: &PluginConfig) -> Self {
        match config.str("flavor") {
            Some("rocketchat") => Flavor::RocketChat,
            _ => Flavor::Slack,
        }
    }
}

/// A message before it is put in a flavor's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub lines: Vec<(String, String)>,
    pub link: Option<(String, String)>,
    /// good, warning, danger: the attachment colour.
    pub tone: &'static str,
}

/// Whether the event is a payment's money arriving above the tenant's threshold.
fn is_large(config: &PluginConfig, event: &DomainEvent) -> bool {
    let (Some(threshold), DomainEvent::PaymentCaptured(p)) = (config.int("large_payment_threshold"), event) else { return false };
    let currency = config.str("large_payment_currency").unwrap_or("usd");
    p.currency.eq_ignore_ascii_case(currency.trim()) && p.amount_captured.max(p.amount) > threshold
}

/// What to post for `event`, or `None` when the tenant did not ask for it.
pub fn alert_for(event: &EventEnvelope, config: &PluginConfig, tenant_name: &str, dashboard: &str, customer: Option<String>) -> Option<Alert> {
    let parsed = DomainEvent::from_payload(event.event_type, event.payload.clone()).ok();
    let large = parsed.as_ref().is_some_and(|p| is_large(config, p));
    if !large && !any_matches(&config.patterns("events"), event.event_type) {
        return None;
    }
    let payment_link = |id: &str| Some((format!("{dashboard}/payments/{id}"), format!("View {id}")));
    let customer_line = |c: Option<String>| c.map(|c| ("Customer".to_owned(), c));
    let alert = match parsed {
        Some(DomainEvent::PaymentCaptured(p)) if large => Alert {
            title: format!("[{tenant_name}] Large payment: {}", money(p.amount_captured.max(p.amount), &p.currency)),
            lines: [customer_line(p.customer_email.clone()), Some(("Payment".into(), p.payment_id.clone()))].into_iter().flatten().collect(),
            link: payment_link(&p.payment_id),
            tone: "good",
        },
        Some(DomainEvent::PaymentFailed(p)) => Alert {
            title: format!("[{tenant_name}] Payment failed: {}", money(p.amount, &p.currency)),
            lines: [
                customer_line(p.customer_email.clone()),
                p.failure_message.clone().map(|m| ("Reason".to_owned(), m)),
                Some(("Payment".into(), p.payment_id.clone())),
            ]
            .into_iter()
            .flatten()
            .collect(),
            link: payment_link(&p.payment_id),
            tone: "danger",
        },
        Some(DomainEvent::DisputeCreated(d)) => dispute_alert(tenant_name, "Dispute opened", &d, dashboard, customer, "danger"),
        Some(DomainEvent::DisputeClosed(d)) => {
            let tone = if d.status == "won" { "good" } else { "warning" };
            dispute_alert(tenant_name, &format!("Dispute {}", d.status.replace('_', " ")), &d, dashboard, customer, tone)
        }
        Some(
            DomainEvent::DisputeUpdated(d) | DomainEvent::DisputeFundsWithdrawn(d) | DomainEvent::DisputeFundsReinstated(d),
        ) => dispute_alert(tenant_name, &summarize(event).text, &d, dashboard, customer, "warning"),
        Some(
            DomainEvent::PaymentAuthorized(p)
            | DomainEvent::PaymentCaptured(p)
            | DomainEvent::PaymentSucceeded(p)
            | DomainEvent::PaymentCanceled(p)
            | DomainEvent::PaymentRefunded(p)
            | DomainEvent::PaymentPartiallyRefunded(p),
        ) => Alert {
            title: format!("[{tenant_name}] {}", summarize(event).text),
            lines: [customer_line(p.customer_email.clone()), Some(("Amount".into(), money(p.amount, &p.currency)))].into_iter().flatten().collect(),
            link: payment_link(&p.payment_id),
            tone: "good",
        },
        _ => Alert { title: format!("[{tenant_name}] {}", summarize(event).text), lines: vec![], link: None, tone: "warning" },
    };
    Some(alert)
}

fn dispute_alert(tenant_name: &str, what: &str, d: &DisputeChanged, dashboard: &str, customer: Option<String>, tone: &'static str) -> Alert {
    Alert {
        title: format!("[{tenant_name}] {what}: {}", money(d.amount, &d.currency)),
        lines: [
            customer.map(|c| ("Customer".to_owned(), c)),
            Some(("Reason".into(), d.reason.replace('_', " "))),
            Some(("Status".into(), d.status.replace('_', " "))),
            d.payment_id.clone().map(|p| ("Payment".to_owned(), p)),
        ]
        .into_iter()
        .flatten()
        .collect(),
        link: Some((format!("{dashboard}/disputes/{}", d.dispute_id), format!("View {}", d.dispute_id))),
        tone,
    }
}

/// Escapes what Slack's mrkdwn treats as markup (`&`, `<`, `>`).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The JSON body the flavor's incoming webhook takes. `text` alone carries everything (for
/// clients that ignore blocks and attachments).
pub fn message(alert: &Alert, flavor: Flavor) -> Value {
    match flavor {
        Flavor::Slack => {
            let mut text = format!("*{}*", slack_escape(&alert.title));
            for (k, v) in &alert.lines {
                text.push_str(&format!("\n{}: {}", slack_escape(k), slack_escape(v)));
            }
            if let Some((url, label)) = &alert.link {
                text.push_str(&format!("\n<{url}|{}>", slack_escape(label)));
            }
            let mut blocks = vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*{}*", slack_escape(&alert.title)) } })];
            if !alert.lines.is_empty() {
                let fields: Vec<Value> = alert.lines.iter().map(|(k, v)| json!({ "type": "mrkdwn", "text": format!("*{}*\n{}", slack_escape(k), slack_escape(v)) })).collect();
                blocks.push(json!({ "type": "section", "fields": fields }));
            }
            if let Some((url, label)) = &alert.link {
                blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("<{url}|{}>", slack_escape(label)) }] }));
            }
            json!({ "text": text, "blocks": blocks })
        }
        Flavor::RocketChat => {
            let mut text = format!("**{}**", alert.title);
            for (k, v) in &alert.lines {
                text.push_str(&format!("\n{k}: {v}"));
            }
            if let Some((url, label)) = &alert.link {
                text.push_str(&format!("\n[{label}]({url})"));
            }
            let color = match alert.tone {
                "good" => "#2eb886",
                "danger" => "#d40e0d",
                _ => "#daa038",
            };
            let fields: Vec<Value> = alert.lines.iter().map(|(k, v)| json!({ "short": true, "title": k, "value": v })).collect();
            let mut attachment = json!({ "title": alert.title, "color": color, "fields": fields });
            if let Some((url, _)) = &alert.link {
                attachment["title_link"] = json!(url);
            }
            json!({ "text": text, "attachments": [attachment] })
        }
    }
}

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()
                // 100.64.0.0/10 (carrier-grade NAT) and 0.0.0.0/8.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Refuses a URL whose host is, or resolves to, a private, loopback or link-local address,
/// unless `allow_private`. (Resolution and connection are separate steps: this stops the plain
/// cases, not a DNS rebinding.)
pub async fn check_target(raw: &str, allow_private: bool) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw).map_err(|_| "the webhook URL is not a URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the webhook URL must be http(s)".into());
    }
    if allow_private {
        return Ok(url);
    }
    let host = url.host_str().ok_or("the webhook URL has no host")?.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.map(|a| a.ip()).collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    if let Some(ip) = addrs.into_iter().find(|ip| private(*ip)) {
        return Err(format!("{host} is a private or loopback address ({ip}); paybus does not post there"));
    }
    Ok(url)
}

#[derive(Debug)]
enum PostError {
    Retry(String),
    Final(String),
}

async fn post(deps: &PluginDeps, url: &str, body: &Value) -> Result<u16, PostError> {
    let url = check_target(url, deps.allow_private_targets).await.map_err(PostError::Final)?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let response = deps.http.post(url).json(body).send().await.map_err(|e| PostError::Retry(format!("{host} unreachable: {}", e.without_url())))?;
    let status = response.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let detail: String = response.text().await.unwrap_or_default().chars().take(200).collect();
    let message = format!("{host} answered {status}: {detail}");
    if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        Err(PostError::Retry(message))
    } else {
        Err(PostError::Final(message))
    }
}

async fn tenant_name(deps: &PluginDeps, tenant: &TenantId) -> sqlx::Result<String> {
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1").bind(tenant.as_str()).fetch_optional(&deps.db.pool).await?;
    Ok(name.unwrap_or_else(|| tenant.as_str().to_owned()))
}

/// The customer of a dispute's payment (disputes do not carry it).
async fn dispute_customer(deps: &PluginDeps, tenant: &TenantId, event: &EventEnvelope) -> sqlx::Result<Option<String>> {
    let Some(payment) = event.payload.get("payment_id").and_then(Value::as_str) else { return Ok(None) };
    if event.event_type.domain() != "dispute" {
        return Ok(None);
    }
    let email: Option<Option<String>> = sqlx::query_scalar("SELECT customer_email FROM payments WHERE id = $1 AND tenant_id = $2")
        .bind(payment)
        .bind(tenant.as_str())
        .fetch_optional(&deps.db.pool)
        .await?;
    Ok(email.flatten())
}

#[async_trait]
impl Plugin for ChatAlerts {
    fn manifest(&self) -> &'static Manifest {
        &MANIFEST
    }

    async fn health(&self, ctx: &PluginCtx<'_>) -> Health {
        let Some(url) = ctx.config.str("webhook_url") else {
            return Health::Unconfigured("no incoming-webhook URL: paste the one your chat gave you".into());
        };
        if let Some(c) = ctx.config.str("large_payment_currency") {
            if crate::domain::Currency::parse(c).is_err() {
                return Health::Unhealthy(format!("`{c}` is not a currency code"));
            }
        }
        match check_target(url, ctx.deps.allow_private_targets).await {
            Ok(_) => Health::Healthy,
            Err(why) => Health::Unhealthy(why),
        }
    }

    async fn handle(&self, ctx: &PluginCtx<'_>, delivery: &Delivery) -> Result<(), ListenerError> {
        let Some(tenant) = ctx.tenant else { return Ok(()) };
        // Unconfigured: nothing to post to (health says so).
        let Some(url) = ctx.config.str("webhook_url") else { return Ok(()) };
        let event = &delivery.event;
        // Cheap test first: most events interest no one.
        let parsed_large = event.event_type == EventType::PaymentCaptured && ctx.config.int("large_payment_threshold").is_some();
        if !parsed_large && !any_matches(&ctx.config.patterns("events"), event.event_type) {
            return Ok(());
        }
        let already: Option<i64> = sqlx::query_scalar("SELECT 1 FROM listener_receipts WHERE listener = $1 AND delivery_id = $2")
            .bind(MANIFEST.name)
            .bind(delivery.id.as_str())
            .fetch_optional(&ctx.deps.db.pool)
            .await?;
        if already.is_some() {
            return Ok(());
        }
        let name = tenant_name(ctx.deps, tenant).await?;
        let customer = dispute_customer(ctx.deps, tenant, event).await?;
        let Some(alert) = alert_for(event, ctx.config, &name, ctx.deps.public_url.trim_end_matches('/'), customer) else { return Ok(()) };
        let body = message(&alert, Flavor::of(ctx.config));
        match post(ctx.deps, url, &body).await {
            Ok(_) => {
                receipts::record_once(&ctx.deps.db.pool, MANIFEST.name, &delivery.id, &event.id, ctx.deps.clock.now_ms()).await?;
                Ok(())
            }
            Err(PostError::Retry(m)) => Err(ListenerError::retryable(m)),
            Err(PostError::Final(m)) => Err(ListenerError::permanent(m)),
        }
    }

    async fn test(&self, ctx: &PluginCtx<'_>) -> Result<String, AppError> {
        let tenant = ctx.tenant.ok_or(AppError::Internal)?;
        let Some(url) = ctx.config.str("webhook_url") else {
            return Err(AppError::invalid("plugin_unconfigured", "set the incoming-webhook URL first", Some("config.webhook_url")));
        };
        let name = tenant_name(ctx.deps, tenant).await?;
        let alert = Alert {
            title: format!("[{name}] Test message from paybus"),
            lines: vec![("Events".into(), ctx.config.list("events").join(", "))],
            link: Some((format!("{}/plugins", ctx.deps.public_url.trim_end_matches('/')), "Plugin settings".into())),
            tone: "good",
        };
        match post(ctx.deps, url, &message(&alert, Flavor::of(ctx.config))).await {
            Ok(status) => Ok(format!("posted a test message; the chat answered {status}")),
            Err(PostError::Retry(m) | PostError::Final(m)) => Err(AppError::Upstream { code: "plugin_test_failed".into(), message: m }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::{
            events::{ActorType, EventMetadata},
            EventId,
        },
        ssr::plugins::schema::apply_patch,
    };
    use serde_json::Map;

    fn config(v: Value) -> PluginConfig {
        let patch: Map<String, Value> = v.as_object().unwrap().clone();
        apply_patch(MANIFEST.fields, &PluginConfig::empty(), &patch).unwrap()
    }

    fn envelope(event: DomainEvent) -> EventEnvelope {
        EventEnvelope {
            id: EventId::parse("evt_test0001").unwrap(),
            event_type: event.event_type(),
            version: 1,
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            tenant_id: Some(TenantId::parse("ten_test0001").unwrap()),
            actor: Some("evt_stripe".into()),
            actor_type: ActorType::Webhook,
            payload: event.payload_json().unwrap(),
            metadata: EventMetadata::system(),
        }
    }

    fn captured(amount: i64, currency: &str) -> EventEnvelope {
        envelope(DomainEvent::PaymentCaptured(PaymentChanged {
            payment_id: "pay_1".into(),
            stripe_id: "pi_1".into(),
            amount,
            amount_captured: amount,
            amount_refunded: 0,
            currency: currency.into(),
            status: "succeeded".into(),
            customer_email: Some("big@example.com".into()),
            connected_account: None,
            failure_message: None,
        }))
    }

    fn dispute() -> EventEnvelope {
        envelope(DomainEvent::DisputeCreated(DisputeChanged {
            dispute_id: "dsp_1".into(),
            stripe_id: "dp_1".into(),
            payment_id: Some("pay_1".into()),
            amount: 3500,
            currency: "usd".into(),
            reason: "fraudulent".into(),
            status: "needs_response".into(),
        }))
    }

    const URL: &str = "https://hooks.slack.example/services/T/B/x";

    #[test]
    fn disputes_are_posted_by_default_and_ordinary_payments_are_not() {
        let c = config(json!({ "webhook_url": URL }));
        let a = alert_for(&dispute(), &c, "Acme", "https://pay.example.com", Some("buyer@example.com".into())).unwrap();
        assert_eq!(a.title, "[Acme] Dispute opened: 35.00 USD");
        assert!(a.lines.contains(&("Customer".into(), "buyer@example.com".into())));
        assert_eq!(a.link.unwrap().0, "https://pay.example.com/disputes/dsp_1");
        assert!(alert_for(&captured(999_999, "usd"), &c, "Acme", "", None).is_none(), "no threshold, no large-payment alert");
    }

    #[test]
    fn only_payments_above_the_threshold_in_its_currency_are_large() {
        let c = config(json!({ "webhook_url": URL, "large_payment_threshold": 100_000, "large_payment_currency": "eur" }));
        let a = alert_for(&captured(250_000, "eur"), &c, "Acme", "https://pay.example.com", None).unwrap();
        assert_eq!(a.title, "[Acme] Large payment: 2500.00 EUR");
        assert!(a.lines.contains(&("Customer".into(), "big@example.com".into())));
        assert_eq!(a.link.unwrap().0, "https://pay.example.com/payments/pay_1");
        assert!(alert_for(&captured(100_000, "eur"), &c, "Acme", "", None).is_none(), "equal is not above");
        assert!(alert_for(&captured(250_000, "usd"), &c, "Acme", "", None).is_none(), "another currency is not compared");
    }

    #[test]
    fn slack_and_rocket_chat_get_their_own_shapes_with_the_text_and_the_link() {
        let c = config(json!({ "webhook_url": URL }));
        let a = alert_for(&dispute(), &c, "A <b> & co", "https://pay.example.com", None).unwrap();
        let slack = message(&a, Flavor::Slack);
        let text = slack["text"].as_str().unwrap();
        assert!(text.starts_with("*[A &lt;b&gt; &amp; co] Dispute opened: 35.00 USD*"), "{text}");
        assert!(text.contains("<https://pay.example.com/disputes/dsp_1|View dsp_1>"), "{text}");
        assert!(slack["blocks"].as_array().is_some_and(|b| b.len() == 3), "{slack}");

        let rc = message(&a, Flavor::RocketChat);
        assert!(rc["text"].as_str().unwrap().contains("[View dsp_1](https://pay.example.com/disputes/dsp_1)"), "{rc}");
        assert_eq!(rc["attachments"][0]["title_link"], "https://pay.example.com/disputes/dsp_1");
        assert_eq!(rc["attachments"][0]["color"], "#d40e0d");
    }

    #[tokio::test]
    async fn private_and_loopback_targets_are_refused_unless_allowed() {
        for url in ["http://127.0.0.1:9000/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://169.254.169.254/latest", "http://192.168.0.10/x", "http://localhost:8080/x"] {
            assert!(check_target(url, false).await.is_err(), "{url} should be refused");
            assert!(check_target(url, true).await.is_ok(), "{url} is allowed when private targets are");
        }
        assert!(check_target("http://93.184.216.34/hook", false).await.is_ok());
        assert!(check_target("ftp://93.184.216.34/hook", true).await.is_err());
    }
}
