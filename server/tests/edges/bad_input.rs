//! Bad input gets the Stripe-style error object with the right status and code, and writes
//! nothing: no row in any table, no mail.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    both_backends,
    helpers::TestApp,
    support::{assert_error, mailbox, row_counts, send_text as send_raw},
};

/// The write endpoints whose bodies these tests break, with a valid body for each.
fn write_endpoints(email: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("/api/v1/signup", json!({ "email": email, "password": crate::helpers::PASSWORD })),
        ("/api/v1/login", json!({ "email": email, "password": crate::helpers::PASSWORD })),
        ("/api/v1/verify-email-code", json!({ "email": email, "code": "123456" })),
        ("/api/v1/tenants", json!({ "name": "Acme" })),
        ("/api/v1/invitations", json!({ "email": "invitee@example.com", "role": "viewer" })),
        ("/api/v1/api-keys", json!({ "name": "ci" })),
    ]
}

both_backends! {
    async fn broken_json_and_a_missing_content_type_are_refused_and_write_nothing(app: TestApp) {
        let user = app.user(&unique_email("broken")).await;
        let before = row_counts(&app).await;
        let mail_before = mailbox(&app).await.len();
        let fresh = unique_email("fresh");

        for (path, valid) in write_endpoints(&fresh) {
            let text = valid.to_string();
            // Cut off mid-document, trailing garbage, not JSON at all.
            for broken in [&text[..text.len() - 3], &format!("{text}}}"), "email=a@b.c&password=x", ""] {
                let (status, body) = send_raw(&app, Method::POST, path, Some(&user.token), Some("application/json"), broken).await;
                let error = assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request_error", "json_invalid");
                assert!(error["message"].as_str().unwrap().contains("JSON"), "{path}: {body}");
            }
            // Valid JSON, but not declared as JSON: a 400 that says what to send (never a bare 415).
            for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
                let (status, body) = send_raw(&app, Method::POST, path, Some(&user.token), content_type, &text).await;
                let error = assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request_error", "content_type_invalid");
                assert!(error["message"].as_str().unwrap().contains("application/json"), "{path}: {body}");
            }
        }

        assert_eq!(row_counts(&app).await, before, "a refused request wrote something");
        assert_eq!(mailbox(&app).await.len(), mail_before, "a refused request sent mail");
        assert!(!app.query_strings("SELECT email FROM users").await.contains(&fresh));
    }
}

