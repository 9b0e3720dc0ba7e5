//! Reading a Stripe event: the envelope, and for the types we apply, the few fields the ledger
//! needs, parsed into our own small types. We read fields by name rather than through the SDK's
//! full models so an API-version change that adds or moves unrelated fields cannot break ingest;
//! when a field we *need* is missing or mistyped, the event is `unparsed`, kept, and can be
//! re-processed after an upgrade.

use serde::Deserialize;
use serde_json::Value;

use super::model::Fact;

/// The envelope every Stripe event has.
#[derive(Debug, Clone, Deserialize)]
pub struct StripeEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// Set on Connect events: the connected account the event happened on.
    #[serde(default)]
    pub account: Option<String>,
    pub created: i64,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub livemode: bool,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: Value,
}

impl StripeEvent {
    pub fn parse(raw: &[u8]) -> Result<Self, String> {
        let event: StripeEvent = serde_json::from_slice(raw).map_err(|e| format!("not a Stripe event: {e}"))?;
        if !event.id.starts_with("evt_") {
            return Err("the event id does not start with evt_".into());
        }
        Ok(event)
    }

    /// `metadata.paybus_tenant` on the object: how platform (non-Connect) objects created by
    /// paybus say which tenant they belong to.
    pub fn tenant_hint(&self) -> Option<String> {
        self.data.object.get("metadata")?.get("paybus_tenant")?.as_str().map(str::to_owned)
    }
}

/// What the ledger does with an event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    PaymentIntent,
    Charge,
    Refund,
    Dispute,
    CheckoutSession,
    Account,
    AccountDeauthorized,
    Payout,
    // Recurring billing (app/src/ssr/billing).
    Customer,
    Subscription,
    Invoice,
    PaymentMethod,
    SetupIntent,
    /// Stored and audited, not applied.
    Ignored,
}

impl Handling {
    /// Applied by the billing module rather than the payment ledger.
    pub fn is_billing(self) -> bool {
        matches!(self, Handling::Customer | Handling::Subscription | Handling::Invoice | Handling::PaymentMethod | Handling::SetupIntent)
    }
}

pub fn handling(event_type: &str) -> Handling {
    match event_type {
        "payment_intent.created" | "payment_intent.processing" | "payment_intent.succeeded" | "payment_intent.payment_failed"
        | "payment_intent.canceled" | "payment_intent.amount_capturable_updated" | "payment_intent.requires_action" => Handling::PaymentIntent,
        "charge.succeeded" | "charge.failed" | "charge.captured" | "charge.refunded" | "charge.updated" => Handling::Charge,
        "charge.refund.updated" | "refund.created" | "refund.updated" | "refund.failed" => Handling::Refund,
        "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.funds_withdrawn" | "charge.dispute.funds_reinstated"
        | "charge.dispute.closed" => Handling::Dispute,
        "checkout.session.completed" | "checkout.session.expired" | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed" => Handling::CheckoutSession,
        "account.updated" => Handling::Account,
        "account.application.deauthorized" => Handling::AccountDeauthorized,
        "payout.paid" | "payout.failed" => Handling::Payout,
        "customer.created" | "customer.updated" | "customer.deleted" => Handling::Customer,
        "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" | "customer.subscription.trial_will_end"
        | "customer.subscription.paused" | "customer.subscription.resumed" => Handling::Subscription,
        "invoice.created" | "invoice.finalized" | "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" | "invoice.voided"
        | "invoice.marked_uncollectible" => Handling::Invoice,
        "payment_method.attached" | "payment_method.detached" => Handling::PaymentMethod,
        "setup_intent.succeeded" => Handling::SetupIntent,
        _ => Handling::Ignored,
    }
}

fn str_field<'a>(o: &'a Value, name: &str) -> Result<&'a str, String> {
    o.get(name).and_then(Value::as_str).ok_or_else(|| format!("`{name}` is missing or not a string"))
}

