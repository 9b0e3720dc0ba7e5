//! Idempotency-Key on the money-moving endpoints, over HTTP against the Stripe double: replays
//! (also of errors), 422 for a reused key, 409 while in flight, expiry, canonical bodies, tenants
//! apart, API keys and JWTs alike, and a dead holder's claim taken over.

use paybus_server::stripe_mock::{Failure, StripeMock};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const WEBHOOK_SECRET: &str = STRIPE_WEBHOOK_SECRET;

/// Sends raw bytes (so tests control formatting) and returns status, the replay header, body.
async fn send(app: &TestApp, path: &str, token: &str, key: Option<&str>, body: &str) -> (StatusCode, bool, Value) {
    let mut request = app.client.post(app.url(path)).bearer_auth(token).header("content-type", "application/json").body(body.to_owned());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    (status, replayed, response.json().await.unwrap_or(Value::Null))
}

/// A tenant with an onboarded account and a captured $50.00 payment; returns (user, payment).
async fn merchant_with_payment(app: &TestApp, double: &StripeMock) -> (TestUser, String) {
    let owner = app.user(&unique_email("idem")).await;
    let (status, account) =
        app.call_with(Method::POST, "/api/v1/connect/accounts", Some(&owner.token), Some(json!({})), &[("Idempotency-Key", "setup-account")]).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let account = account["account_id"].as_str().unwrap().to_owned();
    double.complete_onboarding(&account);
    app.get("/api/v1/connect/account", Some(&owner.token)).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    for (i, name) in ["evt_fixture_001__payment_intent.created.json", "evt_fixture_002__charge.succeeded.json", "evt_fixture_003__payment_intent.succeeded.json"].iter().enumerate() {
        let path = format!("{}/tests/fixtures/stripe/events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = String::from_utf8(std::fs::read(path).unwrap()).unwrap().replace("3FixtureA1B2C3D4", &suffix);
        let mut event: Value = serde_json::from_str(&text).unwrap();
        event["id"] = json!(format!("evt_{suffix}_{i}"));
        event["account"] = json!(account);
        let body = serde_json::to_vec(&event).unwrap();
        let header = app::ssr::stripe::signature::header_for(WEBHOOK_SECRET, time::OffsetDateTime::now_utc().unix_timestamp(), &body);
        let response = app.client.post(app.url("/webhook")).header("Stripe-Signature", header).body(body).send().await.unwrap();
        assert!(response.status().is_success());
    }
    let (_, list) = app.get("/api/v1/payments", Some(&owner.token)).await;
    let payment = list["data"][0]["id"].as_str().unwrap().to_owned();
    (owner, payment)
}

crate::with_stripe! {
    async fn a_repeat_gets_the_stored_response_and_stripe_is_asked_once(app: TestApp, double: StripeMock) {
        let (owner, payment) = merchant_with_payment(&app, &double).await;
        let body = format!(r#"{{"payment_id":"{payment}","amount":700,"reason":"duplicate"}}"#);
        let (status, replayed, first) = send(&app, "/api/v1/refunds", &owner.token, Some("refund-1"), &body).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false), "{first}");
        // Same request, other key order and whitespace: the same request.
        let reordered = format!("{{ \"reason\": \"duplicate\",\n  \"amount\": 700, \"payment_id\": \"{payment}\" }}");
        let (status, replayed, again) = send(&app, "/api/v1/refunds", &owner.token, Some("refund-1"), &reordered).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, true));
        assert_eq!(again, first);
        assert_eq!(double.requests_to("/v1/refunds").len(), 1, "Stripe was asked once");

        // The same key with another request is refused, whatever it would have done.
        let other = format!(r#"{{"payment_id":"{payment}","amount":800}}"#);
        let (status, _, error) = send(&app, "/api/v1/refunds", &owner.token, Some("refund-1"), &other).await;
        assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")), "{error}");
        let (status, _, error) = send(&app, &format!("/api/v1/payments/{payment}/cancel"), &owner.token, Some("refund-1"), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another path under the same key: {error}");

        // An API key caller has its own replay, keyed by tenant like the user's.
        let (_, created) = app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": "backend", "role": "admin" })).await;
        let secret = created["secret"].as_str().unwrap().to_owned();
        let (status, replayed, by_key) = send(&app, "/api/v1/refunds", &secret, Some("refund-1"), &body).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, true), "same tenant, same key, same request: {by_key}");
        let (status, replayed, _) = send(&app, "/api/v1/refunds", &secret, Some("refund-2"), &body).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false));
        assert_eq!(double.refunds().len(), 2);
    }
}

