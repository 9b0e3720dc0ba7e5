//! Stripe out against the Stripe double over real HTTP: Connect onboarding, checkout and its
//! guards, capture / cancel, refunds that never exceed what is refundable (also when our own write
//! fails after Stripe made the refund), product purchase limits under concurrency, the role
//! matrix of every money-moving action, and the reconciliation sweeper.

use app::ssr::stripe::signature::header_for;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use paybus_server::stripe_mock::{Failure, StripeMock as StripeDouble};

use crate::helpers::*;

const WEBHOOK_SECRET: &str = STRIPE_WEBHOOK_SECRET;

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn post_with_key(app: &TestApp, path: &str, token: &str, idempotency_key: &str, body: Value) -> (StatusCode, Value) {
    app.call_with(Method::POST, path, Some(token), Some(body), &[("Idempotency-Key", idempotency_key)]).await
}

/// A merchant whose Connect account finished onboarding at the double.
async fn onboarded_merchant(app: &TestApp, double: &StripeDouble) -> (TestUser, String) {
    let owner = app.user(&unique_email("merchant")).await;
    let (status, account) = post_with_key(app, "/api/v1/connect/accounts", &owner.token, &key(), json!({ "email": owner.email })).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let account_id = account["account_id"].as_str().unwrap().to_owned();
    double.complete_onboarding(&account_id);
    let (status, refreshed) = app.get("/api/v1/connect/account", Some(&owner.token)).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["charges_enabled"], true, "{refreshed}");
    (owner, account_id)
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/stripe/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Delivers a fixture event as one of `account`'s Connect events, signed like Stripe.
async fn deliver(app: &TestApp, mut event: Value, account: &str) {
    event["account"] = json!(account);
    let body = serde_json::to_vec(&event).unwrap();
    let header = header_for(WEBHOOK_SECRET, time::OffsetDateTime::now_utc().unix_timestamp(), &body);
    let response = app.client.post(app.url("/webhook")).header("Stripe-Signature", header).body(body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
}

async fn payment_id(app: &TestApp, token: &str, intent: &str) -> String {
    let (status, list) = app.get("/api/v1/payments?limit=100", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().iter().find(|p| p["stripe_payment_intent"] == intent).unwrap_or_else(|| panic!("no payment for {intent}: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A succeeded $50.00 payment (the fixture story's first three events).
async fn captured_payment(app: &TestApp, token: &str, account: &str) -> String {
    for name in ["evt_fixture_001__payment_intent.created.json", "evt_fixture_002__charge.succeeded.json", "evt_fixture_003__payment_intent.succeeded.json"] {
        deliver(app, fixture(name), account).await;
    }
    payment_id(app, token, "pi_3FixtureA1B2C3D4").await
}

/// The same $50.00 story under other ids, for a second payment.
async fn captured_payment_as(app: &TestApp, token: &str, account: &str, suffix: &str) -> String {
    for (i, name) in ["evt_fixture_001__payment_intent.created.json", "evt_fixture_002__charge.succeeded.json", "evt_fixture_003__payment_intent.succeeded.json"].iter().enumerate() {
        let text = serde_json::to_string(&fixture(name)).unwrap().replace("3FixtureA1B2C3D4", suffix);
        let mut event: Value = serde_json::from_str(&text).unwrap();
        event["id"] = json!(format!("evt_{suffix}_{i}"));
        deliver(app, event, account).await;
    }
    payment_id(app, token, &format!("pi_{suffix}")).await
}

fn checkout_body() -> Value {
    json!({
        "line_items": [{ "name": "T-shirt", "unit_amount": 2500, "quantity": 2 }],
        "currency": "usd",
        "success_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
        "metadata": { "order": "1001" }
    })
}

async fn event_types(app: &TestApp, token: &str) -> Vec<String> {
    let (status, events) = app.get("/api/v1/events?limit=100", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

crate::with_stripe! {
    async fn connect_onboarding_creates_one_express_account_and_follows_its_capabilities(app: TestApp, double: StripeDouble) {
        let owner = app.user(&unique_email("onboard")).await;
        let (status, missing) = app.get("/api/v1/connect/account", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");

        let (status, created) = post_with_key(&app, "/api/v1/connect/accounts", &owner.token, &key(), json!({ "email": owner.email, "country": "us" })).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["charges_enabled"], false);
        let account = created["account_id"].as_str().unwrap().to_owned();
        let (status, again) = post_with_key(&app, "/api/v1/connect/accounts", &owner.token, &key(), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["account_id"], account.as_str());
        let creations = double.requests_to("/v1/accounts").into_iter().filter(|r| r.path == "/v1/accounts").collect::<Vec<_>>();
        assert_eq!(creations.len(), 1, "one Stripe account per tenant");
        assert_eq!(creations[0].param("type"), Some("express"));
        assert_eq!(creations[0].param("country"), Some("US"));
        assert_eq!(creations[0].param("metadata[paybus_tenant]"), Some(owner.tenant.as_str()));
        assert!(creations[0].idempotency_key.is_some(), "account creation is idempotent at Stripe");

        let (status, state) = app.get("/api/v1/connect/account", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(state["refreshed"], true);
        assert_eq!(state["requirements"]["currently_due"][0], "business_type", "{state}");

        let (status, link) = post_with_key(&app, "/api/v1/connect/account-links", &owner.token, &key(), json!({ "return_url": "https://merchant.example/done" })).await;
        assert_eq!(status, StatusCode::CREATED, "{link}");
        assert!(link["url"].as_str().unwrap().contains(&account));
        let sent = double.requests_to("/v1/account_links");
        assert_eq!(sent[0].param("type"), Some("account_onboarding"));
        assert_eq!(sent[0].param("return_url"), Some("https://merchant.example/done"));
        assert!(sent[0].param("refresh_url").unwrap().ends_with("/connect"), "defaults to the dashboard");

        let (status, bad) = post_with_key(&app, "/api/v1/connect/account-links", &owner.token, &key(), json!({ "return_url": "javascript:alert(1)" })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(bad["error"]["param"], "return_url");

        // Stripe refuses a login link before onboarding; its message reaches the client.
        let (status, refused) = app.get("/api/v1/connect/express-login-link", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{refused}");
        assert!(refused["error"]["message"].as_str().unwrap().contains("not completed onboarding"), "{refused}");

        double.complete_onboarding(&account);
        let (_, state) = app.get("/api/v1/connect/account", Some(&owner.token)).await;
        assert_eq!((state["charges_enabled"].clone(), state["payouts_enabled"].clone(), state["details_submitted"].clone()), (json!(true), json!(true), json!(true)));
        let (status, login) = app.get("/api/v1/connect/express-login-link", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{login}");
        assert!(login["url"].as_str().unwrap().ends_with(&format!("/express/{account}")));

        let types = event_types(&app, &owner.token).await;
        for expected in ["connect.account_created", "connect.onboarding_link_created", "connect.account_updated"] {
            assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
        }
    }
}

crate::with_stripe! {
    async fn checkout_creates_a_session_on_the_connected_account_after_its_guards(app: TestApp, double: StripeDouble) {
        let owner = app.user(&unique_email("early")).await;
        let (status, refused) = post_with_key(&app, "/api/v1/checkout-sessions", &owner.token, &key(), checkout_body()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert_eq!(refused["error"]["code"], "payments_disabled");

        let (merchant, account) = onboarded_merchant(&app, &double).await;
        let (status, missing_key) = app.post("/api/v1/checkout-sessions", Some(&merchant.token), checkout_body()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(missing_key["error"]["code"], "idempotency_key_missing");

        let (status, session) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &key(), checkout_body()).await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        assert_eq!(session["amount_total"], 5000);
        assert_eq!(session["currency"], "usd");
        assert!(session["url"].as_str().unwrap().starts_with(&format!("{}/checkout/cs_test_", double.base)));
        let sent = double.requests_to("/v1/checkout/sessions").pop().unwrap();
        assert_eq!(sent.account.as_deref(), Some(account.as_str()), "created on the tenant's connected account");
        assert_eq!(sent.param("mode"), Some("payment"));
        assert_eq!(sent.param("line_items[0][price_data][unit_amount]"), Some("2500"));
        assert_eq!(sent.param("line_items[0][quantity]"), Some("2"));
        assert_eq!(sent.param("metadata[order]"), Some("1001"));
        assert_eq!(sent.param("metadata[paybus_tenant]"), Some(merchant.tenant.as_str()));

        // The same request again names the same session, and Stripe is not asked twice.
        let retry_key = key();
        let (_, once) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &retry_key, checkout_body()).await;
        let (status, twice) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &retry_key, checkout_body()).await;
        assert!(status.is_success(), "{twice}");
        assert_eq!(once["id"], twice["id"]);
        assert_eq!(double.requests_to("/v1/checkout/sessions").len(), 2, "two distinct requests reached Stripe");

        let (status, list) = app.get("/api/v1/checkout-sessions", Some(&merchant.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["data"].as_array().unwrap().len(), 2);
        assert_eq!(list["data"][1]["id"], session["id"]);
        assert!(event_types(&app, &merchant.token).await.iter().any(|t| t == "checkout.session_created"));

        // Validation: positive amounts, real currencies, the cap, exclusive inputs.
        let cases = [
            (json!({ "amount": 0, "currency": "usd" }), StatusCode::BAD_REQUEST, "amount_invalid"),
            (json!({ "amount": 100, "currency": "dollars" }), StatusCode::BAD_REQUEST, "currency_invalid"),
            (json!({ "amount": 10_000_001, "currency": "usd" }), StatusCode::UNPROCESSABLE_ENTITY, "amount_too_large"),
            (json!({ "amount": 1005, "currency": "kwd" }), StatusCode::BAD_REQUEST, "amount_invalid"),
            (json!({ "amount": 100 }), StatusCode::BAD_REQUEST, "currency_missing"),
            (json!({ "currency": "usd" }), StatusCode::BAD_REQUEST, "line_items_missing"),
            (json!({ "amount": 100, "currency": "usd", "line_items": [{ "name": "x", "unit_amount": 1 }] }), StatusCode::BAD_REQUEST, "parameters_exclusive"),
            (json!({ "currency": "usd", "line_items": [{ "name": "x", "unit_amount": 100, "quantity": 0 }] }), StatusCode::BAD_REQUEST, "quantity_invalid"),
        ];
        for (fields, expected_status, code) in cases {
            let mut body = json!({ "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no" });
            body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
            let (status, error) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &key(), body.clone()).await;
            assert_eq!((status, error["error"]["code"].as_str().unwrap()), (expected_status, code), "{body} → {error}");
        }
        let mut bad_url = checkout_body();
        bad_url["success_url"] = json!("/relative");
        let (status, error) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &key(), bad_url).await;
        assert_eq!((status, error["error"]["param"].clone()), (StatusCode::BAD_REQUEST, json!("success_url")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_is_rate_limited_per_client_ip_with_retry_after() {
    let (app, double) = spawn_with_stripe(Backend::Sqlite, vec![("PAYBUS_CHECKOUT_LIMIT_PER_IP", "3".into())]).await.unwrap();
    let (merchant, _) = onboarded_merchant(&app, &double).await;
    for _ in 0..3 {
        let (status, body) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &key(), checkout_body()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let response = app
        .client
        .post(app.url("/api/v1/checkout-sessions"))
        .bearer_auth(&merchant.token)
        .header("Idempotency-Key", key())
        .json(&checkout_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 3600);
    assert_eq!(double.requests_to("/v1/checkout/sessions").len(), 3, "the limited request never reached Stripe");
}

crate::with_stripe! {
    async fn stripe_errors_and_timeouts_become_502_with_stripes_code_and_nothing_written(app: TestApp, double: StripeDouble) {
        let (merchant, _) = onboarded_merchant(&app, &double).await;
        let cases = [
            (Failure::CardDeclined, "card_declined", "Your card was declined."),
            (Failure::InvalidRequest, "parameter_invalid_integer", "Invalid integer: abc"),
            (Failure::RateLimited, "rate_limit", "Too many requests hit the API too quickly."),
            (Failure::Timeout, "stripe_timeout", "Stripe did not answer in time"),
        ];
        for (failure, code, message) in cases {
            double.fail_next("/v1/checkout/sessions", failure);
            let (status, error) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &key(), checkout_body()).await;
            assert_eq!(status, StatusCode::BAD_GATEWAY, "{failure:?}: {error}");
            assert_eq!(error["error"]["code"], code, "{error}");
            assert!(error["error"]["message"].as_str().unwrap().starts_with(message), "{error}");
        }
        let (_, sessions) = app.get("/api/v1/checkout-sessions", Some(&merchant.token)).await;
        assert_eq!(sessions["data"].as_array().unwrap().len(), 0, "no half-written sessions: {sessions}");
    }
}

crate::with_stripe! {
    async fn capture_and_cancel_act_on_the_payment_intent_of_the_connected_account(app: TestApp, double: StripeDouble) {
        let (merchant, account) = onboarded_merchant(&app, &double).await;
        deliver(&app, fixture("evt_fixture_004__payment_intent.amount_capturable_updated.json"), &account).await;
        double.add_intent("pi_3FixtureManualCap", 5000, "requires_capture");
        let payment = payment_id(&app, &merchant.token, "pi_3FixtureManualCap").await;
        let capture = format!("/api/v1/payments/{payment}/capture");

        let (status, too_much) = post_with_key(&app, &capture, &merchant.token, &key(), json!({ "amount": 5001 })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{too_much}");
        assert_eq!(too_much["error"]["code"], "amount_exceeds_capturable");

        let (status, captured) = post_with_key(&app, &capture, &merchant.token, &key(), json!({ "amount": 4000 })).await;
        assert_eq!(status, StatusCode::OK, "{captured}");
        assert_eq!(captured["stripe_status"], "succeeded");
        assert_eq!(captured["amount"], 4000);
        let sent = double.requests_to("/capture").pop().unwrap();
        assert_eq!(sent.account.as_deref(), Some(account.as_str()));
        assert_eq!(sent.param("amount_to_capture"), Some("4000"));

        let (_, timeline) = app.get(&format!("/api/v1/payments/{payment}/timeline"), Some(&merchant.token)).await;
        let titles: Vec<&str> = timeline["data"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap()).collect();
        assert!(titles.contains(&"Capture requested"), "{titles:?}");

        // The succeeded payment of the main story can no longer be canceled.
        let paid = captured_payment(&app, &merchant.token, &account).await;
        let (status, refused) = post_with_key(&app, &format!("/api/v1/payments/{paid}/cancel"), &merchant.token, &key(), json!({})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["code"], "payment_not_cancelable");

        // A second authorised payment is canceled at Stripe.
        let mut auth = fixture("evt_fixture_004__payment_intent.amount_capturable_updated.json");
        auth["id"] = json!("evt_second_auth");
        auth["data"]["object"]["id"] = json!("pi_SecondAuth");
        deliver(&app, auth, &account).await;
        double.add_intent("pi_SecondAuth", 5000, "requires_capture");
        let second = payment_id(&app, &merchant.token, "pi_SecondAuth").await;
        let (status, canceled) = post_with_key(&app, &format!("/api/v1/payments/{second}/cancel"), &merchant.token, &key(), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{canceled}");
        assert_eq!(canceled["stripe_status"], "canceled");

        // Another tenant's payment does not exist for this one.
        let stranger = app.user(&unique_email("stranger")).await;
        let (status, _) = post_with_key(&app, &capture, &stranger.token, &key(), json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = post_with_key(&app, "/api/v1/refunds", &stranger.token, &key(), json!({ "payment_id": paid })).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

crate::with_stripe! {
    async fn partial_refunds_add_up_and_never_exceed_what_was_captured(app: TestApp, double: StripeDouble) {
        let (merchant, account) = onboarded_merchant(&app, &double).await;
        let payment = captured_payment(&app, &merchant.token, &account).await;

        let (status, too_much) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "amount": 5001 })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{too_much}");
        assert_eq!(too_much["error"]["code"], "amount_exceeds_refundable");
        let (status, bad_reason) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "reason": "because" })).await;
        assert_eq!((status, bad_reason["error"]["param"].clone()), (StatusCode::BAD_REQUEST, json!("reason")));

        let first_key = key();
        let (status, first) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &first_key, json!({ "payment_id": payment, "amount": 1500, "reason": "requested_by_customer" })).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["status"], "submitted");
        assert_eq!(first["stripe_status"], "succeeded");
        let sent = double.requests_to("/v1/refunds").pop().unwrap();
        assert_eq!(sent.account.as_deref(), Some(account.as_str()), "refunded on the connected account");
        assert_eq!(sent.param("payment_intent"), Some("pi_3FixtureA1B2C3D4"));
        assert_eq!(sent.param("metadata[paybus_refund_request]"), first["id"].as_str());

        // The same client request again: the same refund, not a second one.
        let (status, again) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &first_key, json!({ "payment_id": payment, "amount": 1500, "reason": "requested_by_customer" })).await;
        assert!(status.is_success(), "{again}");
        assert_eq!(again["id"], first["id"]);
        assert_eq!(double.refunds().len(), 1);

        let (status, second) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "amount": 2000 })).await;
        assert_eq!(status, StatusCode::CREATED, "{second}");
        // 5000 - 1500 - 2000 = 1500 left, even before Stripe's webhooks reach the ledger.
        let (status, over) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "amount": 2000 })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{over}");
        assert!(over["error"]["message"].as_str().unwrap().contains("(1500)"), "{over}");
        let (status, rest) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment })).await;
        assert_eq!(status, StatusCode::CREATED, "{rest}");
        assert_eq!(rest["amount"], 1500, "no amount refunds the rest");
        let total: i64 = double.refunds().iter().map(|r| r["amount"].as_i64().unwrap()).sum();
        assert_eq!(total, 5000, "partial refunds add up to the captured amount");
        let (status, nothing_left) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "amount": 1 })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{nothing_left}");
        assert_eq!(nothing_left["error"]["code"], "payment_not_refundable");

        // A Stripe refusal releases the reservation.
        let (merchant2, account2) = onboarded_merchant(&app, &double).await;
        let other = captured_payment_as(&app, &merchant2.token, &account2, "Other").await;
        double.fail_next("/v1/refunds", Failure::CardDeclined);
        let (status, _) = post_with_key(&app, "/api/v1/refunds", &merchant2.token, &key(), json!({ "payment_id": other, "amount": 5000 })).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let (status, retried) = post_with_key(&app, "/api/v1/refunds", &merchant2.token, &key(), json!({ "payment_id": other, "amount": 5000 })).await;
        assert_eq!(status, StatusCode::CREATED, "the failed refund reserved nothing: {retried}");
    }
}

