//! The black-box harness: every test gets the real server on a random port, against a fresh
//! SQLite file or a fresh Postgres database, and talks HTTP to it.

use std::time::Duration;

use app::ssr::config::{Config, Sources};
use paybus_server::startup::Application;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Admin connection for creating per-test databases.
pub fn postgres_admin_url() -> String {
    std::env::var("PAYBUS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub database_url: String,
    pub data_dir: std::path::PathBuf,
    pub client: Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pg_database: Option<String>,
}

pub struct Spawn<'a> {
    pub backend: Backend,
    pub env: Vec<(&'a str, String)>,
}

impl TestApp {
    /// `None` only when Postgres is unreachable outside CI (the skip is announced loudly).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(Spawn { backend, env: vec![] }).await
    }

    pub async fn spawn_with(spec: Spawn<'_>) -> Option<TestApp> {
        Self::spawn_with_clock(spec, std::sync::Arc::new(app::ssr::bus::SystemClock)).await
    }

    /// With a clock of the test's choosing (a `ManualClock` drives retries and leases).
    pub async fn spawn_with_clock(spec: Spawn<'_>, clock: std::sync::Arc<dyn app::ssr::bus::Clock>) -> Option<TestApp> {
        let data_dir = std::env::temp_dir().join(format!("paybus-test-{}", uuid::Uuid::new_v4().simple()));
        let (database_url, pg_database) = match spec.backend {
            Backend::Sqlite => (format!("sqlite://{}?mode=rwc", data_dir.join("paybus.db").display()), None),
            Backend::Postgres => {
                let name = format!("paybus_test_{}", uuid::Uuid::new_v4().simple());
                if let Err(e) = create_postgres_database(&name).await {
                    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                        panic!("Postgres is required in CI but unreachable at {}: {e}", postgres_admin_url());
                    }
                    eprintln!("\n!!!!! SKIPPING a Postgres test: cannot reach {} ({e}). Set PAYBUS_TEST_POSTGRES_URL. !!!!!\n", postgres_admin_url());
                    return None;
                }
                let base = postgres_admin_url();
                let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(&base).to_owned();
                (format!("{root}/{name}"), Some(name))
            }
        };
        let data_dir_s = data_dir.display().to_string();
        let mut pairs: Vec<(&str, String)> = vec![
            ("DATABASE_URL", database_url.clone()),
            ("PAYBUS_DATA_DIR", data_dir_s),
            ("PAYBUS_ADDR", "127.0.0.1:0".into()),
            ("PAYBUS_ARGON2_MEMORY_KIB", "1024".into()),
            ("PAYBUS_ARGON2_ITERATIONS", "1".into()),
            ("PAYBUS_DB_ACQUIRE_TIMEOUT_MS", "2000".into()),
            // Scenarios count the mail they cause; the welcome mail's own tests switch it on.
            ("PAYBUS_WELCOME_EMAIL", "false".into()),
        ];
        pairs.extend(spec.env);
        let config = Config::from_sources(&Sources::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))).expect("test config is valid");
        let app = Application::build_with(config, Vec::new(), clock).await.expect("the server starts");
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let client = Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Some(TestApp { base, backend: spec.backend, database_url, data_dir, client, shutdown: Some(tx), pg_database })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; `auth` is sent as `Authorization: Bearer …`.
    pub async fn call(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        self.call_with(method, path, auth, body, &[]).await
    }

    pub async fn call_with(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = auth {
            req = req.bearer_auth(token);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request reaches the server");
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    pub async fn get(&self, path: &str, auth: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, auth, None).await
    }

    pub async fn post(&self, path: &str, auth: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, auth, Some(body)).await
    }

    /// The newest six-digit code the dev mailbox holds for `email`.
    pub async fn verification_code(&self, email: &str) -> String {
        let (status, mail) = self.get("/api/v1/dev/mailbox?limit=100", None).await;
        assert_eq!(status, StatusCode::OK, "{mail}");
        let message = mail["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["to"] == email && m["subject"].as_str().unwrap().contains("verification code"))
            .unwrap_or_else(|| panic!("no verification mail for {email}: {mail}"));
        let subject = message["subject"].as_str().unwrap();
        subject.rsplit(' ').next().unwrap().to_owned()
    }

    /// The verification link's token for `email`, read from the mail body.
    pub async fn verification_token(&self, email: &str) -> String {
        let (_, mail) = self.get("/api/v1/dev/mailbox?limit=100", None).await;
        let body = mail["data"].as_array().unwrap().iter().find(|m| m["to"] == email).unwrap()["body"].as_str().unwrap().to_owned();
        body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
    }

    pub async fn signup(&self, email: &str) -> Value {
        let (status, body) = self.post("/api/v1/signup", None, json!({ "email": email, "password": PASSWORD })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Signs up, verifies by code and logs in; returns the access token and the user's tenant id.
    pub async fn user(&self, email: &str) -> TestUser {
        let signed_up = self.signup(email).await;
        let code = self.verification_code(email).await;
        let (status, body) = self.post("/api/v1/verify-email-code", None, json!({ "email": email, "code": code })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, tokens) = self.post("/api/v1/login", None, json!({ "email": email, "password": PASSWORD })).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        TestUser {
            id: signed_up["user"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            tenant: signed_up["tenant"]["id"].as_str().unwrap().to_owned(),
            token: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Runs one statement against the test's database directly (to set up what another
    /// component would have written).
    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.database_url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }

    /// Runs SQL against the test's database directly (to check what is stored at rest).
    pub async fn query_strings(&self, sql: &str) -> Vec<String> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.database_url).await.unwrap();
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(name) = self.pg_database.take() {
            // Drop is synchronous: clean up on a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(pool) = sqlx::AnyPool::connect(&postgres_admin_url()).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&pool).await;
                    }
                })
            })
            .join();
        }
    }
}