fn opt_str(o: &Value, name: &str) -> Option<String> {
    o.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn int_field(o: &Value, name: &str) -> Result<i64, String> {
    o.get(name).and_then(Value::as_i64).ok_or_else(|| format!("`{name}` is missing or not an integer"))
}

/// An id field that Stripe may send as a string or, when expanded, as an object with `id`.
fn id_field(o: &Value, name: &str) -> Option<String> {
    match o.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// Which payment an object belongs to: its PaymentIntent when it has one, else its charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentKey {
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
}

/// A refund or dispute row to upsert beside the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Child {
    Refund { stripe_id: String, amount: i64, currency: String, status: String, reason: Option<String>, failure_reason: Option<String> },
    Dispute { stripe_id: String, amount: i64, currency: String, reason: String, status: String, evidence_due_by: Option<i64> },
}

/// What an event says about one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentUpdate {
    pub key: PaymentKey,
    pub facts: Vec<Fact>,
    pub child: Option<Child>,
}

/// Reads the payment facts out of an event of a payment-related type.
pub fn payment_update(event: &StripeEvent, handling: Handling) -> Result<Option<PaymentUpdate>, String> {
    let o = &event.data.object;
    let at = event.created;
    Ok(Some(match handling {
        Handling::PaymentIntent => {
            let id = str_field(o, "id")?.to_owned();
            let status = str_field(o, "status")?.to_owned();
            let mut facts = vec![
                Fact::Amount { amount: int_field(o, "amount")?, currency: str_field(o, "currency")?.to_owned(), created: int_field(o, "created")? },
                Fact::IntentStatus { status, at },
            ];
            let received = o.get("amount_received").and_then(Value::as_i64).unwrap_or(0);
            if received > 0 {
                facts.push(Fact::Captured { amount: received });
            }
            if event.event_type == "payment_intent.payment_failed" {
                let message = o.get("last_payment_error").and_then(|e| e.get("message")).and_then(Value::as_str).map(str::to_owned);
                facts.push(Fact::Failed { message });
            }
            if let Some(email) = opt_str(o, "receipt_email") {
                facts.push(Fact::CustomerEmail(email));
            }
            PaymentUpdate { key: PaymentKey { payment_intent: Some(id), charge: id_field(o, "latest_charge") }, facts, child: None }
        }
        Handling::Charge => {
            let id = str_field(o, "id")?.to_owned();
            let mut facts = vec![Fact::Amount { amount: int_field(o, "amount")?, currency: str_field(o, "currency")?.to_owned(), created: int_field(o, "created")? }];
            let captured = o.get("captured").and_then(Value::as_bool).unwrap_or(false);
            if captured {
                facts.push(Fact::Captured { amount: o.get("amount_captured").and_then(Value::as_i64).unwrap_or_else(|| o.get("amount").and_then(Value::as_i64).unwrap_or(0)) });
            }
            let refunded = o.get("amount_refunded").and_then(Value::as_i64).unwrap_or(0);
            if refunded > 0 {
                facts.push(Fact::ChargeRefunded { cumulative: refunded });
            }
            if str_field(o, "status")? == "failed" {
                facts.push(Fact::Failed { message: opt_str(o, "failure_message") });
            }
            let email = o.get("billing_details").and_then(|b| b.get("email")).and_then(Value::as_str).map(str::to_owned).or_else(|| opt_str(o, "receipt_email"));
            if let Some(email) = email {
                facts.push(Fact::CustomerEmail(email));
            }
            PaymentUpdate { key: PaymentKey { payment_intent: id_field(o, "payment_intent"), charge: Some(id) }, facts, child: None }
        }
        Handling::Refund => {
            let id = str_field(o, "id")?.to_owned();
            let amount = int_field(o, "amount")?;
            let currency = str_field(o, "currency")?.to_owned();
            let status = str_field(o, "status")?.to_owned();
            let reason = opt_str(o, "reason");
            let key = PaymentKey { payment_intent: id_field(o, "payment_intent"), charge: id_field(o, "charge") };
            if key.payment_intent.is_none() && key.charge.is_none() {
                return Err("the refund names neither a payment_intent nor a charge".into());
            }
            PaymentUpdate {
                key,
                facts: vec![Fact::Refund { id: id.clone(), amount, status: status.clone(), reason: reason.clone(), at }],
                child: Some(Child::Refund { stripe_id: id, amount, currency, status, reason, failure_reason: opt_str(o, "failure_reason") }),
            }
        }
        Handling::Dispute => {
            let id = str_field(o, "id")?.to_owned();
            let amount = int_field(o, "amount")?;
            let currency = str_field(o, "currency")?.to_owned();
            let status = str_field(o, "status")?.to_owned();
            let reason = str_field(o, "reason")?.to_owned();
            let due = o.get("evidence_details").and_then(|e| e.get("due_by")).and_then(Value::as_i64);
            let key = PaymentKey { payment_intent: id_field(o, "payment_intent"), charge: id_field(o, "charge") };
            if key.payment_intent.is_none() && key.charge.is_none() {
                return Err("the dispute names neither a payment_intent nor a charge".into());
            }
            PaymentUpdate {
                key,
                facts: vec![Fact::Dispute { id: id.clone(), amount, reason: reason.clone(), status: status.clone(), evidence_due_by: due, at }],
                child: Some(Child::Dispute { stripe_id: id, amount, currency, reason, status, evidence_due_by: due }),
            }
        }
        Handling::CheckoutSession => {
            let Some(intent) = id_field(o, "payment_intent") else { return Ok(None) };
            let mut facts = Vec::new();
            if let (Some(amount), Some(currency)) = (o.get("amount_total").and_then(Value::as_i64), opt_str(o, "currency")) {
                facts.push(Fact::Amount { amount, currency, created: int_field(o, "created").unwrap_or(at) });
            }
            if let Some(email) = o.get("customer_details").and_then(|c| c.get("email")).and_then(Value::as_str) {
                facts.push(Fact::CustomerEmail(email.to_owned()));
            }
            PaymentUpdate { key: PaymentKey { payment_intent: Some(intent), charge: None }, facts, child: None }
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures/stripe/events");
        let path = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.to_string_lossy().contains(name)).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn every_fixture_event_parses_and_its_payment_facts_read() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures/stripe/events");
        for entry in std::fs::read_dir(dir).unwrap() {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            let event = StripeEvent::parse(&raw).unwrap();
            let h = handling(&event.event_type);
            assert_ne!(h, Handling::Ignored, "{} is a type we apply", event.event_type);
            payment_update(&event, h).unwrap_or_else(|e| panic!("{}: {e}", event.id));
        }
    }

    #[test]
    fn a_dispute_reads_its_amount_reason_and_due_date() {
        let event = StripeEvent::parse(&fixture("009")).unwrap();
        let update = payment_update(&event, handling(&event.event_type)).unwrap().unwrap();
        assert_eq!(update.key.payment_intent.as_deref(), Some("pi_3FixtureA1B2C3D4"));
        assert_eq!(
            update.child,
            Some(Child::Dispute {
                stripe_id: "dp_3FixtureDispute".into(),
                amount: 3500,
                currency: "usd".into(),
                reason: "fraudulent".into(),
                status: "needs_response".into(),
                evidence_due_by: Some(1_723_679_999)
            })
        );
    }

    #[test]
    fn a_payload_missing_a_needed_field_is_unparsed_not_dropped() {
        let mut event: Value = serde_json::from_slice(&fixture("009")).unwrap();
        event["data"]["object"].as_object_mut().unwrap().remove("amount");
        let event = StripeEvent::parse(event.to_string().as_bytes()).unwrap();
        assert!(payment_update(&event, Handling::Dispute).unwrap_err().contains("amount"));
    }

    #[test]
    fn connect_events_carry_their_account() {
        let event = StripeEvent::parse(&fixture("012")).unwrap();
        assert_eq!(event.account.as_deref(), Some("acct_1FixtureConnect"));
        assert_eq!(handling(&event.event_type), Handling::Account);
    }
}