/// Makes the database refuse to mark a refund request submitted: our write after Stripe's
/// success fails, exactly as a crash or a lost connection at that moment would.
async fn break_refund_bookkeeping(app: &TestApp) {
    match app.backend {
        Backend::Sqlite => {
            app.execute(
                "CREATE TRIGGER injected_failure BEFORE UPDATE OF status ON refund_requests WHEN NEW.status = 'submitted'
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            )
            .await
        }
        Backend::Postgres => {
            app.execute("CREATE FUNCTION injected_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql").await;
            app.execute(
                "CREATE TRIGGER injected_failure BEFORE UPDATE ON refund_requests FOR EACH ROW WHEN (NEW.status = 'submitted') EXECUTE FUNCTION injected_failure()",
            )
            .await;
        }
    }
}

async fn repair_refund_bookkeeping(app: &TestApp) {
    match app.backend {
        Backend::Sqlite => app.execute("DROP TRIGGER injected_failure").await,
        Backend::Postgres => app.execute("DROP TRIGGER injected_failure ON refund_requests").await,
    }
}

crate::with_stripe! {
    async fn a_refund_whose_local_write_failed_is_completed_by_the_webhook_never_refunded_twice(app: TestApp, double: StripeDouble) {
        let (merchant, account) = onboarded_merchant(&app, &double).await;
        let payment = captured_payment(&app, &merchant.token, &account).await;
        break_refund_bookkeeping(&app).await;

        let client_key = key();
        let body = json!({ "payment_id": payment, "amount": 2000 });
        let (status, failed) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &client_key, body.clone()).await;
        assert!(status.is_server_error(), "{status} {failed}");
        assert_eq!(double.refunds().len(), 1, "Stripe made the refund");
        // Pending reconciliation: the amount stays reserved, so nobody can refund it again.
        let (status, _) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "amount": 3001 })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        repair_refund_bookkeeping(&app).await;

        // Stripe's webhook arrives and completes it.
        let refund = double.refunds()[0].clone();
        let event = json!({
            "id": "evt_refund_after_crash", "object": "event", "api_version": "2024-06-20", "livemode": false,
            "created": time::OffsetDateTime::now_utc().unix_timestamp(), "type": "refund.created", "pending_webhooks": 1,
            "data": { "object": refund }
        });
        deliver(&app, event, &account).await;
        let (_, detail) = app.get(&format!("/api/v1/payments/{payment}"), Some(&merchant.token)).await;
        assert_eq!(detail["amount_refunded"], 2000, "{detail}");
        let settled = app.query_strings("SELECT status FROM refund_requests").await;
        assert_eq!(settled, vec!["settled".to_owned()]);

        // The client retries its request: it gets the refund back, and Stripe made only one.
        let (status, retried) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &client_key, body).await;
        assert!(status.is_success(), "{retried}");
        assert_eq!(retried["stripe_refund_id"], refund["id"]);
        assert_eq!(double.refunds().len(), 1, "never a second refund");
        let (status, rest) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment })).await;
        assert_eq!(status, StatusCode::CREATED, "{rest}");
        assert_eq!(rest["amount"], 3000);
    }
}

