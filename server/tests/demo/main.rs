//! The demo seed (`paybus demo seed [--force]`, `paybus serve --demo`) on real SQLite and real
//! Postgres: what a fresh seed holds, that re-seeding replaces rather than doubles, that a
//! database with real data is refused without `--force` and left untouched with it, and that the
//! API marks demo tenants.

use std::time::Duration;

use app::{
    domain::{EmailAddress, Name, Password, PrefixedId},
    ssr::{
        config::{Config, Sources},
        ledger::ingest::{self, Source},
        services, AppState,
    },
};
use paybus_server::{
    cli::{self, Cli, CliError, Command, DemoCommand},
    demo_ledger::{self, Plan, Summary},
    startup::{self, Application},
};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

fn postgres_admin_url() -> String {
    std::env::var("PAYBUS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database (and data directory) for one test; dropped with it.
struct TestDb {
    database_url: String,
    data_dir: std::path::PathBuf,
    pg_database: Option<String>,
}

impl TestDb {
    /// `None` only when Postgres is unreachable outside CI (announced loudly).
    async fn new(backend: Backend) -> Option<TestDb> {
        let data_dir = std::env::temp_dir().join(format!(
            "paybus-demo-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&data_dir).unwrap();
        let (database_url, pg_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", data_dir.join("paybus.db").display()),
                None,
            ),
            Backend::Postgres => {
                let name = format!("paybus_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::any::install_default_drivers();
                let created = async {
                    let pool = sqlx::any::AnyPoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(Duration::from_secs(3))
                        .connect(&postgres_admin_url())
                        .await?;
                    sqlx::query(&format!("CREATE DATABASE {name}"))
                        .execute(&pool)
                        .await?;
                    pool.close().await;
                    Ok::<_, sqlx::Error>(())
                }
                .await;
                if let Err(e) = created {
                    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                        panic!(
                            "Postgres is required in CI but unreachable at {}: {e}",
                            postgres_admin_url()
                        );
                    }
                    eprintln!("\n!!!!! SKIPPING a Postgres test: cannot reach {} ({e}). Set PAYBUS_TEST_POSTGRES_URL. !!!!!\n", postgres_admin_url());
                    return None;
                }
                let base = postgres_admin_url();
                let root = base
                    .rsplit_once('/')
                    .map(|(r, _)| r)
                    .unwrap_or(&base)
                    .to_owned();
                (format!("{root}/{name}"), Some(name))
            }
        };
        Some(TestDb {
            database_url,
            data_dir,
            pg_database,
        })
    }

    fn config(&self) -> Config {
        let pairs: Vec<(&str, String)> = vec![
            ("DATABASE_URL", self.database_url.clone()),
            ("PAYBUS_DATA_DIR", self.data_dir.display().to_string()),
            ("PAYBUS_ADDR", "127.0.0.1:0".into()),
            ("PAYBUS_ARGON2_MEMORY_KIB", "1024".into()),
            ("PAYBUS_ARGON2_ITERATIONS", "1".into()),
            ("PAYBUS_WELCOME_EMAIL", "false".into()),
        ];
        Config::from_sources(&Sources::from_pairs(
            pairs.iter().map(|(k, v)| (*k, v.as_str())),
        ))
        .expect("test config is valid")
    }

    async fn state(&self) -> AppState {
        startup::build_state(self.config())
            .await
            .expect("state builds")
    }

    /// `paybus demo seed [--force]`, exactly as the command line runs it.
    async fn cli_seed(&self, force: bool) -> Result<(), CliError> {
        cli::run(
            Cli {
                command: Some(Command::Demo(DemoCommand::Seed { force })),
            },
            self.config(),
        )
        .await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(name) = self.pg_database.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(pool) = sqlx::AnyPool::connect(&postgres_admin_url()).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&pool)
                                .await;
                    }
                })
            })
            .join();
        }
    }
}

