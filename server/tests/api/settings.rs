//! Tenant settings: sealed at rest, masked in every response, the mask keeps a secret, changes
//! audited by name only, per-tenant webhook secrets with rotation, the payments switch, roles,
//! and the payment audit log with its CSV export.

use app::ssr::stripe::signature::header_for;
use paybus_server::stripe_mock::StripeMock;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const PLATFORM_SECRET: &str = STRIPE_WEBHOOK_SECRET;
const STRIPE_KEY: &str = "sk_live_51TenantOwnKeyAbCdEfGhIjKlMnOp7777";
const HOOK_A: &str = "whsec_tenantSecretAlphaAAAA1111";
const HOOK_B: &str = "whsec_tenantSecretBravoBBBB2222";

async fn patch(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PATCH, "/api/v1/settings", Some(token), Some(body)).await
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [STRIPE_KEY, HOOK_A, HOOK_B] {
        assert!(!text.contains(secret), "{what} leaks a stored secret: {text}");
    }
}

async fn signed_event(app: &TestApp, secret: &str, account: &str, id: &str) -> StatusCode {
    let path = format!("{}/tests/fixtures/stripe/events/evt_fixture_001__payment_intent.created.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    event["id"] = json!(id);
    event["account"] = json!(account);
    let body = serde_json::to_vec(&event).unwrap();
    let header = header_for(secret, time::OffsetDateTime::now_utc().unix_timestamp(), &body);
    app.client.post(app.url("/webhook")).header("Stripe-Signature", header).body(body).send().await.unwrap().status()
}

crate::with_stripe! {
    async fn secrets_are_sealed_masked_kept_by_their_mask_and_audited_by_name(app: TestApp, double: StripeMock) {
        let _ = &double;
        let owner = app.user(&unique_email("settings")).await;
        let (status, defaults) = app.get("/api/v1/settings", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((defaults["payments_enabled"].clone(), defaults["default_currency"].clone()), (json!(true), json!("usd")));
        assert!(defaults["stripe_api_version"].as_str().unwrap().starts_with("20"), "{defaults}");

        let (status, saved) = patch(&app, &owner.token, json!({
            "stripe_secret_key": STRIPE_KEY, "webhook_secrets": [HOOK_A, HOOK_B],
            "default_currency": "EUR", "notification_emails": ["Ops@Shop.example", "ops@shop.example", "finance@shop.example"]
        })).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert_eq!(saved["stripe_secret_key"], "sk_live_…7777");
        assert_eq!(saved["webhook_secrets"], json!(["whsec_…1111", "whsec_…2222"]));
        assert_eq!(saved["default_currency"], "eur");
        assert_eq!(saved["notification_emails"], json!(["ops@shop.example", "finance@shop.example"]));

        // Never cached, never in a response, never in the database in the clear.
        let response = app.client.get(app.url("/api/v1/settings")).bearer_auth(&owner.token).send().await.unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store");
        let text = response.text().await.unwrap();
        assert_no_secret("GET /settings", &text);
        assert_no_secret("PATCH /settings", &saved.to_string());
        let (_, audit) = app.get("/api/v1/settings/audit", Some(&owner.token)).await;
        assert_no_secret("GET /settings/audit", &audit.to_string());
        for stored in app.query_strings("SELECT COALESCE(stripe_secret_key, '') || ' ' || COALESCE(webhook_secrets, '') FROM tenant_settings").await {
            assert_no_secret("tenant_settings at rest", &stored);
            assert!(stored.starts_with("v1:"), "sealed: {stored}");
        }

        // The masks sent back keep the secrets; a secret left out of the list is removed.
        let (status, kept) = patch(&app, &owner.token, json!({ "stripe_secret_key": "sk_live_…7777", "webhook_secrets": ["whsec_…1111"] })).await;
        assert_eq!(status, StatusCode::OK, "{kept}");
        assert_eq!(kept["stripe_secret_key"], "sk_live_…7777");
        assert_eq!(kept["webhook_secrets"], json!(["whsec_…1111"]));
        let (_, kept) = patch(&app, &owner.token, json!({ "stripe_secret_key": "__unchanged__", "payments_enabled": false })).await;
        assert_eq!((kept["stripe_secret_key"].clone(), kept["payments_enabled"].clone()), (json!("sk_live_…7777"), json!(false)));
        // Which secret survived shows in what it can verify.
        app.execute(&format!("INSERT INTO stripe_accounts (account_id, tenant_id, created_at, updated_at) VALUES ('acct_settings1', '{}', 0, 0)", owner.tenant)).await;
        assert_eq!(signed_event(&app, HOOK_A, "acct_settings1", "evt_kept_a").await, StatusCode::OK);
        assert_eq!(signed_event(&app, HOOK_B, "acct_settings1", "evt_removed_b").await, StatusCode::BAD_REQUEST);

        // The audit names fields, in order, and nothing else.
        let (_, audit) = app.get("/api/v1/settings/audit", Some(&owner.token)).await;
        let entries = audit["data"].as_array().unwrap();
        assert_eq!(entries.len(), 3, "{audit}");
        assert_eq!(entries[2]["fields"], json!(["default_currency", "notification_emails", "stripe_secret_key", "webhook_secrets"]));
        assert_eq!(entries[1]["fields"], json!(["webhook_secrets"]));
        assert_eq!(entries[0]["fields"], json!(["payments_enabled"]));
        assert_eq!(entries[0]["actor"], owner.id.as_str());

        // Bad input names its parameter and changes nothing.
        for (body, param) in [
            (json!({ "stripe_secret_key": "pk_live_publishable123" }), "stripe_secret_key"),
            (json!({ "webhook_secrets": ["not-a-secret"] }), "webhook_secrets"),
            (json!({ "default_currency": "euro" }), "default_currency"),
            (json!({ "notification_emails": ["nope"] }), "notification_emails"),
        ] {
            let (status, error) = patch(&app, &owner.token, body.clone()).await;
            assert_eq!((status, error["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some(param)), "{body}: {error}");
        }
        let (status, error) = patch(&app, &owner.token, json!({ "surprise": 1 })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        let (_, audit) = app.get("/api/v1/settings/audit", Some(&owner.token)).await;
        assert_eq!(audit["data"].as_array().unwrap().len(), 3);

        // Another tenant's settings are its own.
        let other = app.user(&unique_email("other")).await;
        let (_, theirs) = app.get("/api/v1/settings", Some(&other.token)).await;
        assert_eq!((theirs["stripe_secret_key"].clone(), theirs["payments_enabled"].clone()), (Value::Null, json!(true)));
    }
}

crate::with_stripe! {
    async fn roles_read_masked_settings_and_only_admins_change_them(app: TestApp, double: StripeMock) {
        let _ = &double;
        let owner = app.user(&unique_email("roles")).await;
        patch(&app, &owner.token, json!({ "stripe_secret_key": STRIPE_KEY })).await;
        for (role, can_read, can_write) in [("owner", true, true), ("admin", true, true), ("developer", true, false), ("analyst", false, false), ("viewer", false, false)] {
            let (_, key) = app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": role, "role": role })).await;
            let secret = key["secret"].as_str().unwrap();
            let (status, body) = app.get("/api/v1/settings", Some(secret)).await;
            assert_eq!(status == StatusCode::OK, can_read, "{role} read: {body}");
            assert_no_secret("settings as a role", &body.to_string());
            let (status, body) = patch(&app, secret, json!({ "default_currency": "gbp" })).await;
            assert_eq!(status == StatusCode::OK, can_write, "{role} write: {body}");
            if !can_write {
                assert_eq!(status, StatusCode::FORBIDDEN);
            }
        }
    }
}

crate::with_stripe! {
    async fn tenant_webhook_secrets_verify_only_their_own_accounts_events_and_rotate(app: TestApp, double: StripeMock) {
        let _ = &double;
        let (t1, t2) = (app.user(&unique_email("t1")).await, app.user(&unique_email("t2")).await);
        app.execute(&format!("INSERT INTO stripe_accounts (account_id, tenant_id, created_at, updated_at) VALUES ('acct_one', '{}', 0, 0)", t1.tenant)).await;
        app.execute(&format!("INSERT INTO stripe_accounts (account_id, tenant_id, created_at, updated_at) VALUES ('acct_two', '{}', 0, 0)", t2.tenant)).await;
        patch(&app, &t1.token, json!({ "webhook_secrets": [HOOK_A] })).await;
        patch(&app, &t2.token, json!({ "webhook_secrets": [HOOK_B] })).await;

        assert_eq!(signed_event(&app, HOOK_A, "acct_one", "evt_t1_ok").await, StatusCode::OK);
        // Tenant two's secret cannot vouch for tenant one's account.
        assert_eq!(signed_event(&app, HOOK_B, "acct_one", "evt_t1_forged").await, StatusCode::BAD_REQUEST);
        assert_eq!(signed_event(&app, HOOK_A, "acct_unknown", "evt_nobody").await, StatusCode::BAD_REQUEST);
        // The platform secret still works for every account.
        assert_eq!(signed_event(&app, PLATFORM_SECRET, "acct_two", "evt_platform").await, StatusCode::OK);

        // Rotation: old and new both verify while both are stored.
        let new_secret = "whsec_tenantSecretCharlieCCC3333";
        let (_, rolled) = patch(&app, &t1.token, json!({ "webhook_secrets": ["whsec_…1111", new_secret] })).await;
        assert_eq!(rolled["webhook_secrets"], json!(["whsec_…1111", "whsec_…3333"]));
        assert_eq!(signed_event(&app, HOOK_A, "acct_one", "evt_old_during_roll").await, StatusCode::OK);
        assert_eq!(signed_event(&app, new_secret, "acct_one", "evt_new_during_roll").await, StatusCode::OK);
        patch(&app, &t1.token, json!({ "webhook_secrets": ["whsec_…3333"] })).await;
        assert_eq!(signed_event(&app, HOOK_A, "acct_one", "evt_old_after_roll").await, StatusCode::BAD_REQUEST);
        let rejected = app.query_strings("SELECT error FROM webhook_events WHERE status = 'rejected'").await;
        assert_eq!(rejected.len(), 3, "each rejection is audited: {rejected:?}");
    }
}

crate::with_stripe! {
    async fn switching_payments_off_stops_checkout_and_the_audit_log_records_money_moves(app: TestApp, double: StripeMock) {
        let owner = app.user(&unique_email("audit")).await;
        let (_, account) = app.call_with(Method::POST, "/api/v1/connect/accounts", Some(&owner.token), Some(json!({})), &[("Idempotency-Key", "acct")]).await;
        let account = account["account_id"].as_str().unwrap().to_owned();
        double.complete_onboarding(&account);
        app.get("/api/v1/connect/account", Some(&owner.token)).await;
        let checkout = json!({ "amount": 1500, "currency": "usd", "success_url": "https://s.example/ok", "cancel_url": "https://s.example/no" });

        patch(&app, &owner.token, json!({ "payments_enabled": false })).await;
        let (status, off) = app.call_with(Method::POST, "/api/v1/checkout-sessions", Some(&owner.token), Some(checkout.clone()), &[("Idempotency-Key", "c1")]).await;
        assert_eq!((status, off["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("payments_disabled")), "{off}");
        patch(&app, &owner.token, json!({ "payments_enabled": true })).await;
        let (status, on) = app.call_with(Method::POST, "/api/v1/checkout-sessions", Some(&owner.token), Some(checkout), &[("Idempotency-Key", "c2")]).await;
        assert_eq!(status, StatusCode::CREATED, "{on}");

        // The fixture payment arrives by webhook; a refund is asked for.
        for name in ["evt_fixture_001__payment_intent.created.json", "evt_fixture_002__charge.succeeded.json", "evt_fixture_003__payment_intent.succeeded.json"] {
            let path = format!("{}/tests/fixtures/stripe/events/{name}", env!("CARGO_MANIFEST_DIR"));
            let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            event["account"] = json!(account);
            let body = serde_json::to_vec(&event).unwrap();
            let header = header_for(PLATFORM_SECRET, time::OffsetDateTime::now_utc().unix_timestamp(), &body);
            assert!(app.client.post(app.url("/webhook")).header("Stripe-Signature", header).body(body).send().await.unwrap().status().is_success());
        }
        let (_, payments) = app.get("/api/v1/payments", Some(&owner.token)).await;
        let payment = payments["data"][0]["id"].as_str().unwrap().to_owned();
        let (status, _) = app.call_with(Method::POST, "/api/v1/refunds", Some(&owner.token), Some(json!({ "payment_id": payment, "amount": 900 })), &[("Idempotency-Key", "r1")]).await;
        assert_eq!(status, StatusCode::CREATED);

        let (status, log) = app.get("/api/v1/payment-audit-log", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        let actions: Vec<(String, String, String)> = log["data"].as_array().unwrap().iter()
            .map(|e| (e["action"].as_str().unwrap().to_owned(), e["actor_type"].as_str().unwrap().to_owned(), e["result"].as_str().unwrap().to_owned()))
            .collect();
        assert!(actions.contains(&("refund.create".into(), "user".into(), "succeeded".into())), "{actions:?}");
        assert!(actions.contains(&("checkout.create".into(), "user".into(), "succeeded".into())), "{actions:?}");
        assert!(actions.contains(&("webhook.capture".into(), "stripe".into(), "succeeded".into())), "{actions:?}");
        let refund = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "refund.create").unwrap();
        assert_eq!((refund["amount"].clone(), refund["payment_id"].clone(), refund["actor"].clone()), (json!(900), json!(payment), json!(owner.id)));

        let (_, refunds_only) = app.get("/api/v1/payment-audit-log?action=refund.*", Some(&owner.token)).await;
        assert!(refunds_only["data"].as_array().unwrap().iter().all(|e| e["action"].as_str().unwrap().starts_with("refund.")));
        let (_, by_payment) = app.get(&format!("/api/v1/payment-audit-log?payment_id={payment}"), Some(&owner.token)).await;
        assert!(by_payment["data"].as_array().unwrap().len() >= 2);

        let csv = app.client.get(app.url("/api/v1/payment-audit-log/export.csv")).bearer_auth(&owner.token).send().await.unwrap().text().await.unwrap();
        assert!(csv.starts_with("id,created_at,actor_type,actor,action,payment_id,amount,currency,result\n"), "{csv}");
        assert!(csv.contains("refund.create"));
        for field in csv.lines().flat_map(|l| l.split(',')) {
            for prefix in ["pi_", "ch_", "re_", "dp_", "acct_", "cus_", "cs_", "evt_"] {
                assert!(!field.starts_with(prefix), "the export contains a Stripe id ({field}): {csv}");
            }
        }
        let stranger = app.user(&unique_email("stranger")).await;
        let (_, theirs) = app.get("/api/v1/payment-audit-log", Some(&stranger.token)).await;
        assert_eq!(theirs["data"].as_array().unwrap().len(), 0);
    }
}