crate::with_stripe! {
    async fn the_last_unit_of_a_limited_product_goes_to_exactly_one_buyer(app: TestApp, double: StripeDouble) {
        let (merchant, _) = onboarded_merchant(&app, &double).await;
        let (status, eur) = app.post("/api/v1/currencies", Some(&merchant.token), json!({ "currency": "eur", "enabled": true })).await;
        assert_eq!(status, StatusCode::OK, "{eur}");
        let (status, product) = app.post("/api/v1/products", Some(&merchant.token), json!({ "name": "Concert ticket", "unit_amount": 4000, "currency": "EUR", "max_purchases": 2 })).await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
        assert_eq!(product["currency"], "eur");
        let buy = json!({ "product_id": product["id"], "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no" });

        // A Stripe failure gives the unit back.
        double.fail_next("/v1/checkout/sessions", Failure::RateLimited);
        let (status, _) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &key(), buy.clone()).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let (status, first) = post_with_key(&app, "/api/v1/checkout-sessions", &merchant.token, &key(), buy.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["amount_total"], 4000);

        // Eight buyers race for the one unit left.
        let attempts = (0..8).map(|_| {
            let (app, token, buy) = (&app, merchant.token.clone(), buy.clone());
            async move { post_with_key(app, "/api/v1/checkout-sessions", &token, &key(), buy).await }
        });
        let results = futures_util::future::join_all(attempts).await;
        let won = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
        let sold_out = results.iter().filter(|(s, b)| *s == StatusCode::CONFLICT && b["error"]["code"] == "product_sold_out").count();
        assert_eq!((won, sold_out), (1, 7), "{results:?}");
        let (_, product) = app.get(&format!("/api/v1/products/{}", product["id"].as_str().unwrap()), Some(&merchant.token)).await;
        assert_eq!(product["purchases"], 2);

        // Another tenant can neither see nor sell it.
        let stranger = app.user(&unique_email("stranger")).await;
        let (status, _) = app.get(&format!("/api/v1/products/{}", product["id"].as_str().unwrap()), Some(&stranger.token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.get("/api/v1/products", Some(&stranger.token)).await;
        assert_eq!(status, StatusCode::OK);
    }
}

crate::with_stripe! {
    async fn every_money_moving_action_is_for_owners_and_admins_only(app: TestApp, double: StripeDouble) {
        let (merchant, account) = onboarded_merchant(&app, &double).await;
        let payment = captured_payment(&app, &merchant.token, &account).await;
        let calls: Vec<(&str, String, Value)> = vec![
            ("checkout", "/api/v1/checkout-sessions".into(), checkout_body()),
            ("capture", format!("/api/v1/payments/{payment}/capture"), json!({})),
            ("cancel", format!("/api/v1/payments/{payment}/cancel"), json!({})),
            ("refund", "/api/v1/refunds".into(), json!({ "payment_id": payment, "amount": 1 })),
            ("connect", "/api/v1/connect/accounts".into(), json!({})),
            ("account link", "/api/v1/connect/account-links".into(), json!({})),
        ];
        for role in ["owner", "admin", "developer", "analyst", "viewer"] {
            let (status, created) = app.post("/api/v1/api-keys", Some(&merchant.token), json!({ "name": format!("{role} key"), "role": role })).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let secret = created["secret"].as_str().unwrap();
            for (what, path, body) in &calls {
                let (status, answer) = post_with_key(&app, path, secret, &key(), body.clone()).await;
                let allowed = matches!(role, "owner" | "admin");
                if allowed {
                    assert_ne!(status, StatusCode::FORBIDDEN, "{role} may {what}: {answer}");
                } else {
                    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("insufficient_role")), "{role} may not {what}: {answer}");
                }
            }
        }
    }
}

