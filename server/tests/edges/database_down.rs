//! A database that goes away answers 503 `database_unavailable` (never a panic, a 500 or a hang);
//! a database that cannot be opened at startup is a readable error from `Application::build`.

use std::time::Duration;

use app::ssr::config::{Config, Sources};
use paybus_server::startup::Application;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{postgres_admin_url, unique_email, Backend, TestApp, PASSWORD},
    support::{assert_error, browser, browser_login},
};

fn assert_unavailable(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_error(status, body, StatusCode::SERVICE_UNAVAILABLE, "api_error", "database_unavailable");
}

async fn drop_database(database_url: &str) {
    let name = database_url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    assert!(name.starts_with("paybus_test_"), "{name}");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&postgres_admin_url()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_postgres_database_disappears_requests_get_503_and_liveness_stays_up() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let user = app.user(&unique_email("down")).await;
    let cookie_browser = browser();
    browser_login(&app, &cookie_browser, &user.email).await;
    let (status, body) = app.get("/api/v1/health", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["database"], "postgres");

    drop_database(&app.database_url).await;

    let checks = async {
        // Twice each: once on a connection the server killed, once on a fresh connection attempt.
        for round in 0..2 {
            let (status, body) = app.get("/api/v1/health", None).await;
            assert_unavailable(status, &body, &format!("readiness, round {round}"));
            let (status, body) = app.post("/api/v1/login", None, json!({ "email": user.email, "password": PASSWORD })).await;
            assert_unavailable(status, &body, "login");
            let (status, body) = app.post("/api/v1/signup", None, json!({ "email": unique_email("late"), "password": PASSWORD })).await;
            assert_unavailable(status, &body, "signup");
            let (status, body) = app.post("/api/v1/token/refresh", None, json!({ "refresh_token": user.refresh })).await;
            assert_unavailable(status, &body, "refresh");
            let (status, body) = app.get("/api/v1/api-keys", Some(&user.token)).await;
            assert_unavailable(status, &body, "a tenant-scoped read");
            // The browser's session lives in the same database.
            let res = cookie_browser.get(app.url("/api/v1/me")).send().await.unwrap();
            let status = res.status();
            assert_unavailable(status, &res.json().await.unwrap(), "a cookie-authenticated read");

            // Liveness does not depend on the database.
            let (status, body) = app.get("/health", None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["status"], "ok");
        }
    };
    tokio::time::timeout(Duration::from_secs(60), checks).await.expect("a missing database must not make requests hang");
}

fn config(pairs: Vec<(&str, String)>) -> Config {
    let mut all = vec![
        ("PAYBUS_ADDR", "127.0.0.1:0".to_owned()),
        ("PAYBUS_DB_ACQUIRE_TIMEOUT_MS", "1000".to_owned()),
        ("PAYBUS_DATA_DIR", std::env::temp_dir().join(format!("paybus-edges-{}", uuid::Uuid::new_v4().simple())).display().to_string()),
    ];
    all.extend(pairs);
    Config::from_sources(&Sources::from_pairs(all.iter().map(|(k, v)| (*k, v.as_str())))).expect("a valid config")
}

/// `Application::build` must fail, quickly and without panicking; returns its message.
async fn build_error(config: Config) -> String {
    let built = tokio::time::timeout(Duration::from_secs(30), tokio::spawn(Application::build(config)))
        .await
        .expect("startup gives up within 30 s")
        .expect("startup does not panic");
    match built {
        Ok(app) => panic!("the server started on {} without its database", app.local_addr()),
        Err(e) => {
            let message = e.to_string();
            eprintln!("startup error: {message}");
            assert!(!message.is_empty() && !message.contains("Os {") && !message.contains("Custom {"), "not readable: {message}");
            message
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_path_that_cannot_be_created_is_a_readable_startup_error() {
    let dir = std::env::temp_dir().join(format!("paybus-edges-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a-regular-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let url = format!("sqlite://{}/data/paybus.db?mode=rwc", file.display());

    let message = build_error(config(vec![("DATABASE_URL", url)])).await;
    assert!(message.contains("data directory"), "{message}");
    assert!(message.contains(&file.display().to_string()), "the message names the path: {message}");
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory", "the file is left alone");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgres_is_a_readable_startup_error_without_the_password() {
    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://paybus:hunter2-secret@127.0.0.1:{port}/paybus");
    let message = build_error(config(vec![("DATABASE_URL", url)])).await;
    assert!(message.contains("database"), "{message}");
    assert!(!message.contains("hunter2-secret"), "the password leaked into the error: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_postgres_database_is_a_readable_startup_error() {
    let admin = postgres_admin_url();
    let root = admin.rsplit_once('/').map(|(r, _)| r).unwrap_or(&admin).to_owned();
    let url = format!("{root}/paybus_missing_{}", uuid::Uuid::new_v4().simple());
    let message = build_error(config(vec![("DATABASE_URL", url)])).await;
    assert!(message.contains("database"), "{message}");
}
