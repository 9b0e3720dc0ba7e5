//! `paybus stripe trigger <type>` and `paybus stripe replay-file <file>`: send correctly signed
//! Stripe events to a running paybus, like the Stripe CLI's `trigger`, so every flow can be
//! exercised without a Stripe account.
//!
//! Triggered events are built from Stripe's own example objects (the fixtures' `objects.json`,
//! compiled in), with fresh ids so each trigger is a new payment, the status the event type
//! implies, and `metadata.paybus_tenant` naming the tenant (how paybus maps platform objects).

use std::time::Duration;

use app::ssr::{config::Config, ids::random_base62, stripe::signature};
use clap::Subcommand;
use serde_json::{json, Value};

/// Stripe's own example objects (the fixtures), bundled for `trigger` and the Stripe mock.
pub static OBJECTS: &str = include_str!("../tests/fixtures/stripe/objects.json");

#[derive(Subcommand, Debug)]
pub enum StripeCommand {
    /// Send a realistic signed event of this type (e.g. payment_intent.succeeded,
    /// charge.dispute.created, refund.created) to a running paybus.
    Trigger {
        event_type: String,
        /// The tenant the object belongs to (`ten_…`).
        #[arg(long)]
        tenant: String,
        /// Reuse this PaymentIntent id, to move one payment through several events.
        #[arg(long)]
        payment_intent: Option<String>,
        /// Amount in minor units (default: Stripe's example amount).
        #[arg(long)]
        amount: Option<i64>,
        /// Base URL of the running paybus (default: PAYBUS_PUBLIC_URL).
        #[arg(long)]
        url: Option<String>,
    },
    /// Send a saved Stripe event (JSON file) exactly as it is, signed.
    ReplayFile {
        file: std::path::PathBuf,
        #[arg(long)]
        url: Option<String>,
    },
    /// Apply stored events again, after an upgrade (`unparsed`) or once their connected account
    /// belongs to a tenant (`unassigned`): one by id (`whe_…`), or all of them.
    Reprocess {
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StripeCliError {
    #[error("{0}")]
    Input(String),
    #[error("cannot reach paybus at {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("paybus answered {status}: {body}")]
    Refused { status: u16, body: String },
}

/// The object kind and the status an event type implies.
fn template(event_type: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match event_type {
        "payment_intent.created" => ("payment_intent", Some("requires_payment_method")),
        "payment_intent.processing" => ("payment_intent", Some("processing")),
        "payment_intent.requires_action" => ("payment_intent", Some("requires_action")),
        "payment_intent.amount_capturable_updated" => ("payment_intent", Some("requires_capture")),
        "payment_intent.succeeded" => ("payment_intent", Some("succeeded")),
        "payment_intent.payment_failed" => ("payment_intent", Some("requires_payment_method")),
        "payment_intent.canceled" => ("payment_intent", Some("canceled")),
        "charge.succeeded" | "charge.captured" | "charge.updated" | "charge.refunded" => ("charge", Some("succeeded")),
        "charge.failed" => ("charge", Some("failed")),
        "refund.created" | "refund.updated" | "charge.refund.updated" => ("refund", Some("succeeded")),
        "refund.failed" => ("refund", Some("failed")),
        "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.funds_withdrawn" => ("dispute", Some("needs_response")),
        "charge.dispute.funds_reinstated" | "charge.dispute.closed" => ("dispute", Some("won")),
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" | "checkout.session.async_payment_failed" => {
            ("checkout.session", Some("complete"))
        }
        "checkout.session.expired" => ("checkout.session", Some("expired")),
        "account.updated" | "account.application.deauthorized" => ("account", None),
        "payout.paid" => ("payout", Some("paid")),
        "payout.failed" => ("payout", Some("failed")),
        _ => return None,
    })
}

/// A realistic event of `event_type` for `tenant`.
pub fn build_event(event_type: &str, tenant: &str, payment_intent: Option<&str>, amount: Option<i64>, now: i64) -> Result<Value, StripeCliError> {
    let (kind, status) = template(event_type).ok_or_else(|| StripeCliError::Input(format!("`{event_type}` is not a type paybus handles")))?;
    let objects: Value = serde_json::from_str(OBJECTS).map_err(|e| StripeCliError::Input(format!("bundled objects: {e}")))?;
    let mut object = objects[kind].clone();
    let suffix = random_base62(14);
    let intent = payment_intent.map(str::to_owned).unwrap_or_else(|| format!("pi_{suffix}"));
    let charge = format!("ch_{suffix}");
    let prefix = match kind {
        "payment_intent" => "pi",
        "charge" => "ch",
        "refund" => "re",
        "dispute" => "dp",
        "checkout.session" => "cs_test",
        "account" => "acct",
        _ => "po",
    };
    object["id"] = json!(if kind == "payment_intent" { intent.clone() } else if kind == "charge" { charge.clone() } else { format!("{prefix}_{suffix}") });
    object["created"] = json!(now);
    if let Some(status) = status {
        object["status"] = json!(status);
    }
    if matches!(kind, "charge" | "refund" | "dispute" | "checkout.session") {
        object["payment_intent"] = json!(intent);
    }
    if matches!(kind, "refund" | "dispute") {
        object["charge"] = json!(charge);
    }
    if kind == "dispute" {
        // Stripe's example is long past due; a triggered dispute is a fresh one, due in a week.
        object["evidence_details"]["due_by"] = json!(now + 7 * 86_400);
    }
    if let Some(amount) = amount {
        for field in ["amount", "amount_captured", "amount_received", "amount_total"] {
            if object.get(field).is_some_and(|v| v.as_i64().unwrap_or(0) > 0) {
                object[field] = json!(amount);
            }
        }
    }
    match event_type {
        "payment_intent.succeeded" => object["amount_received"] = object["amount"].clone(),
        "charge.succeeded" | "charge.captured" => {
            object["captured"] = json!(true);
            object["amount_captured"] = object["amount"].clone();
        }
        "charge.refunded" => {
            object["captured"] = json!(true);
            object["amount_captured"] = object["amount"].clone();
            object["amount_refunded"] = object["amount"].clone();
            object["refunded"] = json!(true);
        }
        _ => {}
    }
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"]["paybus_tenant"] = json!(tenant);
    Ok(json!({
        "id": format!("evt_{}", random_base62(24)),
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": now,
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": event_type,
        "data": { "object": object },
    }))
}

