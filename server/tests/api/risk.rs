//! The `risk` plugin end to end: switched on and configured through `PUT /api/v1/plugins/risk`,
//! fed by signed Stripe webhooks (charges with Radar outcomes, cards, billing addresses), judged
//! through the review queue `GET /api/v1/risk/reviews` and its mark-safe / mark-fraudulent.

use std::{future::Future, time::Duration};

use app::ssr::stripe::signature::header_for;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const SECRET: &str = "whsec_risk_tests";

async fn spawn(backend: Backend) -> Option<TestApp> {
    let env = vec![
        ("STRIPE_PLATFORM_WEBHOOK_SECRET", SECRET.to_owned()),
        ("PAYBUS_BUS_BACKOFF_BASE_MS", "100".to_owned()),
        ("PAYBUS_BUS_BACKOFF_MAX_MS", "300".to_owned()),
        ("PAYBUS_BUS_POLL_MS", "100".to_owned()),
    ];
    TestApp::spawn_with(Spawn { backend, env }).await
}

macro_rules! risk_test {
    (async fn $name:ident($app:ident: TestApp) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(spawn(Backend::Sqlite).await.unwrap()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = spawn(Backend::Postgres).await {
                    run(app).await
                }
            }
        }
    };
}

/// Polls `check` until it holds (15 s at most).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Waits until the risk listener has nothing left to run.
async fn settled(app: &TestApp) {
    let sql = "SELECT CAST(COUNT(*) AS TEXT) FROM event_deliveries WHERE listener = 'risk' AND status IN ('pending', 'running')";
    eventually("the risk plugin settles", || async { app.query_strings(sql).await == vec!["0".to_owned()] }).await;
}

/// Posts a signed Stripe event; returns its body (to deliver it again).
async fn deliver(app: &TestApp, body: &[u8]) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let response = app
        .client
        .post(app.url("/webhook"))
        .header("content-type", "application/json")
        .header("Stripe-Signature", header_for(SECRET, now, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
}

fn event(event_type: &str, object: Value) -> Vec<u8> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let event = json!({
        "id": format!("evt_rk{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
        "object": "event", "type": event_type, "created": now, "api_version": "2025-03-31.basil", "livemode": false,
        "data": { "object": object },
    });
    serde_json::to_vec(&event).unwrap()
}

/// What a charge is made of, in the shapes of ../shared/fixtures/stripe (charge.succeeded).
struct Charge<'a> {
    tenant: &'a str,
    amount: i64,
    email: &'a str,
    fingerprint: &'a str,
    card_country: &'a str,
    billing_country: Option<&'a str>,
    risk_level: &'a str,
    risk_score: Option<i64>,
    failed: bool,
    /// Seconds before now the charge was made.
    ago: i64,
}

impl<'a> Charge<'a> {
    fn new(tenant: &'a str) -> Self {
        Charge {
            tenant,
            amount: 2500,
            email: "buyer@shop.example",
            fingerprint: "Fp0000000000",
            card_country: "US",
            billing_country: Some("US"),
            risk_level: "normal",
            risk_score: Some(5),
            failed: false,
            ago: 0,
        }
    }

    /// The charge object; its id and its PaymentIntent's.
    fn object(&self) -> (String, String, Value) {
        let tag = uuid::Uuid::new_v4().simple().to_string()[..14].to_owned();
        let (charge, intent) = (format!("ch_rk{tag}"), format!("pi_rk{tag}"));
        let created = time::OffsetDateTime::now_utc().unix_timestamp() - self.ago;
        let o = json!({
            "id": charge, "object": "charge", "amount": self.amount, "amount_captured": if self.failed { 0 } else { self.amount },
            "amount_refunded": 0, "captured": !self.failed, "created": created, "currency": "usd", "paid": !self.failed,
            "status": if self.failed { "failed" } else { "succeeded" },
            "failure_message": if self.failed { json!("Your card was declined.") } else { Value::Null },
            "payment_intent": intent, "metadata": { "paybus_tenant": self.tenant },
            "billing_details": { "address": { "city": null, "country": self.billing_country, "line1": null, "line2": null, "postal_code": null, "state": null },
                "email": self.email, "name": "Jenny Rosen", "phone": null },
            "outcome": { "network_status": "approved_by_network", "reason": null, "risk_level": self.risk_level, "risk_score": self.risk_score,
                "seller_message": "Payment complete.", "type": "authorized" },
            "payment_method_details": { "card": { "brand": "visa", "country": self.card_country, "exp_month": 8, "exp_year": 2030,
                "fingerprint": self.fingerprint, "funding": "credit", "last4": "4242" }, "type": "card" },
            "refunds": { "data": [], "has_more": false, "object": "list" },
        });
        (charge, intent, o)
    }

