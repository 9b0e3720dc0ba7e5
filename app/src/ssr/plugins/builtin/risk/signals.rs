//! What a Stripe charge says that matters for fraud, read from the charge object (or from the
//! charges a PaymentIntent carries: `latest_charge` when expanded, `charges.data` in older API
//! versions) and kept in `risk_charges` by the ledger, in its ingest transaction.
//!
//! Stripe does not put the buyer's IP address on a charge; merchants pass it in metadata, so it
//! is read from `metadata.ip_address`, `metadata.client_ip` or `metadata.ip`.
//!
//! Never fails an ingest: a charge without the fields it needs (id, amount, currency, created)
//! is skipped, a missing signal is just unknown.

use serde_json::Value;

use crate::{
    domain::{PrefixedId, TenantId},
    error::AppResult,
    ssr::{db::Tx, ledger::stripe_event::StripeEvent},
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChargeSignals {
    pub charge: String,
    /// succeeded, failed or pending.
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub email: Option<String>,
    pub card_fingerprint: Option<String>,
    pub card_country: Option<String>,
    pub billing_country: Option<String>,
    pub ip_address: Option<String>,
    pub risk_level: Option<String>,
    pub risk_score: Option<i64>,
    /// Stripe's `created`, seconds.
    pub created: i64,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The signals of one charge object, or `None` when it lacks what identifies it.
pub fn from_charge(o: &Value) -> Option<ChargeSignals> {
    let charge = text(o.get("id"))?;
    let amount = o.get("amount").and_then(Value::as_i64)?;
    let currency = text(o.get("currency"))?.to_ascii_lowercase();
    let created = o.get("created").and_then(Value::as_i64)?;
    let status = match o.get("status").and_then(Value::as_str) {
        Some(s @ ("succeeded" | "failed")) => s.to_owned(),
        _ => "pending".to_owned(),
    };
    let billing = o.get("billing_details");
    let card = o.get("payment_method_details").and_then(|d| d.get("card"));
    let outcome = o.get("outcome");
    let metadata = o.get("metadata");
    Some(ChargeSignals {
        charge,
        status,
        amount,
        currency,
        email: text(billing.and_then(|b| b.get("email"))).or_else(|| text(o.get("receipt_email"))).map(|e| e.to_lowercase()),
        card_fingerprint: text(card.and_then(|c| c.get("fingerprint"))),
        card_country: text(card.and_then(|c| c.get("country"))).map(|c| c.to_ascii_uppercase()),
        billing_country: text(billing.and_then(|b| b.get("address")).and_then(|a| a.get("country"))).map(|c| c.to_ascii_uppercase()),
        ip_address: ["ip_address", "client_ip", "ip"].iter().find_map(|k| text(metadata.and_then(|m| m.get(*k)))),
        risk_level: text(outcome.and_then(|x| x.get("risk_level"))),
        risk_score: outcome.and_then(|x| x.get("risk_score")).and_then(Value::as_i64),
        created,
    })
}

/// Every charge an event's object carries.
pub fn charges_in(event: &StripeEvent) -> Vec<ChargeSignals> {
    let o = &event.data.object;
    match o.get("object").and_then(Value::as_str) {
        Some("charge") => from_charge(o).into_iter().collect(),
        Some("payment_intent") => {
            let mut found: Vec<ChargeSignals> = Vec::new();
            let latest = o.get("latest_charge").filter(|c| c.is_object()).into_iter();
            let listed = o.get("charges").and_then(|c| c.get("data")).and_then(Value::as_array).into_iter().flatten();
            for c in latest.chain(listed).filter_map(from_charge) {
                if !found.iter().any(|f| f.charge == c.charge) {
                    found.push(c);
                }
            }
            found
        }
        _ => Vec::new(),
    }
}

/// Keeps the charges of `event` (a payment's) for the risk rules. A final status is never
/// replaced by a late `pending`; a signal once known is kept.
pub async fn record(tx: &mut Tx, tenant: &TenantId, payment_id: &str, event: &StripeEvent, now: i64) -> AppResult<()> {
    for c in charges_in(event) {
        sqlx::query(
            "INSERT INTO risk_charges (stripe_charge, tenant_id, payment_id, stripe_event_id, status, amount, currency, email, card_fingerprint,
                 card_country, billing_country, ip_address, risk_level, risk_score, charged_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, (SELECT LOWER(customer_email) FROM payments WHERE id = $3)), $9, $10, $11, $12, $13, $14, $15, $16, $16)
             ON CONFLICT (stripe_charge) DO UPDATE SET
                 stripe_event_id = excluded.stripe_event_id,
                 status = CASE WHEN risk_charges.status IN ('succeeded', 'failed') THEN risk_charges.status ELSE excluded.status END,
                 email = COALESCE(risk_charges.email, excluded.email),
                 card_fingerprint = COALESCE(risk_charges.card_fingerprint, excluded.card_fingerprint),
                 card_country = COALESCE(risk_charges.card_country, excluded.card_country),
                 billing_country = COALESCE(risk_charges.billing_country, excluded.billing_country),
                 ip_address = COALESCE(risk_charges.ip_address, excluded.ip_address),
                 risk_level = COALESCE(risk_charges.risk_level, excluded.risk_level),
                 risk_score = COALESCE(risk_charges.risk_score, excluded.risk_score),
                 updated_at = excluded.updated_at
             WHERE risk_charges.tenant_id = excluded.tenant_id",
        )
        .bind(&c.charge)
        .bind(tenant.as_str())
        .bind(payment_id)
        .bind(&event.id)
        .bind(&c.status)
        .bind(c.amount)
        .bind(&c.currency)
        .bind(&c.email)
        .bind(&c.card_fingerprint)
        .bind(&c.card_country)
        .bind(&c.billing_country)
        .bind(&c.ip_address)
        .bind(&c.risk_level)
        .bind(c.risk_score)
        .bind(c.created)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(path: &str) -> StripeEvent {
        let full = format!("{}/../server/tests/fixtures/stripe/{path}", env!("CARGO_MANIFEST_DIR"));
        StripeEvent::parse(&std::fs::read(full).unwrap()).unwrap()
    }

    #[test]
    fn a_charge_event_gives_its_card_countries_and_email() {
        let got = charges_in(&event("events/evt_fixture_002__charge.succeeded.json"));
        assert_eq!(
            got,
            vec![ChargeSignals {
                charge: "ch_3FixtureA1B2C3D4".into(),
                status: "succeeded".into(),
                amount: 5000,
                currency: "usd".into(),
                email: Some("customer@example.com".into()),
                card_fingerprint: Some("AOB934RVNwzk6xtn".into()),
                card_country: Some("US".into()),
                billing_country: None,
                ip_address: None,
                risk_level: None,
                risk_score: None,
                created: 1_700_000_010,
            }]
        );
    }

    #[test]
    fn a_payment_intent_of_an_older_api_version_gives_the_radar_outcome_of_its_charges() {
        let got = charges_in(&event("external/payment_intent.succeeded.json"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].risk_level.as_deref(), got[0].risk_score), (Some("normal"), Some(47)));
        assert_eq!(got[0].status, "succeeded");
    }

    #[test]
    fn the_ip_comes_from_metadata_and_objects_that_are_no_charge_give_nothing() {
        let charge = serde_json::json!({ "id": "ch_1", "object": "charge", "amount": 100, "currency": "EUR", "created": 5,
            "status": "failed", "metadata": { "client_ip": "203.0.113.9" } });
        let c = from_charge(&charge).unwrap();
        assert_eq!((c.ip_address.as_deref(), c.currency.as_str(), c.status.as_str()), (Some("203.0.113.9"), "eur", "failed"));
        assert!(from_charge(&serde_json::json!({ "id": "ch_2", "amount": 1 })).is_none(), "no currency, no created");
        assert!(charges_in(&event("events/evt_fixture_009__charge.dispute.created.json")).is_empty());
    }
}