both_backends! {
    async fn signup_validates_every_field_and_writes_nothing(app: TestApp) {
        let ok = unique_email("valid");
        let password = crate::helpers::PASSWORD;
        let cases: Vec<(Value, StatusCode, &str, Option<&str>)> = vec![
            (json!({ "email": "not-an-email", "password": password }), StatusCode::BAD_REQUEST, "email_invalid", Some("email")),
            (json!({ "email": "two@@example.com", "password": password }), StatusCode::BAD_REQUEST, "email_invalid", Some("email")),
            (json!({ "email": "", "password": password }), StatusCode::BAD_REQUEST, "email_invalid", Some("email")),
            (json!({ "email": ok, "password": "short" }), StatusCode::UNPROCESSABLE_ENTITY, "password_too_weak", Some("password")),
            (json!({ "email": ok, "password": "password123" }), StatusCode::UNPROCESSABLE_ENTITY, "password_too_weak", Some("password")),
            (json!({ "email": ok, "password": "aaaaaaaaaaaaaaaa" }), StatusCode::UNPROCESSABLE_ENTITY, "password_too_weak", Some("password")),
            (json!({ "email": ok, "password": "x".repeat(10) + &"y".repeat(200) }), StatusCode::UNPROCESSABLE_ENTITY, "password_too_weak", Some("password")),
            (json!({ "email": ok, "password": password, "tenant_name": "   " }), StatusCode::BAD_REQUEST, "parameter_missing", Some("tenant_name")),
            (json!({ "email": ok, "password": password, "tenant_name": "x".repeat(101) }), StatusCode::BAD_REQUEST, "parameter_invalid", Some("tenant_name")),
            (json!({ "email": ok, "password": password, "tenant_name": "a\u{7}b" }), StatusCode::BAD_REQUEST, "parameter_invalid", Some("tenant_name")),
        ];
        for (body, expected, code, param) in cases {
            let (status, answer) = app.post("/api/v1/signup", None, body.clone()).await;
            let error = assert_error(status, &answer, expected, "invalid_request_error", code);
            assert_eq!(error["param"].as_str(), param, "{body} → {answer}");
        }

        // Structural problems: unknown fields, wrong types, missing fields, not an object.
        let structural: Vec<(Value, &str)> = vec![
            (json!({ "email": ok, "password": password, "plan": "enterprise" }), "plan"),
            (json!({ "email": ok, "password": password, "is_admin": true }), "is_admin"),
            (json!({ "email": 5, "password": password }), "integer"),
            (json!({ "email": ok, "password": ["a", "b"] }), "sequence"),
            (json!({ "email": ok, "password": null }), "null"),
            (json!({ "email": ok, "password": password, "tenant_name": 7 }), "integer"),
            (json!({ "email": ok }), "password"),
            (json!({}), "email"),
            (json!([ok, password]), "expected struct"),
            (json!(null), "null"),
            (json!("signup"), "string"),
        ];
        for (body, mentioned) in structural {
            let (status, answer) = app.post("/api/v1/signup", None, body.clone()).await;
            let error = assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_request_error", "parameter_invalid");
            let message = error["message"].as_str().unwrap();
            assert!(message.contains(mentioned), "{body}: the message should name `{mentioned}`: {message}");
        }

        assert!(app.query_strings("SELECT email FROM users").await.is_empty(), "a refused signup created a user");
        assert!(app.query_strings("SELECT id FROM tenants").await.is_empty(), "a refused signup created a tenant");
        assert!(mailbox(&app).await.is_empty(), "a refused signup sent mail");
    }
}