    /// Delivers `charge.succeeded` (or `charge.failed`) and returns our payment id.
    async fn deliver(&self, app: &TestApp) -> (String, Value) {
        let (charge, _, o) = self.object();
        deliver(app, &event(if self.failed { "charge.failed" } else { "charge.succeeded" }, o.clone())).await;
        let id = app.query_strings(&format!("SELECT id FROM payments WHERE stripe_charge = '{charge}'")).await.pop().expect("the payment is in the ledger");
        (id, o)
    }
}

async fn enable(app: &TestApp, owner: &TestUser, config: Value) {
    let (status, body) = app.call(Method::PUT, "/api/v1/plugins/risk", Some(&owner.token), Some(json!({ "enabled": true, "config": config }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], true, "{body}");
}

/// The rules of these scenarios: each one alone is enough to flag.
fn strict() -> Value {
    json!({ "flag_threshold": 50, "velocity_window_minutes": 60, "velocity_points": 60, "max_payments_per_card": 2,
        "max_failures_per_email": 1, "amount_threshold": 100000, "amount_threshold_currency": "usd", "amount_points": 60,
        "country_mismatch_points": 60, "max_refunds_disputes_per_customer": 1, "refunds_disputes_points": 60 })
}

async fn reviews(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/risk/reviews{query}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "list", "{body}");
    body["data"].as_array().unwrap().clone()
}