async fn scalar(state: &AppState, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&state.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn demo_summary(state: &AppState) -> Summary {
    let ids: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM tenants WHERE is_demo = 1")
            .fetch_all(&state.db.pool)
            .await
            .unwrap();
    let id = |name: &str| {
        app::domain::TenantId::from_trusted(ids.iter().find(|(_, n)| n == name).unwrap().0.clone())
    };
    demo_ledger::summary(&state.db, &id("Demo Store"), &id("Demo Marketplace"))
        .await
        .unwrap()
}

/// Everything but the ids, which differ per seed.
fn counts(s: &Summary) -> Summary {
    Summary {
        store_tenant: String::new(),
        marketplace_tenant: String::new(),
        ..s.clone()
    }
}

fn assert_advertised_mix(s: &Summary) {
    assert!(s.payments >= 200, "{s:?}");
    for currency in ["usd", "eur", "gbp", "jpy"] {
        assert!(
            s.by_currency.get(currency).copied().unwrap_or(0) > 0,
            "no {currency} payment: {s:?}"
        );
    }
    for status in [
        "succeeded",
        "failed",
        "requires_capture",
        "canceled",
        "processing",
        "partially_refunded",
        "refunded",
        "disputed",
        "dispute_lost",
    ] {
        assert!(
            s.by_status.get(status).copied().unwrap_or(0) > 0,
            "no {status} payment: {:?}",
            s.by_status
        );
    }
    assert!(s.customers >= 50, "{s:?}");
    assert!(s.refunds >= 10, "{s:?}");
    assert!(
        s.disputes_open >= 2 && s.disputes_won >= 1 && s.disputes_lost >= 1,
        "{s:?}"
    );
    assert_eq!(s.connected_accounts, 1, "{s:?}");
    assert_eq!(s.endpoints, 2, "{s:?}");
    assert!(
        s.webhook_attempts_succeeded > 0 && s.webhook_attempts_failed > 0,
        "{s:?}"
    );
    for state in ["succeeded", "skipped", "dead", "pending", "retrying"] {
        assert!(
            s.deliveries.get(state).copied().unwrap_or(0) > 0,
            "no {state} delivery: {:?}",
            s.deliveries
        );
    }
    assert!(s.events_archived > 0, "{s:?}");
    // The chat alerts failed while they were on, and are off now (the dashboard shows them off).
    assert!(
        !s.plugins_enabled.iter().any(|p| p == "chat-alerts"),
        "{:?}",
        s.plugins_enabled
    );
    for plugin in ["analytics", "audit-log", "crm-activity"] {
        assert!(
            s.plugins_enabled.iter().any(|p| p == plugin),
            "{plugin} not enabled: {:?}",
            s.plugins_enabled
        );
    }
}

/// The ledger adds up: refunds, captures and disputes agree with the payments' snapshots.
async fn assert_ledger_consistent(state: &AppState) {
    let refund_mismatch = scalar(
        state,
        "SELECT COUNT(*) FROM payments p WHERE p.amount_refunded <> COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.payment_id = p.id AND r.status = 'succeeded'), 0)",
    )
    .await;
    assert_eq!(refund_mismatch, 0, "payments whose refunds do not add up");
    assert_eq!(
        scalar(
            state,
            "SELECT COUNT(*) FROM payments WHERE amount_refunded > amount_captured"
        )
        .await,
        0,
        "refunded more than captured"
    );
    let capture_mismatch = scalar(
        state,
        "SELECT COUNT(*) FROM payments p WHERE p.amount_captured <> COALESCE((SELECT SUM(t.amount) FROM payment_transactions t WHERE t.payment_id = p.id AND t.kind = 'capture'), 0)",
    )
    .await;
    assert_eq!(capture_mismatch, 0, "captures without their transaction");
    let refund_tx_mismatch = scalar(
        state,
        "SELECT COUNT(*) FROM payments p WHERE p.amount_refunded <> COALESCE((SELECT SUM(t.amount) FROM payment_transactions t WHERE t.payment_id = p.id AND t.kind = 'refund'), 0)",
    )
    .await;
    assert_eq!(refund_tx_mismatch, 0, "refunds without their transaction");
    let lost = scalar(state, "SELECT COUNT(*) FROM disputes d JOIN payments p ON p.id = d.payment_id WHERE d.status = 'lost' AND p.amount_disputed_lost <> d.amount").await;
    assert_eq!(lost, 0, "lost disputes not on their payment");
    assert_eq!(
        scalar(
            state,
            "SELECT COUNT(*) FROM payments WHERE currency = 'jpy' AND amount % 10 <> 0"
        )
        .await,
        0,
        "yen amounts are whole yen"
    );
    assert_eq!(
        scalar(
            state,
            "SELECT COUNT(*) FROM webhook_events WHERE status <> 'processed'"
        )
        .await,
        0,
        "every demo Stripe event applied"
    );
}

/// The five stories the browser tests rely on.
async fn assert_fixed_stories(state: &AppState) {
    let rows: Vec<(String, i64, String, String, i64)> = sqlx::query_as(
        "SELECT p.customer_email, p.amount, p.currency, p.status, p.amount_refunded FROM payments p JOIN tenants t ON t.id = p.tenant_id
         WHERE t.name = 'Demo Store' AND p.customer_email IN ('ada@example.com', 'grace@example.com', 'alan@example.com', 'edsger@example.com', 'barbara@example.com')
         ORDER BY p.customer_email",
    )
    .fetch_all(&state.db.pool)
    .await
    .unwrap();
    let expected = [
        ("ada@example.com", 4_900, "usd", "succeeded", 0),
        ("alan@example.com", 25_000, "usd", "disputed", 0),
        ("barbara@example.com", 8_000, "usd", "requires_capture", 0),
        ("edsger@example.com", 3_500, "usd", "failed", 0),
        (
            "grace@example.com",
            12_000,
            "usd",
            "partially_refunded",
            4_000,
        ),
    ];
    let got: Vec<(&str, i64, &str, &str, i64)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1, r.2.as_str(), r.3.as_str(), r.4))
        .collect();
    assert_eq!(got, expected);
}