async fn create_postgres_database(name: &str) -> Result<(), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect(&postgres_admin_url())
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await?;
    pool.close().await;
    Ok(())
}

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestUser {
    pub id: String,
    pub email: String,
    pub tenant: String,
    pub token: String,
    pub refresh: String,
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// Asserts the Stripe-style error object and returns its code.
pub fn error_code(status: StatusCode, body: &Value, expected: StatusCode) -> String {
    assert_eq!(status, expected, "unexpected status; body: {body}");
    let error = &body["error"];
    assert!(error["type"].is_string() && error["message"].is_string(), "not an error object: {body}");
    error["code"].as_str().unwrap_or_default().to_owned()
}

/// Runs an async test body once against SQLite and once against Postgres.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::helpers::*;

            async fn run($app: TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(TestApp::spawn(Backend::Sqlite).await.unwrap()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::spawn(Backend::Postgres).await {
                    run(app).await
                }
            }
        }
    };
}

/// The platform webhook secret of apps started with a Stripe double.
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_paybus_tests";

/// The server with a Stripe double of its own (short Stripe timeout, a generous checkout rate
/// limit unless `extra` sets one), or `None` when Postgres is unreachable outside CI.
pub async fn spawn_with_stripe(backend: Backend, extra: Vec<(&'static str, String)>) -> Option<(TestApp, paybus_server::stripe_mock::StripeMock)> {
    let double = paybus_server::stripe_mock::StripeMock::start().await;
    let mut env = vec![
        ("PAYBUS_STRIPE_API_BASE", double.base.clone()),
        ("STRIPE_SECRET_KEY", "sk_test_double".to_owned()),
        ("PAYBUS_STRIPE_TIMEOUT_MS", "800".to_owned()),
        ("STRIPE_PLATFORM_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET.to_owned()),
    ];
    // Scenarios send many checkouts from one IP; the rate-limit test sets its own limit.
    if !extra.iter().any(|(k, _)| *k == "PAYBUS_CHECKOUT_LIMIT_PER_IP") {
        env.push(("PAYBUS_CHECKOUT_LIMIT_PER_IP", "1000".to_owned()));
    }
    env.extend(extra);
    let app = TestApp::spawn_with(Spawn { backend, env }).await?;
    Some((app, double))
}

/// Runs an async test body once against SQLite and once against Postgres, each server with its
/// own Stripe double.
#[macro_export]
macro_rules! with_stripe {
    (async fn $name:ident($app:ident: TestApp, $double:ident: $double_ty:ty) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: TestApp, $double: $double_ty) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, double) = $crate::helpers::spawn_with_stripe($crate::helpers::Backend::Sqlite, vec![]).await.unwrap();
                run(app, double).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some((app, double)) = $crate::helpers::spawn_with_stripe($crate::helpers::Backend::Postgres, vec![]).await {
                    run(app, double).await
                }
            }
        }
    };
}