crate::with_stripe! {
    async fn errors_replay_too_but_timeouts_and_conflicts_can_be_retried(app: TestApp, double: StripeMock) {
        let (owner, payment) = merchant_with_payment(&app, &double).await;
        // A validation error is the request's result.
        let too_much = format!(r#"{{"payment_id":"{payment}","amount":999999}}"#);
        let (status, _, first) = send(&app, "/api/v1/refunds", &owner.token, Some("too-much"), &too_much).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, replayed, again) = send(&app, "/api/v1/refunds", &owner.token, Some("too-much"), &too_much).await;
        assert_eq!((status, replayed), (StatusCode::UNPROCESSABLE_ENTITY, true));
        assert_eq!(again, first);

        // Stripe's refusal is a result as well: replayed, Stripe not asked again.
        double.fail_next("/v1/refunds", Failure::CardDeclined);
        let body = format!(r#"{{"payment_id":"{payment}","amount":500}}"#);
        let (status, _, declined) = send(&app, "/api/v1/refunds", &owner.token, Some("declined"), &body).await;
        assert_eq!((status, declined["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some("card_declined")));
        let (status, replayed, _) = send(&app, "/api/v1/refunds", &owner.token, Some("declined"), &body).await;
        assert_eq!((status, replayed), (StatusCode::BAD_GATEWAY, true));
        assert_eq!(double.requests_to("/v1/refunds").len(), 1);

        // A timeout is not: the outcome is unknown, and the retry under the same key asks Stripe
        // for the same refund. While the first attempt still runs, a repeat is told to wait.
        double.fail_next("/v1/refunds", Failure::Timeout);
        let slow = {
            let (app_url, token, body) = (app.url("/api/v1/refunds"), owner.token.clone(), body.clone());
            let client = app.client.clone();
            tokio::spawn(async move {
                client.post(app_url).bearer_auth(token).header("Idempotency-Key", "slow").header("content-type", "application/json").body(body).send().await.unwrap().status()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let (status, _, busy) = send(&app, "/api/v1/refunds", &owner.token, Some("slow"), &body).await;
        assert_eq!((status, busy["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_in_flight")), "{busy}");
        assert_eq!(slow.await.unwrap(), StatusCode::BAD_GATEWAY);
        let (status, replayed, done) = send(&app, "/api/v1/refunds", &owner.token, Some("slow"), &body).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false), "{done}");
        let keys: Vec<_> = double.requests_to("/v1/refunds").into_iter().map(|r| r.idempotency_key).collect();
        assert_eq!(keys[keys.len() - 1], keys[keys.len() - 2], "the retry reused the Stripe key of the timed-out attempt");
    }
}

crate::with_stripe! {
    async fn keys_are_required_bounded_per_tenant_and_expire(app: TestApp, double: StripeMock) {
        let (owner, payment) = merchant_with_payment(&app, &double).await;
        let body = format!(r#"{{"payment_id":"{payment}","amount":100}}"#);
        let (status, _, missing) = send(&app, "/api/v1/refunds", &owner.token, None, &body).await;
        assert_eq!((status, missing["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("idempotency_key_missing")));
        // Who is asking comes first: without credentials it is a 401, key or no key.
        let anonymous = app.client.post(app.url("/api/v1/refunds")).header("content-type", "application/json").body(body.clone()).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let (status, _, blank) = send(&app, "/api/v1/refunds", &owner.token, Some(" "), &body).await;
        assert_eq!((status, blank["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("idempotency_key_invalid")));
        let long = "k".repeat(256);
        let (status, _, too_long) = send(&app, "/api/v1/refunds", &owner.token, Some(&long), &body).await;
        assert_eq!((status, too_long["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("idempotency_key_invalid")));
        let (status, _, _) = send(&app, "/api/v1/refunds", &owner.token, Some(&"k".repeat(255)), &body).await;
        assert_eq!(status, StatusCode::CREATED, "255 characters are fine");

        // Another tenant's identical key is its own.
        let (other, other_payment) = merchant_with_payment(&app, &double).await;
        let (status, replayed, _) = send(&app, "/api/v1/refunds", &other.token, Some(&"k".repeat(255)), &format!(r#"{{"payment_id":"{other_payment}","amount":100}}"#)).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false));

        // After the TTL the key is free: a different request under it is simply processed.
        let (status, _, _) = send(&app, "/api/v1/refunds", &owner.token, Some("old-key"), &body).await;
        assert_eq!(status, StatusCode::CREATED);
        // (What 25 hours would do: both the record and the refund request it made are past the TTL.)
        app.execute("UPDATE idempotency_keys SET created_at = created_at - 25 * 3600 * 1000 WHERE idempotency_key = 'old-key'").await;
        app.execute("UPDATE refund_requests SET created_at = created_at - 25 * 3600 * 1000 WHERE idempotency_key = 'old-key'").await;
        let fresh = format!(r#"{{"payment_id":"{payment}","amount":200}}"#);
        let (status, replayed, _) = send(&app, "/api/v1/refunds", &owner.token, Some("old-key"), &fresh).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false));

        // A claim left by a request that died is taken over once its lock has expired.
        let path = "/api/v1/refunds";
        let orphan = format!(r#"{{"payment_id":"{payment}","amount":300}}"#);
        let fingerprint = app::ssr::idempotency::fingerprint("POST", path, orphan.as_bytes());
        app.execute(&format!(
            "INSERT INTO idempotency_keys (tenant_id, idempotency_key, fingerprint, status, created_at, locked_until) VALUES ('{}', 'orphan', '{fingerprint}', 'in_flight', {now}, {past})",
            owner.tenant,
            now = app::ssr::time_util::now_ms(),
            past = app::ssr::time_util::now_ms() - 1,
        ))
        .await;
        let (status, replayed, taken) = send(&app, path, &owner.token, Some("orphan"), &orphan).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false), "{taken}");
    }
}
