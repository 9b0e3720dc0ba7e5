//! A bus on a fresh database (SQLite file or Postgres database), with a manual clock and the
//! listeners each test brings.

use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use app::{
    domain::events::{payloads::*, DomainEvent, EventPattern},
    ssr::{
        bus::{Bus, Delivery, EventContext, Listener, ListenerError, ManualClock, Registry},
        config::{Config, Sources},
        db::Db,
    },
};
use app::domain::PrefixedId;
use async_trait::async_trait;

pub use crate::helpers::{postgres_admin_url, Backend};

pub const START_MS: i64 = 1_800_000_000_000;

pub struct TestBus {
    pub bus: Bus,
    pub db: Db,
    pub clock: ManualClock,
    dir: std::path::PathBuf,
    pg_database: Option<String>,
}

impl TestBus {
    /// `None` when Postgres is unreachable outside CI (announced loudly).
    pub async fn new(backend: Backend, listeners: Vec<Arc<dyn Listener>>, env: &[(&str, &str)]) -> Option<TestBus> {
        sqlx::any::install_default_drivers();
        let dir = std::env::temp_dir().join(format!("paybus-bus-{}", uuid::Uuid::new_v4().simple()));
        let (url, pg_database) = match backend {
            Backend::Sqlite => (format!("sqlite://{}?mode=rwc", dir.join("bus.db").display()), None),
            Backend::Postgres => {
                let name = format!("paybus_bus_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::any::AnyPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(3)).connect(&postgres_admin_url()).await;
                match admin {
                    Ok(pool) => {
                        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
                        pool.close().await;
                    }
                    Err(e) => {
                        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                            panic!("Postgres is required in CI: {e}");
                        }
                        eprintln!("\n!!!!! SKIPPING a Postgres bus test: {e} !!!!!\n");
                        return None;
                    }
                }
                let base = postgres_admin_url();
                let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(&base).to_owned();
                (format!("{root}/{name}"), Some(name))
            }
        };
        let mut pairs: Vec<(&str, &str)> = vec![("DATABASE_URL", url.as_str()), ("PAYBUS_BUS_BACKOFF_BASE_MS", "1000"), ("PAYBUS_BUS_MAX_ATTEMPTS", "5")];
        pairs.extend_from_slice(env);
        let config = Config::from_sources(&Sources::from_pairs(pairs)).expect("valid test config");
        let db = Db::connect(&url, 5, Duration::from_secs(5)).await.expect("database reachable");
        db.migrate().await.expect("migrations apply");
        let mut registry = Registry::new();
        for l in listeners {
            registry.subscribe(l).unwrap();
        }
        let clock = ManualClock::starting_at(START_MS);
        let bus = Bus::new(db.clone(), registry, Arc::new(clock.clone()), config.bus);
        Some(TestBus { bus, db, clock, dir, pg_database })
    }

    /// Publishes one event in its own committed transaction.
    pub async fn publish(&self, tenant: Option<&str>, event: DomainEvent) -> String {
        let ctx = context(tenant, None);
        self.bus.publish_now(&ctx, event).await.unwrap().to_string()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.db.pool).await.unwrap()
    }

    pub async fn delivery(&self, listener: &str) -> DeliveryState {
        sqlx::query_as::<_, (String, i64, i64, Option<String>)>(
            "SELECT status, attempts, next_attempt_at, last_error FROM event_deliveries WHERE listener = $1 AND origin = 'publish'",
        )
        .bind(listener)
        .fetch_one(&self.db.pool)
        .await
        .map(|(status, attempts, next_attempt_at, last_error)| DeliveryState { status, attempts, next_attempt_at, last_error })
        .unwrap()
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_database.take() {
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

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryState {
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

pub fn context(tenant: Option<&str>, actor: Option<&str>) -> EventContext {
    let mut ctx = EventContext::system(tenant.map(|t| app::domain::TenantId::parse(t).unwrap()));
    if let Some(actor) = actor {
        ctx.actor = Some(actor.to_owned());
    }
    ctx
}

pub fn key_created(n: u32) -> DomainEvent {
    DomainEvent::ApiKeyCreated(ApiKeyChanged {
        api_key_id: format!("key_{n}"),
        name: format!("key {n}"),
        role: "developer".into(),
        mode: "test".into(),
        prefix: "sk_test_abcd".into(),
    })
}

pub fn member_joined(n: u32) -> DomainEvent {
    DomainEvent::OrgMemberJoined(MemberChanged { user_id: format!("usr_{n}"), email: format!("m{n}@example.com"), role: "viewer".into(), previous_role: None })
}

/// What a scripted listener does on its n-th call.
#[derive(Debug, Clone, Copy)]
pub enum Script {
    Succeed,
    /// Fails (retryably) on the first `n` calls, then succeeds.
    FailTimes(u32),
    AlwaysFail,
    FailPermanently,
    Panic,
    Sleep(Duration),
}

/// A listener that does what its script says and remembers each delivery it saw.
pub struct Scripted {
    pub name: &'static str,
    pub patterns: Vec<&'static str>,
    pub script: Script,
    pub timeout: Option<Duration>,
    pub calls: AtomicU32,
    pub seen: Mutex<Vec<(String, String, u32, bool)>>,
}

impl Scripted {
    pub fn new(name: &'static str, patterns: &[&'static str], script: Script) -> Arc<Self> {
        Arc::new(Self { name, patterns: patterns.to_vec(), script, timeout: None, calls: AtomicU32::new(0), seen: Mutex::new(Vec::new()) })
    }

    pub fn with_timeout(name: &'static str, timeout: Duration, script: Script) -> Arc<Self> {
        Arc::new(Self { name, patterns: vec!["*"], script, timeout: Some(timeout), calls: AtomicU32::new(0), seen: Mutex::new(Vec::new()) })
    }

    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    /// (event id, delivery id, attempt, is replay) per call.
    pub fn seen(&self) -> Vec<(String, String, u32, bool)> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl Listener for Scripted {
    fn name(&self) -> &'static str {
        self.name
    }

    fn patterns(&self) -> Vec<EventPattern> {
        self.patterns.iter().map(|p| EventPattern::parse(p).unwrap()).collect()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    async fn handle(&self, delivery: &Delivery) -> Result<(), ListenerError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.seen.lock().unwrap().push((delivery.event.id.to_string(), delivery.id.to_string(), delivery.attempt, delivery.replay.is_some()));
        match self.script {
            Script::Succeed => Ok(()),
            Script::FailTimes(k) if n <= k => Err(ListenerError::retryable(format!("failure {n} of {k}"))),
            Script::FailTimes(_) => Ok(()),
            Script::AlwaysFail => Err(ListenerError::retryable("always fails")),
            Script::FailPermanently => Err(ListenerError::permanent("the peer said 410 Gone")),
            Script::Panic => panic!("listener bug"),
            Script::Sleep(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }
}
