//! The harness: a server with a manual clock and a fast sender poll, a founder, and receivers —
//! axum servers on 127.0.0.1 that answer as scripted and remember every request.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::ssr::bus::ManualClock;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{unique_email, Backend, Spawn, TestApp, TestUser};

/// The server under test, its clock and a signed-up owner.
pub struct Harness {
    pub app: TestApp,
    pub clock: ManualClock,
    pub owner: TestUser,
}

/// Settings every webhook test runs with, plus its own.
pub async fn spawn(backend: Backend, allow_private: bool, extra: &[(&'static str, &str)]) -> Option<Harness> {
    let clock = ManualClock::starting_at(app::ssr::time_util::now_ms());
    let mut env: Vec<(&str, String)> = vec![("PAYBUS_WEBHOOK_POLL_MS", "25".into()), ("PAYBUS_BUS_POLL_MS", "100".into())];
    if allow_private {
        env.push(("PAYBUS_ALLOW_PRIVATE_WEBHOOK_TARGETS", "true".into()));
    }
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let app = TestApp::spawn_with_clock(Spawn { backend, env }, Arc::new(clock.clone())).await?;
    let owner = app.user(&unique_email("hooks")).await;
    Some(Harness { app, clock, owner })
}

/// Runs a webhook scenario on SQLite and on Postgres. `allow_private` lets the server send to the
/// tests' local receivers; `env` adds configuration.
#[macro_export]
macro_rules! webhook_test {
    ($(#[$meta:meta])* async fn $name:ident($h:ident: Harness) $(allow_private = $allow:expr;)? $(env = $env:expr;)? $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($h: $crate::support::Harness) $body

            fn allow() -> bool { $crate::or_default!(true; $($allow)?) }
            fn env() -> Vec<(&'static str, &'static str)> { $crate::or_default!(Vec::new(); $($env)?) }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::spawn($crate::helpers::Backend::Sqlite, allow(), &env()).await.unwrap()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(h) = $crate::support::spawn($crate::helpers::Backend::Postgres, allow(), &env()).await {
                    run(h).await
                }
            }
        }
    };
}

/// The given expression, or the default when none was given.
#[macro_export]
macro_rules! or_default {
    ($default:expr;) => { $default };
    ($default:expr; $given:expr) => { $given };
}

impl Harness {
    pub fn token(&self) -> &str {
        &self.owner.token
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, v) = self.app.get(path, Some(self.token())).await;
        (StatusCode::from_u16(s.as_u16()).unwrap(), v)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v) = self.app.post(path, Some(self.token()), body).await;
        (StatusCode::from_u16(s.as_u16()).unwrap(), v)
    }

    /// A POST without a body.
    pub async fn post_empty(&self, path: &str) -> (StatusCode, Value) {
        self.app.call(Method::POST, path, Some(self.token()), None).await
    }

    pub fn clock_now_secs(&self) -> i64 {
        use app::ssr::bus::Clock;
        self.clock.now_ms().div_euclid(1000)
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v) = self.app.call(Method::PATCH, path, Some(self.token()), Some(body)).await;
        (StatusCode::from_u16(s.as_u16()).unwrap(), v)
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let (s, v) = self.app.call(Method::DELETE, path, Some(self.token()), None).await;
        (StatusCode::from_u16(s.as_u16()).unwrap(), v)
    }

    /// Creates an endpoint; returns (endpoint, secret).
    pub async fn endpoint(&self, body: Value) -> (Value, String) {
        let (status, created) = self.post("/api/v1/webhook-endpoints", body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        (created["endpoint"].clone(), created["secret"].as_str().unwrap().to_owned())
    }

    /// Publishes an `api_key.created` event by creating a key; returns the key id.
    pub async fn key_event(&self) -> String {
        let (status, key) = self.post("/api/v1/api-keys", json!({ "name": format!("k {}", uuid::Uuid::new_v4().simple()) })).await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        key["id"].as_str().unwrap().to_owned()
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance_ms(d.as_millis() as i64);
    }

    pub async fn messages(&self, endpoint: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/webhook-endpoints/{endpoint}/messages?limit=100")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].as_array().unwrap().clone()
    }

    /// Attempts, oldest first.
    pub async fn attempts(&self, endpoint: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/webhook-endpoints/{endpoint}/attempts?limit=100")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut list = body["data"].as_array().unwrap().clone();
        list.reverse();
        list
    }

    /// Waits until `n` attempts to the endpoint are recorded: a receiver has a request before the
    /// sender has written its outcome (and planned the retry from the clock at that moment), so a
    /// test must not move the clock in between.
    pub async fn settled(&self, endpoint: &str, n: usize) {
        self.eventually(&format!("{n} recorded attempts"), || async { Value::Array(self.attempts(endpoint).await) }, |a| a.as_array().unwrap().len() >= n)
            .await;
    }

    pub async fn endpoint_state(&self, endpoint: &str) -> Value {
        let (status, body) = self.get(&format!("/api/v1/webhook-endpoints/{endpoint}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Polls `read` until `done` holds (10 s of real time at most).
    pub async fn eventually<F, Fut>(&self, what: &str, read: F, done: impl Fn(&Value) -> bool) -> Value
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Value>,
    {
        let started = Instant::now();
        loop {
            let v = read().await;
            if done(&v) {
                return v;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "timed out waiting for {what}; last: {v}");
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }
}

/// What a receiver answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    /// A status with extra headers (Retry-After, Location).
    With(u16, Vec<(&'static str, String)>),
    /// Sleeps (longer than the server's timeout), then answers.
    Slow(Duration, u16),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// The `v1` signatures in `webhook-signature` that `secret` produces, checked with the
    /// public algorithm: base64(HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}")).
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).expect("base64 secret");
        let signed = format!("{}.{}.{}", self.header("webhook-id"), self.header("webhook-timestamp"), self.body);
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(signed.as_bytes());
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signatures().contains(&expected)
    }

    pub fn signatures(&self) -> Vec<String> {
        self.header("webhook-signature").split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }
}

struct Script {
    answers: VecDeque<Answer>,
    otherwise: Answer,
    seen: Vec<Received>,
}

/// A local HTTP receiver. Answers come from a script, then `otherwise`.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    pub async fn start(answers: Vec<Answer>, otherwise: Answer) -> Receiver {
        let script = Arc::new(Mutex::new(Script { answers: answers.into(), otherwise, seen: Vec::new() }));
        let app = Router::new().fallback(receive).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { addr, script }
    }

    pub async fn ok() -> Receiver {
        Self::start(vec![], Answer::Status(200)).await
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    pub fn seen(&self) -> Vec<Received> {
        self.script.lock().unwrap().seen.clone()
    }

    pub fn count(&self) -> usize {
        self.script.lock().unwrap().seen.len()
    }

    /// Waits (real time, 15 s at most) until `n` requests have arrived; returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = Instant::now();
        while self.count() < n {
            assert!(started.elapsed() < Duration::from_secs(15), "expected {n} requests, got {}", self.count());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.seen()
    }

    /// Asserts that, after a pause, exactly `n` requests have arrived.
    pub async fn stays_at(&self, n: usize) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(self.count(), n, "unexpected requests: {:?}", self.seen().iter().map(|r| r.header("webhook-id")).collect::<Vec<_>>());
    }
}

async fn receive(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = {
        let mut s = script.lock().unwrap();
        s.seen.push(Received { headers, body: String::from_utf8_lossy(&body).into_owned() });
        let next = s.answers.pop_front();
        next.unwrap_or_else(|| s.otherwise.clone())
    };
    let (status, headers) = match answer {
        Answer::Status(s) => (s, vec![]),
        Answer::With(s, h) => (s, h),
        Answer::Slow(d, s) => {
            tokio::time::sleep(d).await;
            (s, vec![])
        }
    };
    let mut response = (StatusCode::from_u16(status).unwrap(), "receiver says hi").into_response();
    for (k, v) in headers {
        response.headers_mut().insert(HeaderName::from_static(k), HeaderValue::from_str(&v).unwrap());
    }
    response
}
