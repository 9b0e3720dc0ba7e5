//! `POST /webhook` with Stripe's own payloads: signatures, dedupe, tenant mapping by connected
//! account, and a ledger that ends in the same state whatever the delivery order.

use app::ssr::stripe::signature::header_for;
use reqwest::StatusCode;
use serde_json::Value;

use crate::{both_backends, helpers::*};

const SECRET: &str = "whsec_paybus_test";
const ACCOUNT: &str = "acct_1FixtureConnect";

fn fixtures() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stripe/events");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()))
        .collect()
}

/// The fixture story as Connect events of the test's connected account.
fn story() -> Vec<Value> {
    fixtures()
        .into_iter()
        .map(|(_, mut event)| {
            event["account"] = Value::String(ACCOUNT.into());
            event
        })
        .collect()
}

async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(Spawn { backend, env: vec![("STRIPE_PLATFORM_WEBHOOK_SECRET", format!("{SECRET}, whsec_previous"))] }).await
}

async fn send(app: &TestApp, body: &[u8], header: Option<String>) -> (StatusCode, Value) {
    let mut request = app.client.post(app.url("/webhook")).header("content-type", "application/json").body(body.to_vec());
    if let Some(h) = header {
        request = request.header("Stripe-Signature", h);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn deliver(app: &TestApp, event: &Value) -> (StatusCode, Value) {
    let body = serde_json::to_vec(event).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    send(app, &body, Some(header_for(SECRET, now, &body))).await
}

async fn owner_with_account(app: &TestApp) -> TestUser {
    let owner = app.user(&unique_email("merchant")).await;
    app.execute(&format!(
        "INSERT INTO stripe_accounts (account_id, tenant_id, created_at, updated_at) VALUES ('{ACCOUNT}', '{}', 0, 0)",
        owner.tenant
    ))
    .await;
    owner
}

/// status, amount, captured, refunded, disputed_lost of the fixture's main payment, plus the
/// refund and dispute rows and the transaction kinds.
async fn ledger_state(app: &TestApp) -> Vec<String> {
    let mut state = app
        .query_strings(
            "SELECT status || ':' || CAST(amount AS TEXT) || ':' || CAST(amount_captured AS TEXT) || ':' || CAST(amount_refunded AS TEXT) || ':' || CAST(amount_disputed_lost AS TEXT)
             FROM payments ORDER BY stripe_payment_intent",
        )
        .await;
    state.extend(app.query_strings("SELECT stripe_refund_id || ':' || status || ':' || CAST(amount AS TEXT) FROM refunds ORDER BY stripe_refund_id").await);
    state.extend(app.query_strings("SELECT stripe_dispute_id || ':' || status FROM disputes ORDER BY stripe_dispute_id").await);
    state.extend(app.query_strings("SELECT kind || ':' || stripe_object_id || ':' || CAST(amount AS TEXT) FROM payment_transactions ORDER BY kind, stripe_object_id").await);
    state
}

both_backends! {
    async fn the_fixture_story_builds_the_ledger_and_survives_reordering_and_duplicates(app: TestApp) {
        let Some(in_order) = spawn(app.backend).await else { return };
        owner_with_account(&in_order).await;
        for event in story() {
            let (status, body) = deliver(&in_order, &event).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["status"], "processed", "{}: {body}", event["type"]);
        }
        let expected = ledger_state(&in_order).await;
        // pi_3FixtureA1B2C3D4: $50 captured, $15 refunded, one dispute won and one lost ($35).
        assert!(expected.contains(&"dispute_lost:5000:5000:1500:3500".to_owned()), "{expected:?}");
        assert!(expected.contains(&"canceled:5000:0:0:0".to_owned()), "{expected:?}");
        assert!(expected.contains(&"failed:5000:0:0:0".to_owned()), "{expected:?}");
        assert!(expected.contains(&"re_3FixturePartial:succeeded:1500".to_owned()));
        assert!(expected.contains(&"dp_3FixtureDispute:won".to_owned()));
        assert!(expected.contains(&"dp_3FixtureDisputeLost:lost".to_owned()));
        assert!(expected.contains(&"refund:re_3FixturePartial:1500".to_owned()));

        // Every event again: duplicates change nothing.
        for event in story() {
            let (status, body) = deliver(&in_order, &event).await;
            assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("duplicate")));
        }
        assert_eq!(ledger_state(&in_order).await, expected);

        // Reversed, with every other event delivered twice: the same ledger.
        let Some(shuffled) = spawn(app.backend).await else { return };
        owner_with_account(&shuffled).await;
        let mut events = story();
        events.reverse();
        for (i, event) in events.iter().enumerate() {
            deliver(&shuffled, event).await;
            if i % 2 == 0 {
                deliver(&shuffled, event).await;
            }
        }
        assert_eq!(ledger_state(&shuffled).await, expected);

        // All at once, each twice, as Stripe's parallel deliveries do: still the same ledger.
        let Some(concurrent) = spawn(app.backend).await else { return };
        owner_with_account(&concurrent).await;
        let events: Vec<Value> = story().into_iter().chain(story()).collect();
        let results = futures_util::future::join_all(events.iter().map(|e| deliver(&concurrent, e))).await;
        for (status, body) in &results {
            assert_eq!(*status, StatusCode::OK, "{body}");
        }
        assert_eq!(ledger_state(&concurrent).await, expected);
    }
}

