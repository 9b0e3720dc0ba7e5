//! The crm-activity and analytics plugins: a customer's timeline built from Stripe's fixture
//! story and hidden from other tenants; daily aggregates counted once per fact whatever the
//! duplicates, redeliveries, replays and concurrency; the API's validation and roles; the overview
//! page's server-drawn charts.

use std::time::Duration;

use app::{
    domain::{
        events::{payloads::*, ActorType, DomainEvent, EventEnvelope, EventMetadata, EventSource},
        DeliveryId, EventId, PrefixedId, TenantId,
    },
    ssr::{db::Db, ids::new_id, plugins::builtin::analytics},
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::{macros::datetime, OffsetDateTime};

use crate::{both_backends, helpers::*};

const SECRET: &str = "whsec_paybus_plugins_b";
const ACCOUNT: &str = "acct_1FixtureConnect";

// ---------------------------------------------------------------------------------------------
// Harness

async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(Spawn {
        backend,
        env: vec![("STRIPE_PLATFORM_WEBHOOK_SECRET", SECRET.into()), ("PAYBUS_BUS_POLL_MS", "100".into())],
    })
    .await
}

/// The fixture events whose file names contain one of `names`, in the story's order, as Connect
/// events of the test's account.
fn story(names: &[&str]) -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stripe/events");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| names.is_empty() || names.iter().any(|n| p.file_name().unwrap().to_string_lossy().contains(n)))
        .map(|p| {
            let mut event: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            event["account"] = Value::String(ACCOUNT.into());
            event
        })
        .collect()
}