fn codes(review: &Value) -> Vec<String> {
    review["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect()
}

async fn events_of(app: &TestApp, token: &str, event_type: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/events?type={event_type}&limit=100"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().unwrap().clone()
}

async fn timeline(app: &TestApp, token: &str, payment: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/payments/{payment}/timeline"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().unwrap().clone()
}

risk_test! {
    async fn flagged_payments_appear_in_the_queue_and_on_the_timeline_once(app: TestApp) {
        let owner = app.user(&unique_email("risk-owner")).await;
        let t = owner.tenant.as_str();

        enable(&app, &owner, strict()).await;

        // A quiet payment: Radar says normal (5), the countries agree, a small amount.
        let (quiet, _) = Charge::new(t).deliver(&app).await;
        // Country mismatch: a Nigerian card, a US billing address.
        let (mismatch, _) = Charge { card_country: "NG", email: "far@shop.example", fingerprint: "FpFar", ..Charge::new(t) }.deliver(&app).await;
        // Over the amount threshold (1,000.00 USD) by one cent; exactly at it is fine.
        let (big, _) = Charge { amount: 100_001, email: "big@shop.example", fingerprint: "FpBig", ..Charge::new(t) }.deliver(&app).await;
        let (at_limit, _) = Charge { amount: 100_000, email: "edge@shop.example", fingerprint: "FpEdge", ..Charge::new(t) }.deliver(&app).await;
        // Radar's own verdict alone: highest, no score sent (90).
        let (radar, _) = Charge { risk_level: "highest", risk_score: None, email: "radar@shop.example", fingerprint: "FpRadar", ..Charge::new(t) }.deliver(&app).await;
        // Velocity: a third payment with one card within the hour (limit 2); the card's older
        // payment, two hours ago, is outside the window.
        let card = |ago: i64, email: &'static str| Charge { fingerprint: "FpVelocity", email, ago, ..Charge::new(t) };
        let (old, _) = card(7200, "v0@shop.example").deliver(&app).await;
        let (first, _) = card(120, "v1@shop.example").deliver(&app).await;
        let (second, _) = card(60, "v2@shop.example").deliver(&app).await;
        let (third, third_object) = card(0, "v3@shop.example").deliver(&app).await;
        // Failures: the second failed charge from one email (limit 1).
        let (failed_once, _) = Charge { failed: true, email: "declined@shop.example", fingerprint: "FpD1", ago: 30, ..Charge::new(t) }.deliver(&app).await;
        let (failed_twice, _) = Charge { failed: true, email: "declined@shop.example", fingerprint: "FpD2", ..Charge::new(t) }.deliver(&app).await;
        settled(&app).await;

        let queue = reviews(&app, &owner.token, "?status=open&limit=100").await;
        let flagged: Vec<&str> = queue.iter().map(|r| r["payment_id"].as_str().unwrap()).collect();
        for (payment, what) in [(&mismatch, "country mismatch"), (&big, "amount"), (&radar, "radar"), (&third, "velocity"), (&failed_twice, "failures")] {
            assert!(flagged.contains(&payment.as_str()), "{what} ({payment}) is flagged: {queue:?}");
        }
        for (payment, what) in [(&quiet, "quiet"), (&at_limit, "at the amount limit"), (&old, "old"),
            (&first, "first of the card"), (&second, "second of the card"), (&failed_once, "first failure")] {
            assert!(!flagged.contains(&payment.as_str()), "{what} ({payment}) is not flagged: {queue:?}");
        }
        assert_eq!(queue.len(), 5, "{queue:?}");

        let review = |id: &str| queue.iter().find(|r| r["payment_id"] == id).unwrap().clone();
        assert_eq!(codes(&review(&mismatch)), vec!["stripe_risk", "country_mismatch"]);
        assert_eq!(review(&mismatch)["score"], 65);
        assert_eq!(codes(&review(&big)), vec!["stripe_risk", "amount_over_threshold"]);
        assert_eq!(codes(&review(&radar)), vec!["stripe_risk"]);
        assert_eq!(review(&radar)["score"], 90);
        assert_eq!(codes(&review(&third)), vec!["stripe_risk", "velocity_payments_card"]);
        assert_eq!(codes(&review(&failed_twice)), vec!["stripe_risk", "velocity_failures_email"]);
        let m = review(&mismatch);
        assert_eq!((m["status"].as_str(), m["threshold"].as_i64(), m["amount"].as_i64(), m["currency"].as_str()), (Some("open"), Some(50), Some(2500), Some("usd")));
        assert_eq!(m["customer_email"], "far@shop.example");
        assert!(m["reasons"][1]["message"].as_str().unwrap().contains("card country NG differs from billing country US"), "{m}");

        // On the payment's timeline, with the reasons.
        let entries = timeline(&app, &owner.token, &mismatch).await;
        let risk: Vec<&Value> = entries.iter().filter(|e| e["source"] == "risk").collect();
        assert_eq!(risk.len(), 1, "{entries:?}");
        let title = risk[0]["title"].as_str().unwrap();
        assert!(title.starts_with("Flagged for risk review (score 65 > 50)"), "{title}");
        assert!(title.contains("card country NG differs from billing country US"), "{title}");
        assert!(timeline(&app, &owner.token, &quiet).await.iter().all(|e| e["source"] != "risk"));

        // `payment.flagged`, once per flagged payment, with the reasons.
        let flagged_events = events_of(&app, &owner.token, "payment.flagged").await;
        assert_eq!(flagged_events.len(), 5, "{flagged_events:?}");
        let about_mismatch = flagged_events.iter().find(|e| e["payload"]["payment_id"] == mismatch.as_str()).unwrap();
        assert_eq!(about_mismatch["payload"]["score"], 65);
        assert_eq!(about_mismatch["payload"]["reasons"][1]["code"], "country_mismatch");

        // Stripe sends the third velocity charge again (a new event about it) and the first one
        // twice; then every event goes through the plugin again: nothing is flagged twice.
        deliver(&app, &event("charge.updated", third_object)).await;
        let body = event("charge.succeeded", Charge { card_country: "NG", email: "again@shop.example", fingerprint: "FpAgain", ..Charge::new(t) }.object().2);
        deliver(&app, &body).await;
        deliver(&app, &body).await;
        settled(&app).await;
        let (status, job) = app.post("/api/v1/replays", Some(&owner.token), json!({ "types": ["*"], "listener": "risk" })).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let job_id = job["id"].as_str().unwrap().to_owned();
        eventually("the replay completes", || async { app.get(&format!("/api/v1/replays/{job_id}"), Some(&owner.token)).await.1["status"] == "completed" }).await;
        settled(&app).await;
        assert_eq!(reviews(&app, &owner.token, "?limit=100").await.len(), 6, "one more payment (the NG card), none twice");
        assert_eq!(events_of(&app, &owner.token, "payment.flagged").await.len(), 6);
        assert_eq!(timeline(&app, &owner.token, &third).await.iter().filter(|e| e["source"] == "risk").count(), 1);

        // The queue pages with cursors, newest first.
        let (status, page1) = app.get("/api/v1/risk/reviews?limit=4", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{page1}");
        assert_eq!((page1["data"].as_array().unwrap().len(), page1["has_more"].as_bool()), (4, Some(true)));
        let last = page1["data"][3]["id"].as_str().unwrap();
        let (_, page2) = app.get(&format!("/api/v1/risk/reviews?limit=4&starting_after={last}"), Some(&owner.token)).await;
        assert_eq!((page2["data"].as_array().unwrap().len(), page2["has_more"].as_bool()), (2, Some(false)));
        let mut all: Vec<String> = page1["data"].as_array().unwrap().iter().chain(page2["data"].as_array().unwrap()).map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 6);

        // A status the queue does not know is a client mistake.
        let (status, body) = app.get("/api/v1/risk/reviews?status=maybe", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid");
    }
}

risk_test! {
    async fn refunds_and_disputes_of_one_customer_flag_their_next_payment(app: TestApp) {
        let owner = app.user(&unique_email("risk-disputes")).await;
        let t = owner.tenant.as_str();
        enable(&app, &owner, strict()).await;
        let customer = |fingerprint: &'static str| Charge { email: "serial@shop.example", fingerprint, ..Charge::new(t) };
        let (_, first) = customer("FpS1").deliver(&app).await;
        let (_, second) = customer("FpS2").deliver(&app).await;
        // One dispute (limit 1: not yet), then a second one.
        for (n, charge) in [&first, &second].into_iter().enumerate() {
            let dispute = json!({ "id": format!("dp_rk{n}{}", &uuid::Uuid::new_v4().simple().to_string()[..10]), "object": "dispute",
                "amount": 2500, "currency": "usd", "reason": "fraudulent", "status": "needs_response", "charge": charge["id"],
                "payment_intent": charge["payment_intent"], "created": charge["created"], "metadata": { "paybus_tenant": t } });
            deliver(&app, &event("charge.dispute.created", dispute)).await;
            settled(&app).await;
            if n == 0 {
                assert!(reviews(&app, &owner.token, "").await.is_empty(), "one dispute is within the limit");
            }
        }
        let queue = reviews(&app, &owner.token, "").await;
        assert!(!queue.is_empty(), "the second dispute trips the rule");
        assert!(queue.iter().all(|r| codes(r).contains(&"refunds_disputes".to_owned())), "{queue:?}");
        let (next, _) = customer("FpS3").deliver(&app).await;
        settled(&app).await;
        let queue = reviews(&app, &owner.token, "").await;
        let r = queue.iter().find(|r| r["payment_id"] == next.as_str()).expect("the customer's next payment is flagged");
        assert!(r["reasons"].as_array().unwrap().iter().any(|x| x["message"] == "2 refunds and disputes by this customer (limit 1)"), "{r}");
    }
}

risk_test! {
    async fn mark_fraudulent_publishes_payment_reported_fraudulent_and_a_verdict_is_final(app: TestApp) {
        let owner = app.user(&unique_email("risk-review")).await;
        let t = owner.tenant.as_str();
        enable(&app, &owner, strict()).await;
        let (fraud, _) = Charge { card_country: "RU", email: "thief@shop.example", fingerprint: "FpT", ..Charge::new(t) }.deliver(&app).await;
        let (fine, _) = Charge { card_country: "CA", email: "traveller@shop.example", fingerprint: "FpC", ..Charge::new(t) }.deliver(&app).await;
        settled(&app).await;
        assert_eq!(reviews(&app, &owner.token, "?status=open").await.len(), 2);

        let (status, body) = app.post(&format!("/api/v1/risk/reviews/{fraud}/mark-fraudulent"), Some(&owner.token), json!({ "note": "Card reported stolen" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["status"].as_str(), body["note"].as_str()), (Some("fraudulent"), Some("Card reported stolen")));
        assert_eq!(body["reviewed_by"], owner.id.as_str());
        assert!(body["reviewed_at"].is_string(), "{body}");

        let reported = events_of(&app, &owner.token, "payment.reported_fraudulent").await;
        assert_eq!(reported.len(), 1, "{reported:?}");
        let payload = &reported[0]["payload"];
        assert_eq!((payload["payment_id"].as_str(), payload["review_status"].as_str()), (Some(fraud.as_str()), Some("fraudulent")));
        assert_eq!(payload["reasons"][1]["code"], "country_mismatch");
        assert_eq!(reported[0]["actor"], owner.id.as_str());

        // Mark safe, with no body at all.
        let (status, body) = app.call(Method::POST, &format!("/api/v1/risk/reviews/{fine}/mark-safe"), Some(&owner.token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "safe");
        assert_eq!(events_of(&app, &owner.token, "payment.marked_safe").await.len(), 1);
        assert_eq!(events_of(&app, &owner.token, "payment.reported_fraudulent").await.len(), 1, "safe is not fraud");

        // A verdict is final: neither verdict applies to a closed review again.
        for (payment, path) in [(&fraud, "mark-safe"), (&fraud, "mark-fraudulent"), (&fine, "mark-fraudulent")] {
            let (status, body) = app.post(&format!("/api/v1/risk/reviews/{payment}/{path}"), Some(&owner.token), json!({})).await;
            assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "review_closed", "{path} {payment}");
        }
        assert_eq!(events_of(&app, &owner.token, "payment.reported_fraudulent").await.len(), 1);

        // The queue: nothing open; closed ones under closed and their own status.
        assert!(reviews(&app, &owner.token, "?status=open").await.is_empty());
        assert_eq!(reviews(&app, &owner.token, "?status=closed").await.len(), 2);
        let only_fraud = reviews(&app, &owner.token, "?status=fraudulent").await;
        assert_eq!((only_fraud.len(), only_fraud[0]["id"].as_str()), (1, Some(fraud.as_str())));

        // The verdicts are on the timelines.
        let entries = timeline(&app, &owner.token, &fraud).await;
        let last = entries.last().unwrap();
        assert_eq!(last["source"], "risk");
        assert_eq!(last["title"], format!("Reported as fraudulent by {}: Card reported stolen", owner.id));
        assert!(timeline(&app, &owner.token, &fine).await.iter().any(|e| e["title"] == format!("Marked safe by {}", owner.id)));

        // Bad input: an unknown field, a note too long, a payment that is not flagged.
        let (status, body) = app.post(&format!("/api/v1/risk/reviews/{fraud}/mark-safe"), Some(&owner.token), json!({ "reason": "x" })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid");
        let (quiet, _) = Charge { email: "calm@shop.example", fingerprint: "FpQ", ..Charge::new(t) }.deliver(&app).await;
        settled(&app).await;
        let (status, body) = app.post(&format!("/api/v1/risk/reviews/{quiet}/mark-safe"), Some(&owner.token), json!({ "note": "n".repeat(501) })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid");
        let (status, body) = app.post(&format!("/api/v1/risk/reviews/{quiet}/mark-safe"), Some(&owner.token), json!({})).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");
    }
}

risk_test! {
    async fn another_tenants_reviews_are_not_found_from_mine(app: TestApp) {
        let alice = app.user(&unique_email("risk-alice")).await;
        let bob = app.user(&unique_email("risk-bob")).await;
        enable(&app, &bob, strict()).await;
        // Alice never switched the plugin on: her risky payment is not scored.
        Charge { card_country: "NG", email: "alices-buyer@shop.example", ..Charge::new(&alice.tenant) }.deliver(&app).await;
        let (bobs, _) = Charge { card_country: "NG", email: "bobs-buyer@shop.example", ..Charge::new(&bob.tenant) }.deliver(&app).await;
        settled(&app).await;
        assert_eq!(reviews(&app, &bob.token, "").await.len(), 1);

        let nowhere = "pay_doesnotexist0000";
        for id in [bobs.as_str(), nowhere] {
            let (status, body) = app.get(&format!("/api/v1/risk/reviews/{id}"), Some(&alice.token)).await;
            assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing", "{id}");
            assert!(!body.to_string().contains("bobs-buyer"), "{body}");
            for action in ["mark-safe", "mark-fraudulent"] {
                let (status, body) = app.post(&format!("/api/v1/risk/reviews/{id}/{action}"), Some(&alice.token), json!({})).await;
                assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing", "{action} {id}");
            }
        }
        let (status, body) = app.get(&format!("/api/v1/risk/reviews?starting_after={bobs}"), Some(&alice.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "resource_missing");
        assert!(reviews(&app, &alice.token, "").await.is_empty());

        // Bob's review is untouched, and nothing was published about it.
        let (status, body) = app.get(&format!("/api/v1/risk/reviews/{bobs}"), Some(&bob.token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "open");
        assert!(events_of(&app, &bob.token, "payment.reported_fraudulent").await.is_empty());
        assert!(events_of(&app, &bob.token, "payment.marked_safe").await.is_empty());
    }
}

risk_test! {
    async fn a_charge_that_arrives_after_its_payment_succeeded_is_still_scored(app: TestApp) {
        let owner = app.user(&unique_email("risk-late")).await;
        let t = owner.tenant.as_str();
        enable(&app, &owner, strict()).await;
        // Stripe's order is not guaranteed: the intent succeeds first (no charge, no Radar
        // outcome yet), then its charge says Radar's verdict is `highest`.
        let risky = Charge { risk_level: "highest", risk_score: Some(88), email: "late@shop.example", fingerprint: "FpLate", ..Charge::new(t) };
        let (charge, intent, charge_object) = risky.object();
        let created = charge_object["created"].clone();
        deliver(&app, &event("payment_intent.succeeded", json!({ "id": intent, "object": "payment_intent", "amount": 2500, "amount_received": 2500,
            "currency": "usd", "status": "succeeded", "created": created, "receipt_email": "late@shop.example", "metadata": { "paybus_tenant": t } }))).await;
        settled(&app).await;
        assert!(reviews(&app, &owner.token, "").await.is_empty(), "nothing known yet says the payment is risky");

        deliver(&app, &event("charge.succeeded", charge_object)).await;
        settled(&app).await;
        let payment = app.query_strings(&format!("SELECT id FROM payments WHERE stripe_charge = '{charge}'")).await.pop().unwrap();
        let queue = reviews(&app, &owner.token, "").await;
        assert_eq!(queue.len(), 1, "{queue:?}");
        assert_eq!((queue[0]["payment_id"].as_str(), queue[0]["score"].as_i64()), (Some(payment.as_str()), Some(88)));
        assert_eq!(queue[0]["reasons"][0]["message"], "Stripe Radar risk score 88 (highest)");
        // The charge changed no status, so no payment event: the plugin heard of it through
        // `webhook.processed`.
        let captured = events_of(&app, &owner.token, "payment.captured").await;
        assert_eq!(captured.len(), 1, "{captured:?}");
    }
}