crate::with_stripe! {
    async fn the_sweeper_ingests_what_stripe_failed_to_deliver_through_the_webhook_path(app: TestApp, double: StripeDouble) {
        let (merchant, account) = onboarded_merchant(&app, &double).await;
        // One event did arrive by webhook; two did not.
        deliver(&app, fixture("evt_fixture_001__payment_intent.created.json"), &account).await;
        for name in ["evt_fixture_001__payment_intent.created.json", "evt_fixture_002__charge.succeeded.json", "evt_fixture_003__payment_intent.succeeded.json"] {
            double.add_undelivered(Some(&account), fixture(name));
        }
        // And a backlog long enough to need several pages.
        for i in 0..120 {
            let mut payout = fixture("evt_fixture_014__payout.paid.json");
            payout["id"] = json!(format!("evt_backlog_{i:03}"));
            payout.as_object_mut().unwrap().remove("account");
            double.add_undelivered(Some(&account), payout);
        }
        let (status, run) = app.post("/api/v1/webhook-events/reconciliations", Some(&merchant.token), json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{run}");
        assert_eq!((run["status"].clone(), run["listed"].clone(), run["ingested"].clone(), run["already_present"].clone()), (json!("succeeded"), json!(123), json!(122), json!(1)), "{run}");
        assert!(double.requests_to("/v1/events").iter().all(|r| r.account.as_deref() == Some(account.as_str())));
        assert!(double.requests_to("/v1/events").len() >= 2, "paged through the backlog");

        let payment = payment_id(&app, &merchant.token, "pi_3FixtureA1B2C3D4").await;
        let (_, detail) = app.get(&format!("/api/v1/payments/{payment}"), Some(&merchant.token)).await;
        assert_eq!(detail["status"], "succeeded", "{detail}");
        let (_, audit) = app.get("/api/v1/webhook-events?limit=100", Some(&merchant.token)).await;
        assert!(audit["data"].as_array().unwrap().iter().any(|e| e["source"] == "sweeper"), "the audit shows where each event came from");
        let from_sweeper = app.query_strings("SELECT id FROM webhook_events WHERE source = 'sweeper'").await;
        assert_eq!(from_sweeper.len(), 122);

        // A second run finds nothing new.
        let (_, again) = app.post("/api/v1/webhook-events/reconciliations", Some(&merchant.token), json!({})).await;
        assert_eq!((again["ingested"].clone(), again["already_present"].clone()), (json!(0), json!(123)));
        let (status, runs) = app.get("/api/v1/webhook-events/reconciliations", Some(&merchant.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(runs["data"].as_array().unwrap().len(), 2);

        // A Stripe outage is recorded, not hidden.
        double.fail_next("/v1/events", Failure::RateLimited);
        let (_, failed) = app.post("/api/v1/webhook-events/reconciliations", Some(&merchant.token), json!({})).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        assert!(failed["error"].as_str().unwrap().contains("Too many requests"), "{failed}");

        let stranger = app.user(&unique_email("stranger")).await;
        let (_, theirs) = app.get("/api/v1/webhook-events/reconciliations", Some(&stranger.token)).await;
        assert_eq!(theirs["data"].as_array().unwrap().len(), 0);
    }
}

/// Polls until `check` holds (webhooks from the mock arrive asynchronously, as Stripe's do).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

crate::with_stripe! {
    async fn the_stripe_mock_closes_the_loop_with_signed_webhooks_like_stripe(app: TestApp, double: StripeDouble) {
        double.send_webhooks_to(&app.url("/webhook"), WEBHOOK_SECRET);
        let owner = app.user(&unique_email("loop")).await;
        let (_, account) = post_with_key(&app, "/api/v1/connect/accounts", &owner.token, &key(), json!({})).await;
        let account = account["account_id"].as_str().unwrap().to_owned();

        // Onboarding: the merchant follows the link; Stripe says account.updated.
        let (_, link) = post_with_key(&app, "/api/v1/connect/account-links", &owner.token, &key(), json!({ "return_url": app.url("/connect") })).await;
        let visited = app.client.get(link["url"].as_str().unwrap()).send().await.unwrap();
        assert!(visited.url().as_str().starts_with(&app.url("/connect")), "back on paybus: {}", visited.url());
        eventually("account.updated enables charges", || async {
            app.query_strings(&format!("SELECT CAST(charges_enabled AS TEXT) FROM stripe_accounts WHERE account_id = '{account}'")).await == vec!["1".to_owned()]
        })
        .await;

        // Checkout: the customer pays on the hosted page; the payment reaches the ledger.
        let (status, session) = post_with_key(&app, "/api/v1/checkout-sessions", &owner.token, &key(), checkout_body()).await;
        assert_eq!(status, StatusCode::CREATED, "{session}");
        let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let paid = no_redirects
            .post(session["url"].as_str().unwrap())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=buyer%40example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(paid.headers().get("location").and_then(|l| l.to_str().ok()), Some("https://shop.example/thanks"), "back to the shop");
        eventually("the checkout's payment is in the ledger", || async {
            let (_, list) = app.get("/api/v1/payments", Some(&owner.token)).await;
            list["data"].as_array().and_then(|d| d.first()).is_some_and(|p| p["status"] == "succeeded")
        })
        .await;
        let (_, list) = app.get("/api/v1/payments", Some(&owner.token)).await;
        let payment = list["data"][0]["id"].as_str().unwrap().to_owned();
        let (_, detail) = app.get(&format!("/api/v1/payments/{payment}"), Some(&owner.token)).await;
        assert_eq!((detail["amount_captured"].clone(), detail["customer_email"].clone(), detail["connected_account"].clone()), (json!(5000), json!("buyer@example.com"), json!(account)));

        // Refund: Stripe's refund.created settles the request and the ledger shows the refund.
        let (status, refund) = post_with_key(&app, "/api/v1/refunds", &owner.token, &key(), json!({ "payment_id": payment, "amount": 1200 })).await;
        assert_eq!(status, StatusCode::CREATED, "{refund}");
        eventually("the refund reaches the ledger", || async {
            let (_, detail) = app.get(&format!("/api/v1/payments/{payment}"), Some(&owner.token)).await;
            detail["amount_refunded"] == 1200
        })
        .await;
        assert_eq!(app.query_strings("SELECT status FROM refund_requests").await, vec!["settled".to_owned()]);
    }
}

crate::with_stripe! {
    async fn every_stripe_call_passes_stripes_errors_and_timeouts_through_as_502(app: TestApp, double: StripeDouble) {
        let (merchant, account) = onboarded_merchant(&app, &double).await;
        deliver(&app, fixture("evt_fixture_004__payment_intent.amount_capturable_updated.json"), &account).await;
        double.add_intent("pi_3FixtureManualCap", 5000, "requires_capture");
        let authorised = payment_id(&app, &merchant.token, "pi_3FixtureManualCap").await;
        let paid = captured_payment(&app, &merchant.token, &account).await;

        let failures = [
            (Failure::CardDeclined, "card_declined"),
            (Failure::InvalidRequest, "parameter_invalid_integer"),
            (Failure::RateLimited, "rate_limit"),
            (Failure::Timeout, "stripe_timeout"),
        ];
        for (failure, code) in failures {
            // Creating an account needs a tenant without one.
            let newcomer = app.user(&unique_email("newcomer")).await;
            let calls: Vec<(&str, Method, String, &str, Value)> = vec![
                ("/v1/accounts", Method::POST, "/api/v1/connect/accounts".into(), newcomer.token.as_str(), json!({})),
                ("/v1/account_links", Method::POST, "/api/v1/connect/account-links".into(), merchant.token.as_str(), json!({})),
                ("/login_links", Method::GET, "/api/v1/connect/express-login-link".into(), merchant.token.as_str(), Value::Null),
                ("/v1/checkout/sessions", Method::POST, "/api/v1/checkout-sessions".into(), merchant.token.as_str(), checkout_body()),
                ("/capture", Method::POST, format!("/api/v1/payments/{authorised}/capture"), merchant.token.as_str(), json!({})),
                ("/cancel", Method::POST, format!("/api/v1/payments/{authorised}/cancel"), merchant.token.as_str(), json!({})),
                ("/v1/refunds", Method::POST, "/api/v1/refunds".into(), merchant.token.as_str(), json!({ "payment_id": paid, "amount": 100 })),
            ];
            for (stripe_path, method, path, token, body) in calls {
                double.fail_next(stripe_path, failure);
                let idempotency = key();
                let body = (!body.is_null()).then_some(body);
                let (status, error) = app.call_with(method, &path, Some(token), body, &[("Idempotency-Key", idempotency.as_str())]).await;
                assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::BAD_GATEWAY, Some(code)), "{failure:?} on {path}: {error}");
                assert_eq!(error["error"]["type"], "api_error", "{error}");
            }
        }
        // Nothing half-written: no account for the newcomers, no sessions, the payment untouched.
        let (_, sessions) = app.get("/api/v1/checkout-sessions", Some(&merchant.token)).await;
        assert_eq!(sessions["data"].as_array().unwrap().len(), 0);
        let (_, detail) = app.get(&format!("/api/v1/payments/{authorised}"), Some(&merchant.token)).await;
        assert_eq!(detail["status"], "requires_capture");
        assert_eq!(app.query_strings("SELECT account_id FROM stripe_accounts").await, vec![account.clone()]);

        // Reading the account survives an outage: the last known state, marked as such.
        double.fail_next("/v1/accounts/", Failure::RateLimited);
        let (status, stale) = app.get("/api/v1/connect/account", Some(&merchant.token)).await;
        assert_eq!(status, StatusCode::OK, "{stale}");
        assert_eq!((stale["refreshed"].clone(), stale["charges_enabled"].clone()), (json!(false), json!(true)));
    }
}

crate::with_stripe! {
    async fn refunds_left_without_an_outcome_are_resolved_with_stripe_by_the_sweeper(app: TestApp, double: StripeDouble) {
        let (merchant, account) = onboarded_merchant(&app, &double).await;
        let payment = captured_payment(&app, &merchant.token, &account).await;

        // Stripe timed out and made nothing: 2000 stays reserved until someone asks Stripe.
        double.fail_next("/v1/refunds", Failure::Timeout);
        let (status, _) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "amount": 2000 })).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let (status, _) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "amount": 3001 })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "still reserved");

        // Stripe made this one, but our write after it failed and its webhook never came.
        break_refund_bookkeeping(&app).await;
        let (status, _) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment, "amount": 1000 })).await;
        assert!(status.is_server_error());
        repair_refund_bookkeeping(&app).await;
        assert_eq!(double.refunds().len(), 1);

        // A fresh request is left alone; ten minutes on, the sweeper asks Stripe about both.
        let (_, run) = app.post("/api/v1/webhook-events/reconciliations", Some(&merchant.token), json!({})).await;
        assert_eq!(run["status"], "succeeded");
        let statuses = app.query_strings("SELECT status FROM refund_requests ORDER BY amount").await;
        assert_eq!(statuses, vec!["requested".to_owned(), "requested".to_owned()]);
        app.execute("UPDATE refund_requests SET updated_at = updated_at - 11 * 60 * 1000").await;
        app.post("/api/v1/webhook-events/reconciliations", Some(&merchant.token), json!({})).await;
        let resolved = app.query_strings("SELECT CAST(amount AS TEXT) || ':' || status || ':' || COALESCE(stripe_refund_id, '-') FROM refund_requests ORDER BY amount").await;
        let made = double.refunds()[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(resolved, vec![format!("1000:submitted:{made}"), "2000:failed:-".to_owned()]);

        // The released 2000 can be refunded again; the 1000 Stripe made still counts.
        let (status, rest) = post_with_key(&app, "/api/v1/refunds", &merchant.token, &key(), json!({ "payment_id": payment })).await;
        assert_eq!(status, StatusCode::CREATED, "{rest}");
        assert_eq!(rest["amount"], 4000);
    }
}
