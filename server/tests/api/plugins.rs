//! Plugins per tenant: listed with schema, health and counts; switched and configured through
//! the schema (secrets sealed at rest, masked in answers, kept by their mask); one tenant's
//! settings never show in another's; roles; the change published on the bus.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

const CHAT_URL: &str = "https://hooks.chat.example/services/T0001/B0001/SuperSecretToken9876";

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

async fn put(app: &TestApp, token: &str, name: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::PUT, &format!("/api/v1/plugins/{name}"), Some(token), Some(body)).await
}

crate::both_backends! {
    async fn every_built_in_plugin_is_listed_with_its_schema_health_and_switch(app: TestApp) {
        let owner = app.user(&unique_email("plugins")).await;
        let (status, list) = app.get("/api/v1/plugins", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["object"], "list");
        let names: Vec<&str> = list["data"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        for expected in ["audit-log", "email-notifications", "chat-alerts", "crm-activity", "analytics"] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        for p in list["data"].as_array().unwrap() {
            assert_eq!(p["object"], "plugin");
            assert!(p["version"].as_str().is_some_and(|v| !v.is_empty()), "{p}");
            assert!(["healthy", "unconfigured", "unhealthy"].contains(&p["health"]["status"].as_str().unwrap()), "{p}");
            assert_eq!(p["enabled"], p["default_enabled"], "an untouched plugin follows its default: {p}");
        }
        let (status, chat) = app.get("/api/v1/plugins/chat-alerts", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK);
        let url_field = chat["fields"].as_array().unwrap().iter().find(|f| f["key"] == "webhook_url").expect("chat has a webhook_url field");
        assert_eq!(url_field["secret"], true);

        let (status, body) = app.get("/api/v1/plugins/no-such-plugin", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");
    }
}

crate::both_backends! {
    async fn configuration_is_checked_sealed_masked_and_kept_by_its_mask(app: TestApp) {
        let owner = app.user(&unique_email("plugins")).await;

        // On without its required URL: refused, naming the field; nothing stored.
        let (status, body) = put(&app, &owner.token, "chat-alerts", json!({ "enabled": true })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "plugin_config_invalid", "{body}");
        assert_eq!(body["error"]["param"], "config.webhook_url");
        let (status, body) = put(&app, &owner.token, "chat-alerts", json!({ "config": { "webhook_url": CHAT_URL, "colour": "red" } })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "plugin_config_invalid");
        assert_eq!(body["error"]["param"], "config.colour");
        let (status, body) = put(&app, &owner.token, "chat-alerts", json!({ "config": { "webhook_url": "ftp://files.example" } })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "plugin_config_invalid");
        let (status, body) = put(&app, &owner.token, "chat-alerts", json!({ "enabled": "yes" })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        let (status, on) = put(&app, &owner.token, "chat-alerts", json!({ "enabled": true, "config": { "webhook_url": CHAT_URL } })).await;
        assert_eq!(status, StatusCode::OK, "{on}");
        assert_eq!(on["enabled"], true);
        let masked = on["config"]["webhook_url"].as_str().unwrap().to_owned();
        assert!(!masked.contains("SuperSecretToken"), "answer leaks the secret: {on}");
        let stored = app.query_strings("SELECT config || '|' || COALESCE(secrets, '') FROM tenant_plugins WHERE plugin = 'chat-alerts'").await;
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].contains("SuperSecretToken"), "secret stored in the clear: {}", stored[0]);

        // The mask sent back (as a form does) keeps the secret; other fields change.
        let (status, kept) = put(&app, &owner.token, "chat-alerts", json!({ "config": { "webhook_url": masked, "events": ["dispute.*"] } })).await;
        assert_eq!(status, StatusCode::OK, "{kept}");
        assert_eq!(kept["config"]["webhook_url"], on["config"]["webhook_url"]);
        assert_eq!(kept["config"]["events"], json!(["dispute.*"]));

        // Switching off never needs a valid configuration.
        let (status, off) = put(&app, &owner.token, "chat-alerts", json!({ "enabled": false })).await;
        assert_eq!((status, off["enabled"].clone()), (StatusCode::OK, json!(false)));

        // The changes are events on the bus.
        let (_, events) = app.get("/api/v1/events?pattern=plugin.*&limit=20", Some(&owner.token)).await;
        let types: Vec<&str> = events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        for expected in ["plugin.enabled", "plugin.configured", "plugin.disabled"] {
            assert!(types.contains(&expected), "{expected} not published: {types:?}");
        }
    }
}

crate::both_backends! {
    async fn one_tenants_settings_never_show_in_another(app: TestApp) {
        let a = app.user(&unique_email("plugins-a")).await;
        let b = app.user(&unique_email("plugins-b")).await;
        let (status, _) = put(&app, &a.token, "chat-alerts", json!({ "enabled": true, "config": { "webhook_url": CHAT_URL } })).await;
        assert_eq!(status, StatusCode::OK);
        let (_, seen_by_b) = app.get("/api/v1/plugins/chat-alerts", Some(&b.token)).await;
        assert_eq!(seen_by_b["enabled"], false);
        assert!(seen_by_b["config"].get("webhook_url").is_none_or(Value::is_null), "{seen_by_b}");
        // B cannot reach A's tenant at all.
        let (status, _) = app.call_with(Method::GET, "/api/v1/plugins/chat-alerts", Some(&b.token), None, &[("X-Tenant-Id", &a.tenant)]).await;
        assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND, "{status}");
    }
}

crate::both_backends! {
    async fn analysts_read_plugins_and_only_admins_change_or_test_them(app: TestApp) {
        let owner = app.user(&unique_email("plugins")).await;
        let as_tenant = [("X-Tenant-Id", owner.tenant.as_str())];
        for (role, may_read, may_manage) in [("admin", true, true), ("developer", true, false), ("analyst", true, false), ("viewer", false, false)] {
            let user = member(&app, &owner, role).await;
            let (status, _) = app.call_with(Method::GET, "/api/v1/plugins", Some(&user.token), None, &as_tenant).await;
            assert_eq!(status == StatusCode::OK, may_read, "{role} read: {status}");
            let (status, body) = app.call_with(Method::PUT, "/api/v1/plugins/audit-log", Some(&user.token), Some(json!({ "enabled": false })), &as_tenant).await;
            assert_eq!(status == StatusCode::OK, may_manage, "{role} manage: {status} {body}");
            if !may_manage {
                assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "insufficient_role");
            }
            let (status, _) = app.call_with(Method::POST, "/api/v1/plugins/audit-log/test", Some(&user.token), Some(json!({})), &as_tenant).await;
            assert_eq!(status == StatusCode::OK, may_manage, "{role} test: {status}");
        }
    }
}