async fn fresh_seed_holds_the_advertised_mix_in_demo_tenants(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let state = db.state().await;
    assert_eq!(demo_ledger::plan(&state.db).await.unwrap(), Plan::Seed);
    let started = std::time::Instant::now();
    db.cli_seed(false)
        .await
        .expect("an empty database is seeded");
    eprintln!(
        "{backend:?}: seeded in {} ms",
        started.elapsed().as_millis()
    );
    let summary = demo_summary(&state).await;
    eprintln!("{}", summary.lines().join("\n"));
    assert_advertised_mix(&summary);
    assert_ledger_consistent(&state).await;
    assert_fixed_stories(&state).await;
    let chat_dead = scalar(&state, "SELECT COUNT(*) FROM event_deliveries WHERE listener = 'chat-alerts' AND status = 'dead' AND last_error IS NOT NULL").await;
    assert!(
        chat_dead > 0,
        "the unreachable chat webhook dead-lettered alerts"
    );
    // All of it is demo data.
    assert_eq!(
        scalar(&state, "SELECT COUNT(*) FROM tenants WHERE is_demo = 0").await,
        0
    );
    assert_eq!(scalar(&state, "SELECT COUNT(*) FROM users").await, 1);
    for table in [
        "payments",
        "refunds",
        "disputes",
        "events",
        "events_archive",
        "event_deliveries",
        "webhook_endpoints",
        "webhook_attempts",
        "stripe_accounts",
        "analytics_daily",
    ] {
        let outside = scalar(&state, &format!("SELECT COUNT(*) FROM {table} x WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = x.tenant_id AND t.is_demo = 1)")).await;
        assert_eq!(outside, 0, "{table} rows outside the demo tenants");
    }
    // The overview's per-day chart has most of the last 30 days.
    let days = scalar(&state, "SELECT COUNT(DISTINCT day) FROM analytics_daily a JOIN tenants t ON t.id = a.tenant_id WHERE t.name = 'Demo Store'").await;
    assert!(days >= 20, "only {days} days of analytics");
    // A restart of `serve --demo` keeps the demo as it is.
    assert_eq!(demo_ledger::plan(&state.db).await.unwrap(), Plan::Keep);
}

#[tokio::test]
async fn fresh_seed_holds_the_advertised_mix_in_demo_tenants_sqlite() {
    fresh_seed_holds_the_advertised_mix_in_demo_tenants(Backend::Sqlite).await
}

#[tokio::test]
async fn fresh_seed_holds_the_advertised_mix_in_demo_tenants_postgres() {
    fresh_seed_holds_the_advertised_mix_in_demo_tenants(Backend::Postgres).await
}

async fn reseeding_replaces_the_demo_instead_of_doubling_it(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let state = db.state().await;
    db.cli_seed(false).await.expect("first seed");
    let first = demo_summary(&state).await;
    let first_tenants: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants ORDER BY id")
        .fetch_all(&state.db.pool)
        .await
        .unwrap();
    db.cli_seed(false)
        .await
        .expect("a database holding only the demo is re-seeded without --force");
    let second = demo_summary(&state).await;
    assert_eq!(counts(&second), counts(&first));
    assert_eq!(scalar(&state, "SELECT COUNT(*) FROM tenants").await, 2);
    let old_left = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT COUNT(*) FROM payments WHERE tenant_id IN ({})",
        first_tenants
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .fetch_one(&state.db.pool)
    .await
    .unwrap();
    assert_eq!(old_left, 0, "the previous demo tenants' rows are gone");
    assert_ledger_consistent(&state).await;
    assert_fixed_stories(&state).await;
}

#[tokio::test]
async fn reseeding_replaces_the_demo_instead_of_doubling_it_sqlite() {
    reseeding_replaces_the_demo_instead_of_doubling_it(Backend::Sqlite).await
}