both_backends! {
    async fn login_and_token_bodies_are_validated_without_side_effects(app: TestApp) {
        let user = app.user(&unique_email("login-bad")).await;
        let before = row_counts(&app).await;
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/api/v1/login", json!({ "email": user.email, "password": crate::helpers::PASSWORD, "remember_me": true }), "remember_me"),
            ("/api/v1/login", json!({ "email": user.email, "password": 1234567890 }), "integer"),
            ("/api/v1/login", json!({ "email": user.email }), "password"),
            ("/api/v1/login", json!({ "email": { "address": user.email }, "password": crate::helpers::PASSWORD }), "map"),
            ("/api/v1/token/refresh", json!({ "refresh_token": user.refresh, "scope": "all" }), "scope"),
            ("/api/v1/token/refresh", json!({ "refresh_token": 42 }), "integer"),
            ("/api/v1/verify-email-code", json!({ "email": user.email, "code": 123456 }), "integer"),
            ("/api/v1/verify-email/resend", json!({ "email": user.email, "force": true }), "force"),
        ];
        for (path, body, mentioned) in cases {
            let (status, answer) = app.post(path, None, body.clone()).await;
            let error = assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_request_error", "parameter_invalid");
            assert!(error["message"].as_str().unwrap().contains(mentioned), "{path} {body}: should name `{mentioned}`: {answer}");
        }
        // The refresh token was never consumed by the refused requests: it still rotates.
        assert_eq!(row_counts(&app).await, before, "a refused request wrote something");
        let (status, body) = app.post("/api/v1/token/refresh", None, json!({ "refresh_token": user.refresh })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

both_backends! {
    async fn tenant_invitation_and_api_key_bodies_are_validated_and_write_nothing(app: TestApp) {
        let user = app.user(&unique_email("bodies")).await;
        let token = Some(user.token.as_str());
        let before = row_counts(&app).await;
        let mail_before = mailbox(&app).await.len();

        // (path, body, code, param, a word the message must contain)
        type Case<'a> = (&'a str, Value, &'a str, Option<&'a str>, Option<&'a str>);
        let cases: Vec<Case> = vec![
            ("/api/v1/tenants", json!({ "name": "" }), "parameter_missing", Some("name"), None),
            ("/api/v1/tenants", json!({ "name": "   \t " }), "parameter_missing", Some("name"), None),
            ("/api/v1/tenants", json!({ "name": "n".repeat(101) }), "parameter_invalid", Some("name"), None),
            ("/api/v1/tenants", json!({ "name": 42 }), "parameter_invalid", None, Some("integer")),
            ("/api/v1/tenants", json!({ "name": "Acme", "plan": "pro" }), "parameter_invalid", None, Some("plan")),
            ("/api/v1/tenants", json!({}), "parameter_invalid", None, Some("name")),
            ("/api/v1/tenant", json!({ "name": "" }), "parameter_missing", Some("name"), None),
            ("/api/v1/tenant", json!({ "name": "Acme", "owner": user.id }), "parameter_invalid", None, Some("owner")),
            ("/api/v1/me/default-tenant", json!({ "tenant_id": 5 }), "parameter_invalid", None, Some("integer")),
            ("/api/v1/invitations", json!({ "email": "not-an-email", "role": "viewer" }), "email_invalid", Some("email"), None),
            ("/api/v1/invitations", json!({ "email": "ok@example.com", "role": "emperor" }), "role_invalid", Some("role"), None),
            ("/api/v1/invitations", json!({ "email": "ok@example.com", "role": "viewer", "message": "hi" }), "parameter_invalid", None, Some("message")),
            ("/api/v1/invitations", json!({ "email": ["ok@example.com"], "role": "viewer" }), "parameter_invalid", None, Some("sequence")),
            ("/api/v1/invitations", json!({ "email": "ok@example.com" }), "parameter_invalid", None, Some("role")),
            ("/api/v1/api-keys", json!({ "name": "" }), "parameter_missing", Some("name"), None),
            ("/api/v1/api-keys", json!({ "name": "ci", "role": "god" }), "role_invalid", Some("role"), None),
            ("/api/v1/api-keys", json!({ "name": "ci", "mode": "prod" }), "parameter_invalid", Some("mode"), None),
            ("/api/v1/api-keys", json!({ "name": "ci", "scopes": ["all"] }), "parameter_invalid", None, Some("scopes")),
            ("/api/v1/api-keys", json!({ "name": true }), "parameter_invalid", None, Some("boolean")),
            ("/api/v1/members/usr_doesnotexist", json!({ "role": "root" }), "role_invalid", Some("role"), None),
            ("/api/v1/members/usr_doesnotexist", json!({ "role": "viewer", "force": true }), "parameter_invalid", None, Some("force")),
        ];
        for (path, body, code, param, mentioned) in cases {
            let (status, answer) = app.post(path, token, body.clone()).await;
            let error = assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_request_error", code);
            if let Some(param) = param {
                assert_eq!(error["param"], param, "{path} {body}: {answer}");
            }
            if let Some(word) = mentioned {
                assert!(error["message"].as_str().unwrap().contains(word), "{path} {body}: should name `{word}`: {answer}");
            }
        }

        assert_eq!(row_counts(&app).await, before, "a refused request wrote something");
        assert_eq!(mailbox(&app).await.len(), mail_before, "a refused invitation sent mail");
        let names = app.query_strings("SELECT name FROM tenants").await;
        assert_eq!(names.len(), 1, "{names:?}");
    }
}

both_backends! {
    async fn malformed_or_unknown_ids_in_paths_are_not_found(app: TestApp) {
        let user = app.user(&unique_email("ids")).await;
        let token = Some(user.token.as_str());
        let before = row_counts(&app).await;
        let cases: Vec<(Method, &str, Option<Value>)> = vec![
            (Method::DELETE, "/api/v1/api-keys/not-an-id", None),
            (Method::DELETE, "/api/v1/api-keys/key_", None),
            (Method::DELETE, "/api/v1/api-keys/key_0000000000000000000000", None),
            (Method::DELETE, "/api/v1/api-keys/usr_0000000000000000000000", None),
            (Method::DELETE, "/api/v1/api-keys/%27%20OR%201%3D1%20--", None),
            (Method::DELETE, "/api/v1/invitations/not-an-id", None),
            (Method::DELETE, "/api/v1/invitations/inv_0000000000000000000000", None),
            (Method::DELETE, "/api/v1/members/not-an-id", None),
            (Method::DELETE, "/api/v1/members/usr_0000000000000000000000", None),
            (Method::POST, "/api/v1/members/not-an-id", Some(json!({ "role": "viewer" }))),
            (Method::POST, "/api/v1/members/usr_0000000000000000000000", Some(json!({ "role": "viewer" }))),
        ];
        for (method, path, body) in cases {
            let (status, answer) = app.call(method.clone(), path, token, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
            assert_error(status, &answer, StatusCode::NOT_FOUND, "invalid_request_error", "resource_missing");
        }
        // The owner, addressed by its real id, is still there: nothing was removed on the way.
        let (status, members) = app.get("/api/v1/members", token).await;
        assert_eq!(status, StatusCode::OK, "{members}");
        assert_eq!(members["data"].as_array().unwrap().len(), 1, "{members}");
        assert_eq!(row_counts(&app).await, before);
    }
}

both_backends! {
    async fn unknown_endpoints_are_json_not_found_errors(app: TestApp) {
        let user = app.user(&unique_email("nowhere")).await;
        for (method, path) in [
            (Method::GET, "/api/v1/nope"),
            (Method::POST, "/api/v1/nope"),
            (Method::DELETE, "/api/v1/tenants/ten_x/everything"),
            (Method::GET, "/api/v1/signup/extra"),
            (Method::GET, "/api/v1/api-keys/key_x/reveal"),
        ] {
            let res = app.client.request(method.clone(), app.url(path)).bearer_auth(&user.token).json(&json!({})).send().await.unwrap();
            let status = res.status();
            assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{method} {path}");
            let body: Value = res.json().await.unwrap();
            assert_error(status, &body, StatusCode::NOT_FOUND, "invalid_request_error", "resource_missing");
        }
        // A known path with a wrong method is a 405, also as the error object.
        let (status, body) = app.get("/api/v1/api-keys/key_x", Some(&user.token)).await;
        assert_error(status, &body, StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error", "method_not_allowed");
        // Bad query parameters are 400s with the error object too.
        for query in ["limit=abc", "limit=0", "limit=101", "limit=-1", "colour=red"] {
            let (status, body) = app.get(&format!("/api/v1/api-keys?{query}"), Some(&user.token)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            assert_eq!(body["error"]["type"], "invalid_request_error", "{query}: {body}");
        }
    }
}

/// An id that is not UTF-8 once percent-decoded cannot name an object: the same 404 every other
/// bad id gets, with the error object (axum's own rejection would be a plain-text 400).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_ids_in_paths_get_the_error_object() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await.unwrap();
    let user = app.user(&crate::helpers::unique_email("utf8")).await;
    for (method, path) in [(Method::DELETE, "/api/v1/api-keys/%FF%FE"), (Method::DELETE, "/api/v1/invitations/%C3%28"), (Method::DELETE, "/api/v1/members/%FF")] {
        let (status, answer) = app.call(method.clone(), path, Some(&user.token), None).await;
        assert_error(status, &answer, StatusCode::NOT_FOUND, "invalid_request_error", "resource_missing");
    }
}
