//! API key secrets: shown once, never stored or listed, accepted in either header, dead on revoke.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;
use crate::support::{assert_error, list_data, Caller, Team};

/// Every column of `api_keys` (migrations/*/0001_foundation.sql).
const API_KEY_COLUMNS: &[&str] = &[
    "id", "tenant_id", "name", "role", "mode", "prefix", "last4", "key_hash", "created_by", "created_at", "last_used_at", "revoked_at",
];

/// Every stored value of `column` in `table`, as text (NULL as empty).
async fn column_values(app: &TestApp, table: &str, column: &str) -> Vec<String> {
    app.query_strings(&format!("SELECT COALESCE(CAST({column} AS TEXT), '') FROM {table}")).await
}

/// Calls with the key in `X-API-Key` and no `Authorization` header.
async fn with_x_api_key(app: &TestApp, secret: &str, method: Method, path: &str) -> (StatusCode, serde_json::Value) {
    app.call_with(method, path, None, None, &[("X-API-Key", secret)]).await
}

both_backends! {
    async fn the_secret_is_shown_once_and_never_stored_or_listed(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let mut secrets = Vec::new();
        for mode in ["test", "live"] {
            let (status, created) = team.founder().post(&app, "/api/v1/api-keys", json!({ "name": format!("{mode} key"), "role": "developer", "mode": mode })).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let secret = created["secret"].as_str().expect("the create response carries the secret").to_owned();
            let scheme = format!("sk_{mode}_");
            assert!(secret.starts_with(&scheme), "{secret}");
            assert!(secret.len() >= scheme.len() + 24, "a secret with too little randomness: {secret}");
            assert_eq!(created["mode"], mode);
            assert_eq!(created["prefix"].as_str().unwrap(), &secret[..scheme.len() + 4], "the prefix is the secret's start");
            assert_eq!(created["last4"].as_str().unwrap(), &secret[secret.len() - 4..], "last4 is the secret's end");
            assert!(created["id"].as_str().unwrap().starts_with("key_"), "{created}");
            secrets.push((secret, scheme));
        }

        // Listed without the secret, by the founder and by a key.
        let key_caller = Caller::key("test key", &secrets[0].0);
        for caller in [team.founder(), key_caller] {
            let (status, body) = caller.get(&app, "/api/v1/api-keys").await;
            let keys = list_data(status, &body);
            assert_eq!(keys.len(), 2, "{body}");
            for key in &keys {
                assert!(key.get("secret").is_none(), "a listed key has a secret field: {key}");
            }
            for (secret, scheme) in &secrets {
                assert!(!body.to_string().contains(&secret[scheme.len()..]), "the listing shows a secret: {body}");
            }
        }

        // At rest: no column of api_keys holds the secret, nor its random part without the scheme.
        for column in API_KEY_COLUMNS {
            let values = column_values(&app, "api_keys", column).await;
            assert_eq!(values.len(), 2, "{column}: {values:?}");
            for (secret, scheme) in &secrets {
                let random = &secret[scheme.len()..];
                for value in &values {
                    assert!(!value.contains(random), "api_keys.{column} stores the secret: {value}");
                }
            }
        }
        for hash in column_values(&app, "api_keys", "key_hash").await {
            assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "key_hash is not a SHA-256 hex digest: {hash}");
        }
        // Nor did the secret travel into the event log (api_key.created is published).
        let mut event_texts = column_values(&app, "events", "payload").await;
        event_texts.extend(column_values(&app, "events", "metadata").await);
        assert!(!event_texts.is_empty(), "expected events about the keys");
        for (secret, scheme) in &secrets {
            let random = &secret[scheme.len()..];
            assert!(event_texts.iter().all(|t| !t.contains(random)), "an event stores the secret: {event_texts:?}");
        }
    }
}

both_backends! {
    async fn both_headers_authenticate_and_a_revoked_key_is_refused_at_once(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let key = team.create_key(&app, "two headers", "admin").await;

        let (status, body) = Caller::key("bearer", &key.secret).get(&app, "/api/v1/tenant").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["id"].as_str(), body["role"].as_str()), (Some(team.tenant.as_str()), Some("admin")));
        let (status, body) = with_x_api_key(&app, &key.secret, Method::GET, "/api/v1/tenant").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["id"].as_str(), body["role"].as_str()), (Some(team.tenant.as_str()), Some("admin")));

        // Use is recorded.
        let listed = team.keys(&app).await;
        assert!(!listed[0]["last_used_at"].is_null(), "{listed:?}");

        // A secret that is almost right is not a secret.
        let mut tampered = key.secret.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'a' { 'b' } else { 'a' });
        let (status, body) = Caller::key("tampered", &tampered).get(&app, "/api/v1/tenant").await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "api_key_invalid");
        let (status, body) = with_x_api_key(&app, &tampered, Method::GET, "/api/v1/tenant").await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "api_key_invalid");
        let (status, body) = with_x_api_key(&app, "not-a-key", Method::GET, "/api/v1/tenant").await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "api_key_invalid");

        // Revoked: refused at once, in either header, for reads and writes.
        let (status, revoked) = team.founder().delete(&app, &format!("/api/v1/api-keys/{}", key.id)).await;
        assert_eq!(status, StatusCode::OK, "{revoked}");
        assert!(!revoked["revoked_at"].is_null(), "{revoked}");
        assert!(revoked.get("secret").is_none(), "{revoked}");
        let (status, body) = Caller::key("bearer", &key.secret).get(&app, "/api/v1/tenant").await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "api_key_invalid");
        let (status, body) = with_x_api_key(&app, &key.secret, Method::GET, "/api/v1/members").await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "api_key_invalid");
        let (status, body) = Caller::key("bearer", &key.secret).post(&app, "/api/v1/api-keys", json!({ "name": "zombie" })).await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "api_key_invalid");

        // Revoking again changes nothing.
        let (status, again) = team.founder().delete(&app, &format!("/api/v1/api-keys/{}", key.id)).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["revoked_at"], revoked["revoked_at"]);
        assert_eq!(team.keys(&app).await.len(), 1, "the zombie key must not exist");
    }
}

both_backends! {
    async fn a_key_that_revokes_itself_stops_working(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let key = team.create_key(&app, "self-revoking", "developer").await;
        let caller = Caller::key("developer key", &key.secret);
        let (status, body) = caller.delete(&app, &format!("/api/v1/api-keys/{}", key.id)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = caller.get(&app, "/api/v1/tenant").await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "api_key_invalid");
    }
}