async fn deliver(app: &TestApp, event: &Value) {
    let body = serde_json::to_vec(event).unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let res = app
        .client
        .post(app.url("/webhook"))
        .header("content-type", "application/json")
        .header("Stripe-Signature", app::ssr::stripe::signature::header_for(SECRET, now, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}: {}", event["type"], res.text().await.unwrap_or_default());
}

async fn merchant(app: &TestApp) -> TestUser {
    let owner = app.user(&unique_email("merchant")).await;
    app.execute(&format!("INSERT INTO stripe_accounts (account_id, tenant_id, created_at, updated_at) VALUES ('{ACCOUNT}', '{}', 0, 0)", owner.tenant))
        .await;
    owner
}

/// Waits until the bus has no unfinished delivery left.
async fn settle(app: &TestApp) {
    for _ in 0..200 {
        let open = app.query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM event_deliveries WHERE status IN ('pending', 'running')").await;
        if open[0] == "0" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the bus never settled");
}

/// Starts a replay, waits for its job to finish enqueueing and for the bus to deliver it all.
async fn replay(app: &TestApp, token: &str, filter: Value) {
    let (status, job) = app.post("/api/v1/replays", Some(token), filter).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let path = format!("/api/v1/replays/{}", job["id"].as_str().unwrap());
    for _ in 0..200 {
        let (_, job) = app.get(&path, Some(token)).await;
        if job["status"] == "completed" {
            settle(app).await;
            return;
        }
        assert_ne!(job["status"], "failed", "{job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the replay never completed");
}

async fn member(app: &TestApp, owner: &TestUser, role: &str) -> TestUser {
    let email = unique_email(role);
    let (status, body) = app.post("/api/v1/invitations", Some(&owner.token), json!({ "email": email, "role": role })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, mail) = app.get("/api/v1/dev/mailbox?limit=100", None).await;
    let text = mail["data"].as_array().unwrap().iter().find(|m| m["to"] == email.as_str()).unwrap()["body"].as_str().unwrap().to_owned();
    let token = text.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let user = app.user(&email).await;
    let (status, body) = app.post("/api/v1/invitations/accept", Some(&user.token), json!({ "token": token })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    user
}

async fn db(app: &TestApp) -> Db {
    Db::connect(&app.database_url, 10, Duration::from_secs(10)).await.unwrap()
}

fn envelope(tenant: &str, event: DomainEvent, at: OffsetDateTime) -> EventEnvelope {
    EventEnvelope {
        id: new_id::<EventId>(),
        event_type: event.event_type(),
        version: 1,
        occurred_at: at,
        tenant_id: Some(TenantId::parse(tenant).unwrap()),
        actor: None,
        actor_type: ActorType::System,
        payload: event.payload_json().unwrap(),
        metadata: EventMetadata { request_id: None, source: EventSource::System, ip: None, user_agent: None },
    }
}

fn payment(id: &str, amount: i64, currency: &str, status: &str) -> PaymentChanged {
    PaymentChanged {
        payment_id: id.into(),
        stripe_id: format!("pi_{id}"),
        amount,
        amount_captured: if status == "failed" { 0 } else { amount },
        amount_refunded: 0,
        currency: currency.into(),
        status: status.into(),
        customer_email: Some("someone@example.com".into()),
        connected_account: None,
        failure_message: None,
    }
}

fn refund(id: &str, amount: i64, currency: &str, status: &str) -> RefundChanged {
    RefundChanged {
        refund_id: id.into(),
        stripe_id: None,
        payment_id: "pay_x".into(),
        amount,
        currency: currency.into(),
        status: status.into(),
        reason: None,
        failure_reason: None,
    }
}

fn dispute(id: &str, amount: i64, currency: &str) -> DisputeChanged {
    DisputeChanged {
        dispute_id: id.into(),
        stripe_id: format!("dp_{id}"),
        payment_id: Some("pay_x".into()),
        amount,
        currency: currency.into(),
        reason: "fraudulent".into(),
        status: "needs_response".into(),
    }
}

/// Delivers `event` to the analytics plugin as one delivery (a fresh delivery id).
async fn count(db: &Db, event: &EventEnvelope) -> bool {
    analytics::apply(db, event.tenant_id.as_ref().unwrap(), &new_id::<DeliveryId>(), event, 0).await.unwrap()
}

/// `day currency payments volume failed refunds refunds_amount disputes disputes_amount`.
fn rows(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {} {} {} {} {} {}",
                d["day"].as_str().unwrap(),
                d["currency"].as_str().unwrap(),
                d["payments_count"],
                d["volume"],
                d["failed_count"],
                d["refunds_count"],
                d["refunds_amount"],
                d["disputes_count"],
                d["disputes_amount"]
            )
        })
        .collect()
}

fn day(t: OffsetDateTime) -> String {
    analytics::utc_day(t)
}

// ---------------------------------------------------------------------------------------------
// crm-activity

both_backends! {
    async fn the_fixture_story_becomes_the_customers_timeline_and_stays_in_its_tenant(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let owner = merchant(&app).await;
        for event in story(&["charge.succeeded", "payment_intent.succeeded", "refund.created", "charge.refunded", "charge.dispute.created"]) {
            deliver(&app, &event).await;
            // Each step its own millisecond at least, so the timeline's order is the story's.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        settle(&app).await;

        let (status, customers) = app.get("/api/v1/customer-activity", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{customers}");
        assert_eq!(customers["object"], "list");
        let data = customers["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{customers}");
        let c = &data[0];
        assert_eq!(c["email"], "customer@example.com");
        assert_eq!((c["payments_count"].as_i64(), c["refunds_count"].as_i64(), c["disputes_count"].as_i64()), (Some(1), Some(1), Some(1)), "{c}");
        assert_eq!(c["total_paid"], json!([{ "currency": "usd", "amount": 5000 }]));
        assert!(c["first_seen"].as_str().unwrap() <= c["last_seen"].as_str().unwrap());

        // Newest first: the dispute, the refund, then the payment; one entry per event.
        let (status, timeline) = app.get("/api/v1/customer-activity/customer%40example.com", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{timeline}");
        let entries = timeline["data"].as_array().unwrap();
        let types: Vec<&str> = entries.iter().map(|e| e["event_type"].as_str().unwrap()).collect();
        let summaries: Vec<&str> = entries.iter().map(|e| e["summary"].as_str().unwrap()).collect();
        let position = |t: &str| types.iter().position(|x| *x == t).unwrap_or_else(|| panic!("{t} missing from {types:?}"));
        assert!(position("dispute.created") < position("refund.succeeded"), "{types:?}");
        assert!(position("refund.succeeded") < position("payment.succeeded"), "{types:?}");
        assert!(summaries.contains(&"Paid 50.00 USD"), "{summaries:?}");
        assert!(summaries.contains(&"Refund of 15.00 USD"), "{summaries:?}");
        assert!(summaries.iter().any(|s| s.starts_with("Dispute opened: ") && s.ends_with(", 35.00 USD")), "{summaries:?}");
        let mut events: Vec<&str> = entries.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
        let n = events.len();
        events.dedup();
        assert_eq!(events.len(), n, "one entry per event");
        // Compared as instants: RFC 3339 strings with and without fractions do not sort as text.
        let times: Vec<time::OffsetDateTime> = entries
            .iter()
            .map(|e| time::OffsetDateTime::parse(e["occurred_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
        assert!(entries.iter().all(|e| e["object"] == "customer_activity" && e["email"] == "customer@example.com"));

        // Any case of the address finds the same customer; pages follow the cursor.
        let (_, upper) = app.get("/api/v1/customer-activity/Customer%40Example.COM?limit=2", Some(&owner.token)).await;
        assert_eq!(upper["data"].as_array().unwrap().len(), 2);
        assert_eq!(upper["has_more"], true);
        let last = upper["data"][1]["id"].as_str().unwrap();
        let (_, rest) = app.get(&format!("/api/v1/customer-activity/customer%40example.com?limit=100&starting_after={last}"), Some(&owner.token)).await;
        assert_eq!(rest["data"].as_array().unwrap().len(), n - 2);

        // Search, and the empty answers.
        let (_, found) = app.get("/api/v1/customer-activity?email=CUSTOMER@", Some(&owner.token)).await;
        assert_eq!(found["data"].as_array().unwrap().len(), 1);
        let (_, none) = app.get("/api/v1/customer-activity?email=nobody", Some(&owner.token)).await;
        assert_eq!(none["data"], json!([]));
        let (status, body) = app.get("/api/v1/customer-activity/nobody%40example.com", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");

        // Another tenant: no such customer, not even a hint.
        let stranger = app.user(&unique_email("stranger")).await;
        let (status, body) = app.get("/api/v1/customer-activity/customer%40example.com", Some(&stranger.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");
        let (_, theirs) = app.get("/api/v1/customer-activity", Some(&stranger.token)).await;
        assert_eq!(theirs["data"], json!([]));

        // The same events again (a replay to the plugin) add nothing.
        replay(&app, &owner.token, json!({ "types": ["*"], "listener": "crm-activity" })).await;
        let (_, again) = app.get("/api/v1/customer-activity/customer%40example.com?limit=100", Some(&owner.token)).await;
        assert_eq!(again["data"].as_array().unwrap().len(), n);
    }
}

both_backends! {
    async fn customers_are_listed_by_last_activity_with_cursors(app: TestApp) {
        let owner = app.user(&unique_email("crm")).await;
        let db = db(&app).await;
        let tenant = TenantId::parse(&owner.tenant).unwrap();
        let base = datetime!(2026-03-01 12:00 UTC);
        for (i, email) in ["Ann@Example.com", "bob@example.com", "cid@example.com"].iter().enumerate() {
            let mut p = payment(&format!("pay_{i}"), 1000 * (i as i64 + 1), "eur", "succeeded");
            p.customer_email = Some((*email).into());
            let e = envelope(&owner.tenant, DomainEvent::PaymentSucceeded(p), base + time::Duration::minutes(i as i64));
            assert!(app::ssr::plugins::builtin::crm::record(&db, &tenant, &e).await.unwrap());
            // The same event again: nothing new.
            assert!(!app::ssr::plugins::builtin::crm::record(&db, &tenant, &e).await.unwrap());
        }
        // A refund without an email of its own, of a payment the ledger does not know: skipped.
        let orphan = envelope(&owner.tenant, DomainEvent::RefundSucceeded(refund("ref_o", 100, "eur", "succeeded")), base);
        assert!(!app::ssr::plugins::builtin::crm::record(&db, &tenant, &orphan).await.unwrap());

        let (_, first) = app.get("/api/v1/customer-activity?limit=2", Some(&owner.token)).await;
        let emails = |l: &Value| l["data"].as_array().unwrap().iter().map(|c| c["email"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(emails(&first), ["cid@example.com", "bob@example.com"]);
        assert_eq!(first["has_more"], true);
        let (_, second) = app.get("/api/v1/customer-activity?limit=2&starting_after=bob%40example.com", Some(&owner.token)).await;
        assert_eq!(emails(&second), ["ann@example.com"]);
        assert_eq!(second["has_more"], false);
        assert_eq!(second["data"][0]["total_paid"], json!([{ "currency": "eur", "amount": 1000 }]));
        let (_, back) = app.get("/api/v1/customer-activity?limit=2&ending_before=ann%40example.com", Some(&owner.token)).await;
        assert_eq!(emails(&back), ["cid@example.com", "bob@example.com"]);
        let (status, body) = app.get("/api/v1/customer-activity?starting_after=zed%40example.com", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "resource_missing");
        let (status, body) = app.get("/api/v1/customer-activity?limit=0", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid_integer");
    }
}

both_backends! {
    async fn customers_need_customers_read_and_analytics_any_role(app: TestApp) {
        let owner = app.user(&unique_email("rbac")).await;
        let as_tenant = [("X-Tenant-Id", owner.tenant.as_str())];
        for (role, customers, analytics) in [("admin", true, true), ("developer", true, true), ("analyst", true, true), ("viewer", false, true)] {
            let user = member(&app, &owner, role).await;
            for (path, allowed) in [
                ("/api/v1/customer-activity", customers),
                ("/api/v1/customer-activity/customer%40example.com", customers),
                ("/api/v1/analytics/summary", analytics),
                ("/api/v1/analytics/daily", analytics),
            ] {
                let (status, body) = app.call_with(Method::GET, path, Some(&user.token), None, &as_tenant).await;
                if allowed {
                    assert!(status == StatusCode::OK || status == StatusCode::NOT_FOUND, "{role} {path}: {status} {body}");
                } else {
                    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "insufficient_role", "{role} {path}");
                }
            }
        }
        let (status, _) = app.get("/api/v1/analytics/summary", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

// ---------------------------------------------------------------------------------------------
// analytics

both_backends! {
    async fn daily_numbers_are_exact_through_duplicates_redeliveries_and_replays(app: TestApp) {
        let owner = app.user(&unique_email("analytics")).await;
        let db = db(&app).await;
        let t = owner.tenant.as_str();
        let d1 = datetime!(2026-03-01 10:00 UTC);
        let d2 = datetime!(2026-03-02 09:00 UTC);

        // Captured and succeeded of one payment: counted once.
        assert!(count(&db, &envelope(t, DomainEvent::PaymentCaptured(payment("pay_a", 2500, "eur", "succeeded")), d1)).await);
        let succeeded_a = envelope(t, DomainEvent::PaymentSucceeded(payment("pay_a", 2500, "eur", "succeeded")), d1);
        assert!(!count(&db, &succeeded_a).await);
        // A redelivery (the same delivery id) and a replay (the same event, a new delivery id).
        let delivery = new_id::<DeliveryId>();
        let tenant = TenantId::parse(t).unwrap();
        let late = envelope(t, DomainEvent::PaymentSucceeded(payment("pay_b", 1000, "eur", "succeeded")), datetime!(2026-03-01 23:59:59 UTC));
        assert!(analytics::apply(&db, &tenant, &delivery, &late, 0).await.unwrap());
        assert!(!analytics::apply(&db, &tenant, &delivery, &late, 0).await.unwrap());
        assert!(!count(&db, &late).await);
        // Days are UTC days, whatever the offset the time was written with.
        assert!(count(&db, &envelope(t, DomainEvent::PaymentSucceeded(payment("pay_e", 700, "EUR", "succeeded")), datetime!(2026-03-02 01:00 +02:00))).await);
        assert!(count(&db, &envelope(t, DomainEvent::PaymentSucceeded(payment("pay_c", 4000, "usd", "succeeded")), datetime!(2026-03-02 00:00:01 UTC))).await);
        // Two failure events of one payment: one failed payment.
        assert!(count(&db, &envelope(t, DomainEvent::PaymentFailed(payment("pay_d", 900, "eur", "failed")), d2)).await);
        assert!(!count(&db, &envelope(t, DomainEvent::PaymentFailed(payment("pay_d", 900, "eur", "failed")), d2)).await);
        // A refund counts when it succeeds, once; a dispute when it opens.
        assert!(!count(&db, &envelope(t, DomainEvent::RefundCreated(refund("ref_a", 500, "eur", "pending")), d2)).await);
        let refunded = envelope(t, DomainEvent::RefundSucceeded(refund("ref_a", 500, "eur", "succeeded")), d2);
        assert!(count(&db, &refunded).await);
        assert!(!count(&db, &refunded).await);
        assert!(count(&db, &envelope(t, DomainEvent::DisputeCreated(dispute("dsp_a", 2500, "eur")), d2)).await);
        assert!(!count(&db, &envelope(t, DomainEvent::DisputeClosed(dispute("dsp_a", 2500, "eur")), d2)).await);
        // Another tenant's events never show here.
        let other = app.user(&unique_email("analytics-other")).await;
        assert!(count(&db, &envelope(&other.tenant, DomainEvent::PaymentSucceeded(payment("pay_z", 99_999, "eur", "succeeded")), d1)).await);

        let (status, daily) = app.get("/api/v1/analytics/daily?from=2026-03-01&to=2026-03-02", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{daily}");
        assert_eq!(daily["object"], "list");
        assert_eq!(
            rows(&daily),
            [
                "2026-03-01 eur 3 4200 0 0 0 0 0",
                "2026-03-02 eur 0 0 1 1 500 1 2500",
                "2026-03-02 usd 1 4000 0 0 0 0 0",
            ]
        );
        assert!(daily["data"].as_array().unwrap().iter().all(|d| d["object"] == "analytics_day"));
        let (_, usd) = app.get("/api/v1/analytics/daily?from=2026-03-01&to=2026-03-31&currency=USD", Some(&owner.token)).await;
        assert_eq!(rows(&usd), ["2026-03-02 usd 1 4000 0 0 0 0 0"]);
        let (_, one_day) = app.get("/api/v1/analytics/daily?from=2026-03-01&to=2026-03-01", Some(&owner.token)).await;
        assert_eq!(rows(&one_day), ["2026-03-01 eur 3 4200 0 0 0 0 0"]);
        // The default window (the last 30 days) does not reach March.
        let (_, recent) = app.get("/api/v1/analytics/daily", Some(&owner.token)).await;
        assert_eq!(recent["data"], json!([]));
    }
}

both_backends! {
    async fn the_summary_adds_up_the_last_thirty_days_by_currency(app: TestApp) {
        let owner = app.user(&unique_email("summary")).await;
        let db = db(&app).await;
        let t = owner.tenant.as_str();
        let now = OffsetDateTime::now_utc();
        let (_, empty) = app.get("/api/v1/analytics/summary", Some(&owner.token)).await;
        assert_eq!((empty["currencies"].clone(), empty["payments_count"].clone(), empty["success_rate"].clone()), (json!([]), json!(0), Value::Null), "{empty}");

        for (id, amount, currency, at) in [("pay_1", 1000, "eur", now), ("pay_2", 3000, "eur", now - time::Duration::days(5)), ("pay_3", 500, "usd", now - time::Duration::days(29))] {
            count(&db, &envelope(t, DomainEvent::PaymentSucceeded(payment(id, amount, currency, "succeeded")), at)).await;
        }
        // Outside the window: 30 days ago is day 31.
        count(&db, &envelope(t, DomainEvent::PaymentSucceeded(payment("pay_old", 7000, "eur", "succeeded")), now - time::Duration::days(30))).await;
        count(&db, &envelope(t, DomainEvent::PaymentFailed(payment("pay_4", 800, "eur", "failed")), now)).await;
        count(&db, &envelope(t, DomainEvent::RefundSucceeded(refund("ref_1", 400, "eur", "succeeded")), now)).await;
        count(&db, &envelope(t, DomainEvent::DisputeCreated(dispute("dsp_1", 500, "usd")), now)).await;

        let (status, s) = app.get("/api/v1/analytics/summary", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!(s["object"], "analytics_summary");
        assert_eq!(s["to"].as_str().unwrap(), day(now));
        assert_eq!(s["from"].as_str().unwrap(), day(now - time::Duration::days(29)));
        assert_eq!(
            s["currencies"],
            json!([
                { "currency": "eur", "volume": 4000, "payments_count": 2, "failed_count": 1, "success_rate": 0.6667,
                  "refunds_count": 1, "refunds_amount": 400, "disputes_count": 0, "disputes_amount": 0 },
                { "currency": "usd", "volume": 500, "payments_count": 1, "failed_count": 0, "success_rate": 1.0,
                  "refunds_count": 0, "refunds_amount": 0, "disputes_count": 1, "disputes_amount": 500 },
            ])
        );
        assert_eq!((s["payments_count"].as_i64(), s["failed_count"].as_i64(), s["success_rate"].as_f64()), (Some(3), Some(1), Some(0.75)));
        assert_eq!((s["refunds_count"].as_i64(), s["disputes_count"].as_i64()), (Some(1), Some(1)));
    }
}

both_backends! {
    async fn concurrent_deliveries_lose_no_increment(app: TestApp) {
        let owner = app.user(&unique_email("concurrent")).await;
        let db = db(&app).await;
        let at = datetime!(2026-04-01 12:00 UTC);
        // 40 payments, each arriving as captured and succeeded at the same moment, some twice.
        let mut events = Vec::new();
        for i in 0..40 {
            let p = payment(&format!("pay_{i}"), 100 + i, "eur", "succeeded");
            events.push(envelope(&owner.tenant, DomainEvent::PaymentCaptured(p.clone()), at));
            events.push(envelope(&owner.tenant, DomainEvent::PaymentSucceeded(p), at));
        }
        let replayed: Vec<EventEnvelope> = events.iter().step_by(3).cloned().collect();
        events.extend(replayed);
        let tasks: Vec<_> = events
            .into_iter()
            .map(|e| {
                let db = db.clone();
                tokio::spawn(async move { count(&db, &e).await })
            })
            .collect();
        let mut counted = 0;
        for t in tasks {
            counted += usize::from(t.await.unwrap());
        }
        assert_eq!(counted, 40);
        let (_, daily) = app.get("/api/v1/analytics/daily?from=2026-04-01&to=2026-04-01", Some(&owner.token)).await;
        let volume: i64 = (0..40).map(|i| 100 + i).sum();
        assert_eq!(rows(&daily), [format!("2026-04-01 eur 40 {volume} 0 0 0 0 0")]);
    }
}

both_backends! {
    async fn bad_ranges_and_parameters_get_clear_errors(app: TestApp) {
        let owner = app.user(&unique_email("ranges")).await;
        let cases = [
            ("from=2026-13-01", "parameter_invalid_date", "from"),
            ("from=01-03-2026", "parameter_invalid_date", "from"),
            ("to=2026-02-30", "parameter_invalid_date", "to"),
            ("from=2026-03-02&to=2026-03-01", "parameter_invalid", "from"),
            ("from=2025-01-01&to=2026-03-01", "range_too_long", "to"),
            ("currency=euro", "currency_invalid", "currency"),
        ];
        for (query, code, param) in cases {
            let (status, body) = app.get(&format!("/api/v1/analytics/daily?{query}"), Some(&owner.token)).await;
            assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), code, "{query}: {body}");
            assert_eq!(body["error"]["param"], param, "{query}: {body}");
        }
        let (status, body) = app.get("/api/v1/analytics/daily?days=7", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        // 366 days, both ends included, is the longest range.
        let (status, body) = app.get("/api/v1/analytics/daily?from=2025-03-01&to=2026-03-01", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

both_backends! {
    async fn a_tenant_that_enables_late_backfills_by_replay_and_replays_count_nothing_twice(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let owner = merchant(&app).await;
        for plugin in ["analytics", "crm-activity"] {
            let (status, body) = app.call(Method::PUT, &format!("/api/v1/plugins/{plugin}"), Some(&owner.token), Some(json!({ "enabled": false }))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        for event in story(&[]) {
            deliver(&app, &event).await;
        }
        settle(&app).await;
        let (_, nothing) = app.get("/api/v1/analytics/daily", Some(&owner.token)).await;
        assert_eq!(nothing["data"], json!([]), "a plugin that is off counts nothing");

        for plugin in ["analytics", "crm-activity"] {
            app.call(Method::PUT, &format!("/api/v1/plugins/{plugin}"), Some(&owner.token), Some(json!({ "enabled": true }))).await;
            replay(&app, &owner.token, json!({ "types": ["*"], "listener": plugin })).await;
        }
        let today = day(OffsetDateTime::now_utc());
        // pi_3FixtureA1B2C3D4: $50 captured (charge.succeeded says captured and succeeded), $15
        // refunded, disputed twice ($35 each: one opened, one closed as lost without an opening
        // event); pi_3FixtureFailed failed; the manual-capture payment was cancelled.
        let expected = [format!("{today} usd 1 5000 1 1 1500 2 7000")];
        let (_, daily) = app.get("/api/v1/analytics/daily", Some(&owner.token)).await;
        assert_eq!(rows(&daily), expected);
        let (_, customers) = app.get("/api/v1/customer-activity", Some(&owner.token)).await;
        assert_eq!(customers["data"][0]["email"], "customer@example.com", "{customers}");
        let entries = app.query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM customer_activity").await;

        // Every delivery of both plugins again, with its own id (a lost lease), then a replay
        // of everything to every listener: the numbers do not move.
        app.execute("UPDATE event_deliveries SET status = 'pending', next_attempt_at = 0, lease_until = NULL WHERE listener IN ('analytics', 'crm-activity')").await;
        settle(&app).await;
        let ran = || app.query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM event_deliveries WHERE listener = 'analytics' AND status = 'succeeded'");
        let before: i64 = ran().await[0].parse().unwrap();
        replay(&app, &owner.token, json!({ "types": ["payment.*", "refund.*", "dispute.*"] })).await;
        let after: i64 = ran().await[0].parse().unwrap();
        assert!(after > before, "the replay ran: {before} then {after}");
        let (_, daily) = app.get("/api/v1/analytics/daily", Some(&owner.token)).await;
        assert_eq!(rows(&daily), expected);
        assert_eq!(app.query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM customer_activity").await, entries);
        let (_, s) = app.get("/api/v1/analytics/summary", Some(&owner.token)).await;
        assert_eq!((s["payments_count"].as_i64(), s["failed_count"].as_i64(), s["success_rate"].as_f64()), (Some(1), Some(1), Some(0.5)));
    }
}

// ---------------------------------------------------------------------------------------------
// The overview page

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(30)).build().unwrap()
}

/// Every opening tag `<{name} …>` in `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    html.match_indices(&open).map(|(i, _)| &html[i..i + html[i..].find('>').unwrap() + 1]).collect()
}

/// The text right after the element that carries `marker`.
fn text_after<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} missing"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    &rest[start..start + end]
}

async fn overview_html(app: &TestApp, browser: &reqwest::Client) -> String {
    let res = browser.get(app.url("/")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

both_backends! {
    async fn the_overview_draws_its_charts_on_the_server_or_says_there_is_no_data(app: TestApp) {
        let owner = app.user(&unique_email("overview")).await;
        let browser = browser();
        let login = <app::server_fns::account::Login as leptos::server_fn::ServerFn>::PATH;
        let res = browser
            .post(app.url(login))
            .header("origin", &app.base)
            .header("accept", "text/html")
            .form(&[("email", owner.email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success() || res.status().is_redirection(), "login: {}", res.status());

        let html = overview_html(&app, &browser).await;
        assert!(html.contains("analytics-empty"), "no empty state in: {html}");
        assert!(tags(&html, "svg").iter().all(|t| !t.contains("data-chart=")), "a chart without data");

        let db = db(&app).await;
        let now = OffsetDateTime::now_utc();
        count(&db, &envelope(&owner.tenant, DomainEvent::PaymentSucceeded(payment("pay_1", 2500, "eur", "succeeded")), now)).await;
        count(&db, &envelope(&owner.tenant, DomainEvent::PaymentFailed(payment("pay_2", 900, "eur", "failed")), now)).await;
        count(&db, &envelope(&owner.tenant, DomainEvent::RefundSucceeded(refund("ref_1", 500, "eur", "succeeded")), now)).await;

        let html = overview_html(&app, &browser).await;
        assert!(!html.contains("analytics-empty"), "empty state despite data");
        let charts = tags(&html, "svg");
        for chart in ["volume", "payments", "refunds-disputes"] {
            assert!(charts.iter().any(|t| t.contains(&format!("data-chart=\"{chart}\""))), "no {chart} chart in: {html}");
        }
        assert!(tags(&html, "rect").iter().any(|t| t.contains("class=\"bar series-0\"")), "no bars drawn");
        assert_eq!(text_after(&html, "data-currency=\"eur\""), "25.00 EUR", "the volume KPI in major units");
        assert_eq!(text_after(&html, "data-testid=\"kpi-payments\""), "1");
        assert_eq!(text_after(&html, "data-testid=\"kpi-refunds\""), "1");
        assert_eq!(text_after(&html, "data-testid=\"kpi-disputes\""), "0");

        // The customers pages: an empty state, then the customer and their timeline.
        let page = |path: &'static str| {
            let browser = browser.clone();
            let url = app.url(path);
            async move {
                let res = browser.get(url).header("accept", "text/html").send().await.unwrap();
                assert_eq!(res.status(), StatusCode::OK, "{path}");
                res.text().await.unwrap()
            }
        };
        assert!(page("/customers").await.contains("customers-empty"));
        assert!(page("/customers/jane@example.com").await.contains("customer-missing"));
        let tenant = TenantId::parse(&owner.tenant).unwrap();
        let mut paid = payment("pay_1", 2500, "eur", "succeeded");
        paid.customer_email = Some("Jane@Example.com".into());
        let event = envelope(&owner.tenant, DomainEvent::PaymentSucceeded(paid), now);
        assert!(app::ssr::plugins::builtin::crm::record(&db, &tenant, &event).await.unwrap());
        let list = page("/customers").await;
        assert!(tags(&list, "a").iter().any(|t| t.contains("href=\"/customers/jane@example.com\"")), "{list}");
        let timeline = page("/customers/jane%40example.com").await;
        assert!(timeline.contains("Paid 25.00 EUR"), "{timeline}");
        assert!(!timeline.contains("customer-missing"));
    }
}

both_backends! {
    async fn the_openapi_document_describes_customer_activity_and_analytics(app: TestApp) {
        let (status, doc) = app.get("/api/v1/openapi.json", None).await;
        assert_eq!(status, StatusCode::OK);
        for path in ["/api/v1/customer-activity", "/api/v1/customer-activity/{email}", "/api/v1/analytics/daily", "/api/v1/analytics/summary"] {
            assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in ["CustomerActivitySummaryOut", "CustomerActivityOut", "AnalyticsDayOut", "AnalyticsSummaryOut", "CurrencyTotalsOut", "AmountOut"] {
            assert!(schemas.contains_key(name), "schema {name} missing");
        }
        let params: Vec<&str> = doc["paths"]["/api/v1/analytics/daily"]["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(params, ["from", "to", "currency"]);
    }
}
