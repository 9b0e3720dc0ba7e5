//! Message bodies, shaped as Standard Webhooks recommends: `{ "type", "timestamp", "data" }`.
//!
//! - `snapshot`: `data` is the whole event envelope (id, type, version, occurred_at, tenant,
//!   actor, payload, metadata);
//! - `thin`: `data` is the event id, the object id and the essential fields of the payload (for a
//!   payment: payment_id, amount, currency, status) — the receiver fetches the rest from the API.
//!
//! A snapshot larger than [`MAX_BODY_BYTES`] is sent thin, and the message says so.

use serde_json::{json, Map, Value};

use crate::domain::{events::EventEnvelope, webhooks::PayloadStyle};

pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub json: String,
    /// The style actually used (a big snapshot becomes thin).
    pub style: PayloadStyle,
    /// The object messages are ordered by (`pay_…`), when the payload names one.
    pub object_id: Option<String>,
    pub note: Option<String>,
}

/// The payload fields a thin body keeps, per event domain.
fn essential_fields(domain: &str) -> Option<&'static [&'static str]> {
    Some(match domain {
        "payment" => &["payment_id", "amount", "currency", "status"],
        "refund" => &["refund_id", "payment_id", "amount", "currency", "status"],
        "dispute" => &["dispute_id", "payment_id", "amount", "currency", "status"],
        "checkout" => &["session_id", "payment_id", "amount_total", "currency", "status"],
        "connect" => &["account_id", "charges_enabled", "payouts_enabled", "details_submitted"],
        "customer" | "subscription" | "invoice" | "payout" => &["stripe_id", "status", "amount", "currency"],
        _ => return None,
    })
}

/// The field naming the object an event is about, per domain; otherwise the payload's first
/// `…_id` field.
fn object_field(domain: &str) -> Option<&'static str> {
    Some(match domain {
        "payment" => "payment_id",
        "refund" => "refund_id",
        "dispute" => "dispute_id",
        "checkout" => "session_id",
        "connect" => "account_id",
        "customer" | "subscription" | "invoice" | "payout" => "stripe_id",
        "endpoint" => "endpoint_id",
        "api_key" => "api_key_id",
        "webhook" => "webhook_event_id",
        _ => return None,
    })
}

pub fn object_id(event: &EventEnvelope) -> Option<String> {
    let payload = event.payload.as_object()?;
    let value = match object_field(event.event_type.domain()) {
        Some(field) => payload.get(field),
        None => payload.iter().find(|(k, v)| k.ends_with("_id") && v.is_string()).map(|(_, v)| v),
    };
    value.and_then(Value::as_str).map(str::to_owned)
}

fn thin_data(event: &EventEnvelope, object_id: &Option<String>) -> Value {
    let mut data = Map::new();
    data.insert("event_id".into(), json!(event.id.to_string()));
    data.insert("object_id".into(), json!(object_id));
    if let Some(payload) = event.payload.as_object() {
        match essential_fields(event.event_type.domain()) {
            Some(fields) => {
                for field in fields {
                    if let Some(v) = payload.get(*field) {
                        data.insert((*field).to_owned(), v.clone());
                    }
                }
            }
            None => {
                for (k, v) in payload {
                    if k.ends_with("_id") || k == "status" {
                        data.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    Value::Object(data)
}

fn wrap(event: &EventEnvelope, data: Value) -> String {
    let timestamp = event.occurred_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    json!({ "type": event.event_type.name(), "timestamp": timestamp, "data": data }).to_string()
}

pub fn build(event: &EventEnvelope, style: PayloadStyle) -> Body {
    let object_id = object_id(event);
    if style == PayloadStyle::Snapshot {
        let data = serde_json::to_value(event).unwrap_or(Value::Null);
        let json = wrap(event, data);
        if json.len() <= MAX_BODY_BYTES {
            return Body { json, style, object_id, note: None };
        }
        let note = Some(format!("the snapshot is {} bytes, over the {MAX_BODY_BYTES}-byte limit; sent thin", json.len()));
        return Body { json: wrap(event, thin_data(event, &object_id)), style: PayloadStyle::Thin, object_id, note };
    }
    Body { json: wrap(event, thin_data(event, &object_id)), style, object_id, note: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        events::{ActorType, EventMetadata, EventType},
        EventId, PrefixedId, TenantId,
    };

    fn payment_event(extra: Option<String>) -> EventEnvelope {
        let mut payload = json!({
            "payment_id": "pay_1", "stripe_id": "pi_1", "amount": 1999, "amount_captured": 1999, "amount_refunded": 0,
            "currency": "eur", "status": "succeeded", "customer_email": "a@example.com"
        });
        if let Some(extra) = extra {
            payload["failure_message"] = json!(extra);
        }
        EventEnvelope {
            id: EventId::parse("evt_abc").unwrap(),
            event_type: EventType::PaymentCaptured,
            version: 1,
            occurred_at: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            tenant_id: Some(TenantId::parse("ten_t").unwrap()),
            actor: None,
            actor_type: ActorType::System,
            payload,
            metadata: EventMetadata::system(),
        }
    }

    #[test]
    fn a_snapshot_carries_the_whole_envelope() {
        let body = build(&payment_event(None), PayloadStyle::Snapshot);
        let v: Value = serde_json::from_str(&body.json).unwrap();
        assert_eq!(v["type"], "payment.captured");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(v["data"]["id"], "evt_abc");
        assert_eq!(v["data"]["tenant_id"], "ten_t");
        assert_eq!(v["data"]["payload"]["customer_email"], "a@example.com");
        assert_eq!(v["data"]["metadata"]["source"], "system");
        assert_eq!((body.style, body.object_id.as_deref(), body.note), (PayloadStyle::Snapshot, Some("pay_1"), None));
    }

    #[test]
    fn a_thin_body_keeps_ids_and_the_essential_fields_only() {
        let body = build(&payment_event(None), PayloadStyle::Thin);
        let v: Value = serde_json::from_str(&body.json).unwrap();
        assert_eq!(v["type"], "payment.captured");
        assert_eq!(
            v["data"],
            json!({ "event_id": "evt_abc", "object_id": "pay_1", "payment_id": "pay_1", "amount": 1999, "currency": "eur", "status": "succeeded" })
        );
        assert!(!body.json.contains("a@example.com"), "no personal data in a thin body");
    }

    #[test]
    fn a_snapshot_over_256_kb_is_sent_thin_and_says_so() {
        let body = build(&payment_event(Some("x".repeat(300 * 1024))), PayloadStyle::Snapshot);
        assert_eq!(body.style, PayloadStyle::Thin);
        assert!(body.json.len() < 1024, "{}", body.json.len());
        assert!(body.note.unwrap().contains("sent thin"));
    }

    #[test]
    fn the_object_id_comes_from_the_domains_own_id_field() {
        let mut event = payment_event(None);
        event.event_type = EventType::RefundCreated;
        event.payload = json!({ "refund_id": "ref_9", "payment_id": "pay_1", "amount": 5, "currency": "eur", "status": "pending" });
        assert_eq!(object_id(&event).as_deref(), Some("ref_9"));
        event.event_type = EventType::OrgMemberJoined;
        event.payload = json!({ "user_id": "usr_2", "email": "x@example.com", "role": "viewer" });
        assert_eq!(object_id(&event).as_deref(), Some("usr_2"));
        let thin: Value = serde_json::from_str(&build(&event, PayloadStyle::Thin).json).unwrap();
        assert_eq!(thin["data"], json!({ "event_id": "evt_abc", "object_id": "usr_2", "user_id": "usr_2" }));
    }
}