both_backends! {
    async fn bad_signatures_are_rejected_audited_and_apply_nothing(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        owner_with_account(&app).await;
        let event = &story()[0];
        let body = serde_json::to_vec(event).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let cases: Vec<(Option<String>, &str)> = vec![
            (None, "signature_missing"),
            (Some("garbage".into()), "signature_header_invalid"),
            (Some(format!("t={now}")), "signature_no_v1"),
            (Some(header_for("whsec_wrong", now, &body)), "signature_mismatch"),
            (Some(header_for(SECRET, now - 301, &body)), "signature_timestamp_outside_tolerance"),
        ];
        for (header, code) in cases {
            let (status, err) = send(&app, &body, header).await;
            assert_eq!(error_code(status, &err, StatusCode::BAD_REQUEST), code);
        }
        let mut altered = body.clone();
        let last = altered.len() - 2;
        altered[last] = b' ';
        let (status, err) = send(&app, &altered, Some(header_for(SECRET, now, &body))).await;
        assert_eq!(error_code(status, &err, StatusCode::BAD_REQUEST), "signature_mismatch");

        assert_eq!(app.query_strings("SELECT id FROM payments").await.len(), 0);
        let audit = app.query_strings("SELECT status || ':' || COALESCE(error, '') FROM webhook_events").await;
        assert_eq!(audit.len(), 6);
        assert!(audit.iter().all(|a| a.starts_with("rejected:")), "{audit:?}");

        // The previous secret still works during a roll.
        let (status, _) = send(&app, &body, Some(header_for("whsec_previous", now, &body))).await;
        assert_eq!(status, StatusCode::OK);
    }
}

both_backends! {
    async fn an_event_for_an_unknown_account_is_stored_but_applied_to_no_tenant(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        owner_with_account(&app).await;
        let mut event = story()[1].clone();
        event["account"] = Value::String("acct_someone_else".into());
        let (status, body) = deliver(&app, &event).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("unassigned")));
        assert_eq!(app.query_strings("SELECT id FROM payments").await.len(), 0);
        let audit = app.query_strings("SELECT status FROM webhook_events WHERE stripe_event_id IS NOT NULL").await;
        assert_eq!(audit, ["unassigned"]);
    }
}