/// Signs `body` with the first configured platform secret and posts it to `{base}/webhook`.
pub async fn send(config: &Config, base: &str, body: Vec<u8>) -> Result<Value, StripeCliError> {
    let secret = config
        .stripe
        .platform_webhook_secrets
        .first()
        .ok_or_else(|| StripeCliError::Input("set STRIPE_PLATFORM_WEBHOOK_SECRET to the secret the running paybus uses".into()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let url = format!("{}/webhook", base.trim_end_matches('/'));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().map_err(|e| StripeCliError::Input(e.to_string()))?;
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .header("Stripe-Signature", signature::header_for(secret.expose(), now, &body))
        .body(body)
        .send()
        .await
        .map_err(|source| StripeCliError::Http { url: url.clone(), source })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(StripeCliError::Refused { status: status.as_u16(), body: text });
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub async fn run(config: &Config, command: StripeCommand) -> Result<(), StripeCliError> {
    match command {
        StripeCommand::Trigger { event_type, tenant, payment_intent, amount, url } => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let event = build_event(&event_type, &tenant, payment_intent.as_deref(), amount, now)?;
            let base = url.unwrap_or_else(|| config.public_url.clone());
            let answer = send(config, &base, serde_json::to_vec(&event).expect("JSON values serialise")).await?;
            let intent = event["data"]["object"]["payment_intent"].as_str().or(event["data"]["object"]["id"].as_str()).unwrap_or_default();
            println!("sent {} ({event_type}) for {intent}: {answer}", event["id"].as_str().unwrap_or_default());
        }
        StripeCommand::ReplayFile { file, url } => {
            let body = std::fs::read(&file).map_err(|e| StripeCliError::Input(format!("cannot read {}: {e}", file.display())))?;
            serde_json::from_slice::<Value>(&body).map_err(|e| StripeCliError::Input(format!("{} is not JSON: {e}", file.display())))?;
            let base = url.unwrap_or_else(|| config.public_url.clone());
            let answer = send(config, &base, body).await?;
            println!("sent {}: {answer}", file.display());
        }
        StripeCommand::Reprocess { id, all } => {
            let state = crate::startup::build_state(config.clone()).await.map_err(|e| StripeCliError::Input(e.to_string()))?;
            let ids: Vec<String> = match (id, all) {
                (Some(id), _) => vec![id],
                (None, true) => sqlx::query_scalar("SELECT id FROM webhook_events WHERE status IN ('unparsed', 'unassigned') ORDER BY received_at")
                    .fetch_all(&state.db.pool)
                    .await
                    .map_err(|e| StripeCliError::Input(format!("database: {e}")))?,
                (None, false) => return Err(StripeCliError::Input("name a webhook event id (whe_…) or pass --all".into())),
            };
            let (mut applied, mut pending) = (0, 0);
            for id in &ids {
                match app::ssr::ledger::ingest::reprocess(&state.bus, id).await {
                    Ok(done) => {
                        println!("{id}: {}", done.status);
                        if done.status == "processed" { applied += 1 } else { pending += 1 }
                    }
                    Err(e) => println!("{id}: {e}"),
                }
            }
            println!("{applied} applied, {pending} still pending, of {} events", ids.len());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::ssr::ledger::stripe_event::{handling, payment_update, Handling, StripeEvent};

    #[test]
    fn every_triggerable_type_builds_an_event_the_ledger_can_read() {
        let types = [
            "payment_intent.created", "payment_intent.processing", "payment_intent.requires_action", "payment_intent.amount_capturable_updated",
            "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "charge.succeeded", "charge.captured",
            "charge.updated", "charge.refunded", "charge.failed", "refund.created", "refund.updated", "charge.refund.updated", "refund.failed",
            "charge.dispute.created", "charge.dispute.updated", "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
            "charge.dispute.closed", "checkout.session.completed", "checkout.session.expired", "checkout.session.async_payment_succeeded",
            "checkout.session.async_payment_failed", "account.updated", "account.application.deauthorized", "payout.paid", "payout.failed",
        ];
        for t in types {
            let event = build_event(t, "ten_demo", None, Some(1234), 1_800_000_000).unwrap();
            let parsed = StripeEvent::parse(event.to_string().as_bytes()).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(parsed.tenant_hint().as_deref(), Some("ten_demo"), "{t}");
            let h = handling(t);
            assert_ne!(h, Handling::Ignored, "{t}");
            payment_update(&parsed, h).unwrap_or_else(|e| panic!("{t}: {e}"));
        }
        assert!(build_event("customer.created", "ten_demo", None, None, 0).is_err());
    }
}
