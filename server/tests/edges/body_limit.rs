//! `PAYBUS_BODY_LIMIT_BYTES`: a larger body is a 413 with the error object, whether its length is
//! declared (`Content-Length`) or not (chunked), on every kind of endpoint, and writes nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{TestApp, PASSWORD},
    support::{assert_error, login_fn_path, mailbox, row_counts, send_chunked, send_text},
};

const LIMIT: usize = 1024;

/// Valid JSON of exactly `size` bytes: the object padded with whitespace, so the limit is the
/// only thing wrong with it.
fn padded(value: &Value, size: usize) -> String {
    let text = value.to_string();
    let open = &text[..text.len() - 1];
    assert!(open.len() < size, "the value alone is {} bytes", text.len());
    format!("{open}{}}}", " ".repeat(size - open.len() - 1))
}

fn assert_too_large(status: u16, body: &Value, what: &str) {
    let status = StatusCode::from_u16(status).unwrap();
    let error = assert_error(status, body, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", "payload_too_large");
    assert!(error["message"].as_str().unwrap().contains(&LIMIT.to_string()), "{what}: the message names the limit: {body}");
}

both_backends_with! {
    env = vec![("PAYBUS_BODY_LIMIT_BYTES", LIMIT.to_string())];
    async fn a_body_over_the_limit_with_a_content_length_is_a_413_and_writes_nothing(app: TestApp) {
        let user = app.user(&unique_email("big")).await;
        let before = row_counts(&app).await;
        let mail_before = mailbox(&app).await.len();
        let fresh = unique_email("big-fresh");
        let cases = [
            ("/api/v1/signup", json!({ "email": fresh, "password": PASSWORD })),
            ("/api/v1/login", json!({ "email": user.email, "password": PASSWORD })),
            ("/api/v1/tenants", json!({ "name": "Big" })),
            ("/api/v1/invitations", json!({ "email": "big-invitee@example.com", "role": "viewer" })),
            ("/api/v1/api-keys", json!({ "name": "big" })),
            ("/api/v1/logout", json!({ "refresh_token": user.refresh })),
        ];
        for (path, value) in &cases {
            for size in [LIMIT + 1, 64 * 1024] {
                let res = app
                    .client
                    .post(app.url(path))
                    .bearer_auth(&user.token)
                    .header("content-type", "application/json")
                    .body(padded(value, size))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
                assert_too_large(status, &body, path);
            }
        }
        // The same request dashboards send: a form post to a server function.
        let res = app
            .client
            .post(app.url(login_fn_path()))
            .header("origin", &app.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("email={}&password={}&pad={}", user.email, PASSWORD, "x".repeat(LIMIT)))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert_too_large(status, &res.json().await.unwrap(), "server function");

        assert_eq!(row_counts(&app).await, before, "an oversized request wrote something");
        assert_eq!(mailbox(&app).await.len(), mail_before);
        assert!(!app.query_strings("SELECT email FROM users").await.contains(&fresh));

        // Exactly at the limit is still accepted (the login is refused for its password only).
        let at_limit = padded(&json!({ "email": user.email, "password": "not the password" }), LIMIT);
        assert_eq!(at_limit.len(), LIMIT);
        let (status, body) = send_text(&app, reqwest::Method::POST, "/api/v1/login", None, Some("application/json"), &at_limit).await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "authentication_error", "invalid_credentials");
    }
}

both_backends_with! {
    env = vec![("PAYBUS_BODY_LIMIT_BYTES", LIMIT.to_string())];
    async fn a_chunked_body_over_the_limit_is_a_413_and_writes_nothing(app: TestApp) {
        let user = app.user(&unique_email("chunked")).await;
        let before = row_counts(&app).await;
        let mail_before = mailbox(&app).await.len();
        let fresh = unique_email("chunked-fresh");
        let auth = format!("Bearer {}", user.token);
        let json_headers = [("content-type", "application/json"), ("authorization", auth.as_str())];
        let cases = [
            ("/api/v1/signup", json!({ "email": fresh, "password": PASSWORD })),
            ("/api/v1/login", json!({ "email": user.email, "password": PASSWORD })),
            ("/api/v1/tenants", json!({ "name": "Chunky" })),
            ("/api/v1/invitations", json!({ "email": "chunky@example.com", "role": "viewer" })),
            ("/api/v1/api-keys", json!({ "name": "chunky" })),
            // Reads its body as raw bytes, not through the JSON extractor.
            ("/api/v1/logout", json!({ "refresh_token": user.refresh })),
        ];
        for (path, value) in &cases {
            let res = send_chunked(&app, "POST", path, &json_headers, padded(value, 3 * LIMIT).as_bytes(), 256).await;
            assert!(res.header("content-length").is_some() || res.header("transfer-encoding").is_some(), "{res:?}");
            assert_too_large(res.status, &res.json(), path);
        }
        // A server function reads its own body: the limit must hold there too.
        let form = format!("email={}&password={}&pad={}", user.email, PASSWORD, "x".repeat(3 * LIMIT));
        let origin = app.base.clone();
        let form_headers = [("content-type", "application/x-www-form-urlencoded"), ("origin", origin.as_str())];
        let res = send_chunked(&app, "POST", login_fn_path(), &form_headers, form.as_bytes(), 256).await;
        assert_too_large(res.status, &res.json(), "server function");

        assert_eq!(row_counts(&app).await, before, "an oversized chunked request wrote something");
        assert_eq!(mailbox(&app).await.len(), mail_before);

        // The same requests under the limit go through: the refusals were about size alone.
        let res = send_chunked(&app, "POST", "/api/v1/signup", &json_headers, padded(&cases[0].1, LIMIT / 2).as_bytes(), 64).await;
        assert_eq!(res.status, 201, "{res:?}");
        assert!(app.query_strings("SELECT email FROM users").await.contains(&fresh));
        let small_form = format!("email={}&password={}", user.email, PASSWORD);
        let res = send_chunked(&app, "POST", login_fn_path(), &form_headers, small_form.as_bytes(), 16).await;
        assert!(res.status < 400, "a small chunked server-function call works: {res:?}");
    }
}