#[tokio::test]
async fn reseeding_replaces_the_demo_instead_of_doubling_it_postgres() {
    reseeding_replaces_the_demo_instead_of_doubling_it(Backend::Postgres).await
}

/// Row counts of one tenant across the tables a merchant's activity fills.
async fn tenant_rows(state: &AppState, tenant: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in [
        "memberships",
        "payments",
        "payment_transactions",
        "event_logs",
        "webhook_events",
        "events",
        "event_deliveries",
        "tenant_plugins",
    ] {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"
        ))
        .bind(tenant)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
        out.push((table.to_owned(), n));
    }
    out
}

async fn seeding_a_database_with_real_data_needs_force(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let state = db.state().await;
    let (user, tenant) = services::identity::create_verified_user(
        &state,
        EmailAddress::parse("owner@acme.test").unwrap(),
        Password::parse("correct horse battery staple").unwrap(),
        Name::parse("Acme Ltd", "tenant-name").unwrap(),
    )
    .await
    .unwrap();
    let tenant = tenant.to_string();
    for event_type in ["payment_intent.succeeded", "charge.succeeded"] {
        let event = paybus_server::cli_stripe::build_event(
            event_type,
            &tenant,
            Some("pi_acme_real_1"),
            Some(2_500),
            1_800_000_000,
        )
        .unwrap();
        let status = ingest::ingest(
            &state.bus,
            event.to_string().as_bytes(),
            Source::ReplayFile,
            1_800_000_000_000,
        )
        .await
        .unwrap()
        .status;
        assert_eq!(status, "processed");
    }
    let before = tenant_rows(&state, &tenant).await;
    assert!(
        before.iter().any(|(t, n)| t == "payments" && *n == 1),
        "{before:?}"
    );

    // Without --force: refused, naming what was found, and nothing is created.
    let refused = db
        .cli_seed(false)
        .await
        .expect_err("a database with real data is not seeded");
    let message = refused.to_string();
    for part in ["owner@acme.test", "Acme Ltd", "--force"] {
        assert!(
            message.contains(part),
            "the refusal names {part}: {message}"
        );
    }
    assert!(
        matches!(demo_ledger::plan(&state.db).await.unwrap(), Plan::Refuse(found) if found.contains("owner@acme.test"))
    );
    assert_eq!(scalar(&state, "SELECT COUNT(*) FROM tenants").await, 1);
    assert_eq!(
        scalar(
            &state,
            &format!(
                "SELECT COUNT(*) FROM users WHERE email = '{}'",
                services::demo::DEMO_EMAIL
            )
        )
        .await,
        0
    );

    // With --force: the demo is seeded and the real tenant is untouched — twice.
    for _ in 0..2 {
        db.cli_seed(true).await.expect("--force seeds anyway");
        assert_advertised_mix(&demo_summary(&state).await);
        assert_eq!(
            tenant_rows(&state, &tenant).await,
            before,
            "the real tenant's rows are untouched"
        );
        assert_eq!(
            scalar(&state, "SELECT COUNT(*) FROM tenants WHERE is_demo = 1").await,
            2
        );
        assert_eq!(
            scalar(
                &state,
                &format!("SELECT COUNT(*) FROM users WHERE id = '{user}'")
            )
            .await,
            1
        );
    }
    let real: (String, i64) = sqlx::query_as("SELECT name, is_demo FROM tenants WHERE id = $1")
        .bind(&tenant)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(real, ("Acme Ltd".to_owned(), 0));

    // The API marks the demo tenants, and only them.
    let app = Application::build(db.config()).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let login = |email: &'static str, password: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let tokens: Value = client
                .post(format!("{base}/api/v1/login"))
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tokens["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("login of {email}: {tokens}"))
                .to_owned()
        }
    };
    let demo_token = login(services::demo::DEMO_EMAIL, services::demo::DEMO_PASSWORD).await;
    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&demo_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenants = me["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 2, "{me}");
    assert!(tenants.iter().all(|t| t["is_demo"] == json!(true)), "{me}");
    let owner_token = login("owner@acme.test", "correct horse battery staple").await;
    let listed: Value = client
        .get(format!("{base}/api/v1/tenants"))
        .bearer_auth(&owner_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["name"], "Acme Ltd", "{listed}");
    assert_eq!(listed["data"][0]["is_demo"], json!(false), "{listed}");
    let _ = stop.send(());
}

#[tokio::test]
async fn seeding_a_database_with_real_data_needs_force_sqlite() {
    seeding_a_database_with_real_data_needs_force(Backend::Sqlite).await
}

#[tokio::test]
async fn seeding_a_database_with_real_data_needs_force_postgres() {
    seeding_a_database_with_real_data_needs_force(Backend::Postgres).await
}
