//! The Mailgun transport against an HTTP double of `POST /v3/{domain}/messages`.

use std::{
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    routing::post,
    Router,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{unique_email, Backend, Spawn, TestApp, PASSWORD},
    support::{assert_error, six_digit_code},
};

const API_KEY: &str = "key-0123456789abcdef-test";
const DOMAIN: &str = "mg.paybus.example";
const FROM: &str = "paybus <no-reply@mg.paybus.example>";

/// One request the double received.
#[derive(Debug, Clone)]
struct Received {
    domain: String,
    user: String,
    key: String,
    content_type: String,
    form: Vec<(String, String)>,
}

impl Received {
    fn field(&self, name: &str) -> &str {
        let values: Vec<&str> = self.form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
        assert_eq!(values.len(), 1, "exactly one `{name}` field: {:?}", self.form);
        values[0]
    }
}

#[derive(Clone)]
struct Double {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl Double {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

async fn messages(State(double): State<Double>, Path(domain): Path<String>, headers: HeaderMap, body: String) -> (axum::http::StatusCode, axum::Json<Value>) {
    let (user, key) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(base64_decode)
        .and_then(|decoded| decoded.split_once(':').map(|(u, k)| (u.to_owned(), k.to_owned())))
        .unwrap_or_default();
    // `application/x-www-form-urlencoded`, decoded by the URL parser's query rules.
    let form = reqwest::Url::parse(&format!("http://double/?{body}")).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    double.received.lock().unwrap().push(Received { domain, user, key, content_type, form });
    let status = axum::http::StatusCode::from_u16(double.status.load(Ordering::SeqCst)).unwrap();
    if status.is_success() {
        let id = format!("<{}@{DOMAIN}>", uuid::Uuid::new_v4().simple());
        (status, axum::Json(json!({ "id": id, "message": "Queued. Thank you." })))
    } else {
        (status, axum::Json(json!({ "message": "Internal error" })))
    }
}

/// Starts the double on a random port; returns it and its base URL.
async fn spawn_double() -> (Double, String) {
    let double = Double { received: Arc::default(), status: Arc::new(AtomicU16::new(200)) };
    let router = Router::new().route("/v3/{domain}/messages", post(messages)).with_state(double.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (double, base)
}

async fn spawn_app(backend: Backend, api_base: &str) -> Option<TestApp> {
    TestApp::spawn_with(Spawn {
        backend,
        env: vec![
            ("PAYBUS_MAIL_TRANSPORT", "mailgun".into()),
            ("PAYBUS_MAILGUN_API_KEY", API_KEY.into()),
            ("PAYBUS_MAILGUN_DOMAIN", DOMAIN.into()),
            ("PAYBUS_MAILGUN_API_BASE", api_base.into()),
            ("PAYBUS_MAIL_FROM", FROM.into()),
        ],
    })
    .await
}

/// Standard base64 (the `Authorization: Basic` payload).
fn base64_decode(input: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in input.trim().bytes().filter(|&c| c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|&a| a == c)? as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

macro_rules! for_both {
    ($name:ident, $scenario:path) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $scenario(Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $scenario(Backend::Postgres).await
            }
        }
    };
}

async fn delivers_the_verification_mail(backend: Backend) {
    let (double, base) = spawn_double().await;
    let Some(app) = spawn_app(backend, &base).await else { return };
    let email = unique_email("mailgun");
    let (status, body) = app.post("/api/v1/signup", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let received = double.received();
    assert_eq!(received.len(), 1, "exactly one message: {received:?}");
    let message = &received[0];
    assert_eq!(message.domain, DOMAIN);
    assert_eq!(message.user, "api", "basic auth user");
    assert_eq!(message.key, API_KEY, "basic auth password is the API key");
    assert!(message.content_type.starts_with("application/x-www-form-urlencoded"), "{}", message.content_type);
    assert_eq!(message.field("to"), email);
    assert_eq!(message.field("from"), FROM);
    let text = message.field("text");
    let code = six_digit_code(text).unwrap_or_else(|| panic!("no six-digit code in: {text}"));
    assert!(message.field("subject").contains(&code), "{}", message.field("subject"));
    let token = text.split("/verify-email?token=").nth(1).unwrap_or_else(|| panic!("no verification link in: {text}"));
    let token = token.split_whitespace().next().unwrap();
    assert!(token.starts_with("ev_") && token.len() > 20, "{token}");

    // Nothing kept in the dev mailbox, and its endpoint does not exist under Mailgun.
    let (status, body) = app.get("/api/v1/dev/mailbox", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "invalid_request_error", "resource_missing");
    assert!(app.query_strings("SELECT id FROM dev_mailbox").await.is_empty());

    // The mailed code verifies the account.
    let (status, user) = app.post("/api/v1/verify-email-code", None, json!({ "email": email, "code": code })).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["email_verified"], true);
    let (status, tokens) = app.post("/api/v1/login", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(double.received().len(), 1, "verifying sends nothing more");
}

for_both!(mailgun_receives_the_verification_mail_and_its_code_verifies, delivers_the_verification_mail);

async fn survives_a_failing_mailgun(backend: Backend) {
    let (double, base) = spawn_double().await;
    double.answer_with(500);
    let Some(app) = spawn_app(backend, &base).await else { return };
    let email = unique_email("mailgun-down");
    let (status, body) = app.post("/api/v1/signup", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(status, StatusCode::CREATED, "a mail failure must not fail the signup: {body}");
    assert_eq!(double.received().len(), 1, "the server tried to send");
    assert_eq!(app.query_strings("SELECT email FROM users").await, vec![email.clone()]);

    // Resending while Mailgun still fails is accepted, not a 5xx.
    let (status, body) = app.post("/api/v1/verify-email/resend", None, json!({ "email": email })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(double.received().len(), 2);

    // Once Mailgun recovers, a resend delivers a code that works.
    double.answer_with(200);
    let (status, body) = app.post("/api/v1/verify-email/resend", None, json!({ "email": email })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let received = double.received();
    assert_eq!(received.len(), 3);
    let code = six_digit_code(received[2].field("text")).unwrap();
    let (status, user) = app.post("/api/v1/verify-email-code", None, json!({ "email": email, "code": code })).await;
    assert_eq!(status, StatusCode::OK, "{user}");
}

for_both!(a_mailgun_error_does_not_fail_signup_and_a_resend_recovers, survives_a_failing_mailgun);

async fn survives_an_unreachable_mailgun(backend: Backend) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(app) = spawn_app(backend, &format!("http://127.0.0.1:{port}")).await else { return };
    let email = unique_email("mailgun-gone");
    let signup = app.post("/api/v1/signup", None, json!({ "email": email, "password": PASSWORD }));
    let (status, body) = tokio::time::timeout(Duration::from_secs(20), signup).await.expect("signup does not hang on the mail API");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.get("/api/v1/dev/mailbox", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

for_both!(an_unreachable_mailgun_does_not_fail_signup, survives_an_unreachable_mailgun);