both_backends! {
    async fn the_read_api_and_csv_exports_show_the_ledger_to_its_tenant_only(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let owner = owner_with_account(&app).await;
        for event in story() {
            deliver(&app, &event).await;
        }
        let (status, list) = app.get("/api/v1/payments", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["data"].as_array().unwrap().len(), 3);
        let (_, lost) = app.get("/api/v1/payments?status=dispute_lost", Some(&owner.token)).await;
        assert_eq!(lost["data"].as_array().unwrap().len(), 1);
        let payment = lost["data"][0].clone();
        assert_eq!((payment["amount"].as_i64(), payment["amount_refunded"].as_i64(), payment["currency"].as_str()), (Some(5000), Some(1500), Some("usd")));
        let (_, big) = app.get("/api/v1/payments?amount_gte=6000", Some(&owner.token)).await;
        assert_eq!(big["data"].as_array().unwrap().len(), 0);
        for path in ["/api/v1/payments?status=paid", "/api/v1/refunds?status=paid", "/api/v1/disputes?status=paid", "/api/v1/webhook-events?status=paid"] {
            let (status, err) = app.get(path, Some(&owner.token)).await;
            assert_eq!(error_code(status, &err, StatusCode::BAD_REQUEST), "parameter_invalid", "{path}");
            assert_eq!(err["error"]["param"], "status");
        }

        let id = payment["id"].as_str().unwrap();
        let (_, timeline) = app.get(&format!("/api/v1/payments/{id}/timeline"), Some(&owner.token)).await;
        let titles: Vec<&str> = timeline["data"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap()).collect();
        for expected in ["Payment created", "Charge succeeded", "Refund created", "Dispute opened", "Dispute closed"] {
            assert!(titles.contains(&expected), "{expected} missing: {titles:?}");
        }
        let (_, refunds) = app.get("/api/v1/refunds", Some(&owner.token)).await;
        assert_eq!(refunds["data"][0]["payment_id"], id);
        let (_, disputes) = app.get("/api/v1/disputes", Some(&owner.token)).await;
        assert_eq!(disputes["data"].as_array().unwrap().len(), 2);
        let (_, audit) = app.get("/api/v1/webhook-events?status=processed", Some(&owner.token)).await;
        assert_eq!(audit["data"].as_array().unwrap().len(), story().len());

        // The domain events the ledger implied are on the bus.
        let (_, events) = app.get("/api/v1/events?pattern=payment.*,dispute.*,refund.*&limit=100", Some(&owner.token)).await;
        let types: Vec<&str> = events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        for expected in ["payment.captured", "payment.succeeded", "payment.canceled", "payment.failed", "refund.created", "dispute.created", "dispute.closed"] {
            assert!(types.contains(&expected), "{expected} missing: {types:?}");
        }

        for path in ["/api/v1/payments/export.csv", "/api/v1/refunds/export.csv", "/api/v1/disputes/export.csv"] {
            let response = app.client.get(app.url(path)).bearer_auth(&owner.token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
            let csv = response.text().await.unwrap();
            assert!(csv.lines().count() >= 2, "{path}: {csv}");
            for stripe_prefix in ["pi_", "ch_", "re_", "dp_", "acct_", "cus_"] {
                assert!(!csv.contains(stripe_prefix), "{path} leaks a Stripe id ({stripe_prefix}): {csv}");
            }
        }

        // Another tenant sees none of it.
        let stranger = app.user(&unique_email("stranger")).await;
        let (_, theirs) = app.get("/api/v1/payments", Some(&stranger.token)).await;
        assert_eq!(theirs["data"].as_array().unwrap().len(), 0);
        let dispute_id = disputes["data"][0]["id"].as_str().unwrap();
        for path in [format!("/api/v1/payments/{id}"), format!("/api/v1/payments/{id}/timeline"), format!("/api/v1/disputes/{dispute_id}")] {
            let (status, body) = app.get(&path, Some(&stranger.token)).await;
            assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing", "{path}");
        }
        let (_, their_audit) = app.get("/api/v1/webhook-events", Some(&stranger.token)).await;
        assert_eq!(their_audit["data"].as_array().unwrap().len(), 0);
    }
}

both_backends! {
    async fn paybus_stripe_trigger_moves_a_payment_through_its_life(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let owner = app.user(&unique_email("trigger")).await;
        let config = app::ssr::config::Config::from_sources(&app::ssr::config::Sources::from_pairs([("STRIPE_PLATFORM_WEBHOOK_SECRET", SECRET)])).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let intent = "pi_triggered_story";
        for event_type in ["payment_intent.created", "payment_intent.succeeded", "charge.succeeded", "refund.created", "charge.dispute.created"] {
            let event = paybus_server::cli_stripe::build_event(event_type, &owner.tenant, Some(intent), Some(2000), now).unwrap();
            let answer = paybus_server::cli_stripe::send(&config, &app.base, serde_json::to_vec(&event).unwrap()).await.unwrap();
            assert_eq!(answer["status"], "processed", "{event_type}: {answer}");
        }
        let (_, list) = app.get("/api/v1/payments", Some(&owner.token)).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
        let payment = &list["data"][0];
        assert_eq!((payment["status"].as_str(), payment["amount"].as_i64(), payment["amount_refunded"].as_i64()), (Some("disputed"), Some(2000), Some(2000)));
    }
}

both_backends! {
    async fn an_event_paybus_cannot_read_is_kept_and_applied_once_after_an_upgrade(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let owner = owner_with_account(&app).await;
        // Stripe's API drifted: the amount arrives as a string.
        let mut drifted = story().into_iter().find(|e| e["type"] == "payment_intent.succeeded").unwrap();
        drifted["data"]["object"]["amount"] = serde_json::json!("5000");
        let (status, body) = deliver(&app, &drifted).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("unparsed")), "Stripe still gets its 2xx: {body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let (_, payments) = app.get("/api/v1/payments", Some(&owner.token)).await;
        assert_eq!(payments["data"].as_array().unwrap().len(), 0, "nothing applied");
        let raised = app.query_strings("SELECT type FROM events WHERE type = 'webhook.unparsed'").await;
        assert_eq!(raised.len(), 1, "the bus raised the alarm");

        // Re-processing before the upgrade changes nothing and says so.
        let (status, still) = app.post(&format!("/api/v1/webhook-events/{id}/reprocess"), Some(&owner.token), serde_json::json!({})).await;
        assert_eq!((status, still["status"].as_str()), (StatusCode::OK, Some("unparsed")), "{still}");

        // What an upgrade amounts to: this paybus now reads the stored payload.
        app.execute(&format!("UPDATE webhook_events SET raw = REPLACE(raw, '\"amount\":\"5000\"', '\"amount\":5000') WHERE id = '{id}'")).await;
        let stranger = app.user(&unique_email("stranger")).await;
        let (status, _) = app.post(&format!("/api/v1/webhook-events/{id}/reprocess"), Some(&stranger.token), serde_json::json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's event");
        let (_, analyst) = app.post("/api/v1/api-keys", Some(&owner.token), serde_json::json!({ "name": "a", "role": "analyst" })).await;
        let (status, _) = app.post(&format!("/api/v1/webhook-events/{id}/reprocess"), analyst["secret"].as_str(), serde_json::json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let (status, done) = app.post(&format!("/api/v1/webhook-events/{id}/reprocess"), Some(&owner.token), serde_json::json!({})).await;
        assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("processed")), "{done}");
        let (_, payments) = app.get("/api/v1/payments", Some(&owner.token)).await;
        assert_eq!(payments["data"][0]["amount"], 5000);
        let (status, again) = app.post(&format!("/api/v1/webhook-events/{id}/reprocess"), Some(&owner.token), serde_json::json!({})).await;
        assert_eq!((status, again["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("webhook_event_already_processed")));
        let timeline = app.query_strings("SELECT stripe_event_id FROM event_logs").await;
        assert_eq!(timeline.len(), 1, "applied exactly once: {timeline:?}");

        // The bulk route takes every unparsed event of the tenant.
        let mut charge = story().into_iter().find(|e| e["type"] == "charge.succeeded").unwrap();
        charge["data"]["object"]["amount"] = serde_json::json!(true);
        let (_, body) = deliver(&app, &charge).await;
        assert_eq!(body["status"], "unparsed");
        app.execute("UPDATE webhook_events SET raw = REPLACE(raw, '\"amount\":true', '\"amount\":5000') WHERE status = 'unparsed'").await;
        let (status, bulk) = app.post("/api/v1/webhook-events/reprocess", Some(&owner.token), serde_json::json!({})).await;
        assert_eq!(status, StatusCode::OK, "{bulk}");
        assert_eq!((bulk["processed"].clone(), bulk["still_pending"].clone()), (serde_json::json!(1), serde_json::json!(0)));
    }
}
