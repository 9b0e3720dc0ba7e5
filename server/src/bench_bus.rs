//! `paybus bench bus`: what the event bus sustains on this machine, printed as figures.
//!
//! - in memory: [`LocalBus`](app::ssr::bus::local::LocalBus) publish → one counting subscriber,
//!   beside a bare tokio channel of the same capacity carrying the same `Arc<EventEnvelope>`, so
//!   the bus's own overhead shows as a ratio rather than as a number that depends on the CPU;
//! - durable, on SQLite and on Postgres: a raw single-row INSERT + commit loop as the yardstick,
//!   then `Bus::publish` + `Bus::commit` with the dispatcher delivering to one counting listener
//!   at the same time — sequential and with concurrent publishers;
//! - latency from a returned commit to the listener's `handle()` starting, p50 / p99.
//!
//! Nothing here asserts a time: these numbers move with the machine and its load, so they are
//! reported, never tested.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::{
    domain::{
        events::{payloads::PaymentChanged, ActorType, DomainEvent, EventEnvelope, EventMetadata, EventPattern, EventType},
        EventId,
    },
    ssr::{
        bus::{local::LocalBusBuilder, Bus, Delivery, EventContext, Listener, ListenerError, Registry, SystemClock},
        config::{Config, Sources},
        db::{Db, Dialect},
        ids::random_base62,
        time_util::now_ms,
    },
};
use clap::Args;
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot, watch};

use crate::bench::{ms, percentile};

pub(crate) type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Args, Debug)]
pub struct BusBenchArgs {
    /// Events sent through the in-memory bus (and through the bare channel beside it).
    #[arg(long, default_value_t = 2_000_000)]
    pub events: u64,
    /// Queue capacity of the in-memory bus's subscriber and of the bare channel.
    #[arg(long, default_value_t = 1024)]
    pub capacity: usize,
    /// Transactions per durable run (raw inserts, publishes).
    #[arg(long, default_value_t = 2000)]
    pub transactions: usize,
    /// Publishers in the concurrent durable runs.
    #[arg(long, default_value_t = 8)]
    pub publishers: usize,
    /// Single publishes timed from commit to the listener.
    #[arg(long, default_value_t = 1000)]
    pub latency_samples: usize,
    /// Pause between the timed publishes, so each one meets an idle dispatcher.
    #[arg(long, default_value_t = 2)]
    pub latency_spacing_ms: u64,
    /// Postgres server on which a scratch database is created, and dropped afterwards.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres_url: String,
    /// Only the in-memory and SQLite figures.
    #[arg(long)]
    pub skip_postgres: bool,
}

pub async fn run(args: BusBenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("paybus bench bus: figures from this machine ({cores} cores, release build expected).");
    println!("Other load on it (builds, the database server sharing the cores) moves them: compare runs made side by side, not across machines.");
    println!();

    in_memory(&args).await.map_err(|e| e as Box<dyn std::error::Error>)?;

    let dir = std::env::temp_dir().join(format!("paybus-bench-bus-{}", std::process::id()));
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.join("bus.db").display());
    let outcome = durable("SQLite", &sqlite_url, &dir, &args).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome.map_err(|e| e as Box<dyn std::error::Error>)?;

    if args.skip_postgres {
        return Ok(());
    }
    match ScratchPostgres::create(&args.postgres_url).await {
        Ok(scratch) => {
            let outcome = durable("Postgres", &scratch.url, &dir, &args).await;
            scratch.drop_database().await;
            outcome.map_err(|e| e as Box<dyn std::error::Error>)?;
        }
        Err(e) => println!("Postgres: skipped ({} unreachable or refused: {e})", redact(&args.postgres_url)),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// In memory

async fn in_memory(args: &BusBenchArgs) -> BenchResult<()> {
    let n = args.events.max(1);
    let capacity = args.capacity.max(1);
    let event = sample_envelope();
    // Alternating rounds, median kept: one round is at the mercy of whatever else the two cores
    // were doing, and alternating keeps both sides exposed to the same disturbances.
    const ROUNDS: usize = 3;
    let (mut bare, mut local) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        bare.push(bare_channel(n, capacity, &event).await?);
        local.push(local_bus(n, capacity, &event).await?);
    }
    bare.sort();
    local.sort();
    let (bare, local) = (bare[ROUNDS / 2], local[ROUNDS / 2]);
    let (bare_rate, local_rate) = (per_sec(n as usize, bare), per_sec(n as usize, local));
    println!("in memory: {n} events, one counting subscriber, queue capacity {capacity} (median of {ROUNDS} alternating rounds)");
    println!("  bare tokio mpsc, Arc<EventEnvelope>:  {} events/s ({})", millions(bare_rate), secs(bare));
    println!(
        "  LocalBus publish → subscriber:        {} events/s ({}), {:.0}% of bare",
        millions(local_rate),
        secs(local),
        100.0 * local_rate / bare_rate
    );
    println!();
    Ok(())
}

/// The floor LocalBus is compared with: the same channel and payload, no routing, no handler.
async fn bare_channel(n: u64, capacity: usize, event: &Arc<EventEnvelope>) -> BenchResult<Duration> {
    let (tx, mut rx) = mpsc::channel::<Arc<EventEnvelope>>(capacity);
    let (done, all_seen) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut seen = 0u64;
        let mut done = Some(done);
        while let Some(event) = rx.recv().await {
            std::hint::black_box(&event);
            seen += 1;
            if seen == n {
                if let Some(done) = done.take() {
                    let _ = done.send(());
                }
            }
        }
    });
    let started = Instant::now();
    for _ in 0..n {
        tx.send(event.clone()).await.map_err(|_| "the receiver stopped early")?;
    }
    all_seen.await?;
    Ok(started.elapsed())
}

async fn local_bus(n: u64, capacity: usize, event: &Arc<EventEnvelope>) -> BenchResult<Duration> {
    let (done, all_seen) = oneshot::channel::<()>();
    let mut done = Some(done);
    let mut seen = 0u64;
    let bus = LocalBusBuilder::new(capacity)
        .subscribe(vec![EventPattern::parse("payment.*")?], move |event| {
            std::hint::black_box(event);
            seen += 1;
            if seen == n {
                if let Some(done) = done.take() {
                    let _ = done.send(());
                }
            }
        })
        .start();
    let started = Instant::now();
    for _ in 0..n {
        bus.publish(event.clone()).await;
    }
    all_seen.await?;
    Ok(started.elapsed())
}

fn sample_envelope() -> Arc<EventEnvelope> {
    let event = sample_event();
    Arc::new(EventEnvelope {
        id: app::ssr::ids::new_id::<EventId>(),
        event_type: event.event_type(),
        version: event.event_type().version(),
        occurred_at: time::OffsetDateTime::now_utc(),
        tenant_id: None,
        actor: None,
        actor_type: ActorType::System,
        payload: event.payload_json().unwrap_or_default(),
        metadata: EventMetadata::system(),
    })
}

/// A payment event of realistic size; fresh ids each time so no row is a duplicate of another.
fn sample_event() -> DomainEvent {
    DomainEvent::PaymentSucceeded(PaymentChanged {
        payment_id: format!("pay_{}", random_base62(22)),
        stripe_id: format!("pi_{}", random_base62(24)),
        amount: 4200,
        amount_captured: 4200,
        amount_refunded: 0,
        currency: "eur".into(),
        status: "succeeded".into(),
        customer_email: Some("customer@example.com".into()),
        connected_account: None,
        failure_message: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Durable

/// Counts deliveries and notes when each `handle()` started, for the latency run.
struct CountingListener {
    seen: watch::Sender<u64>,
    started: Mutex<HashMap<EventId, Instant>>,
}

impl CountingListener {
    fn new() -> Self {
        Self { seen: watch::channel(0).0, started: Mutex::new(HashMap::new()) }
    }

    fn count(&self) -> u64 {
        *self.seen.borrow()
    }

    /// Waits until the listener has handled `target` deliveries in all.
    async fn wait_for(&self, target: u64) -> BenchResult<()> {
        let mut seen = self.seen.subscribe();
        // Generous: a stalled dispatcher should end the bench with a message, not hang it.
        let reached = matches!(tokio::time::timeout(Duration::from_secs(300), seen.wait_for(|n| *n >= target)).await, Ok(Ok(_)));
        if reached {
            Ok(())
        } else {
            Err(format!("the listener saw {} of {target} deliveries within 300 s", self.count()).into())
        }
    }
}

// `Listener` is an `async_trait` trait, and the server crate has `async-trait` only as a
// dev-dependency; this is the signature the macro would generate, written out.
impl Listener for CountingListener {
    fn name(&self) -> &'static str {
        "bench-counter"
    }

    fn patterns(&self) -> Vec<EventPattern> {
        vec![EventPattern::Exact(EventType::PaymentSucceeded)]
    }

    fn handle<'life0, 'life1, 'async_trait>(
        &'life0 self,
        delivery: &'life1 Delivery,
    ) -> Pin<Box<dyn Future<Output = Result<(), ListenerError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        // Taken on entry: the latency run measures up to the start of the listener's own work.
        let at = Instant::now();
        self.started.lock().unwrap_or_else(|e| e.into_inner()).insert(delivery.event.id.clone(), at);
        self.seen.send_modify(|n| *n += 1);
        Box::pin(async { Ok(()) })
    }
}

async fn durable(label: &str, url: &str, data_dir: &std::path::Path, args: &BusBenchArgs) -> BenchResult<()> {
    let data_dir = data_dir.display().to_string();
    // Configuration defaults throughout (pool size, bus concurrency, poll interval): the figures
    // are those of an unconfigured install.
    let config = Config::from_sources(&Sources::from_pairs([("DATABASE_URL", url), ("PAYBUS_DATA_DIR", data_dir.as_str())]))?;
    let db = Db::connect(config.database_url.expose(), config.db_max_connections, config.db_acquire_timeout).await?;
    db.migrate().await?;
    sqlx::query("CREATE TABLE bench_scratch (id TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at BIGINT NOT NULL)")
        .execute(&db.pool)
        .await?;

    let listener = Arc::new(CountingListener::new());
    let mut registry = Registry::new();
    registry.subscribe(listener.clone())?;
    let bus = Bus::new(db.clone(), registry, Arc::new(SystemClock), config.bus.clone());
    // The dispatcher runs throughout, as in `paybus serve`: idle during the raw runs, competing
    // with the publishers for the database during the publish runs. Commits wake it directly
    // (`Bus::commit`); the Postgres NOTIFY listener of the server is not needed in one process.
    let (stop, stopped) = watch::channel(false);
    let dispatcher = tokio::spawn(bus.dispatcher().run(stopped));

    let setup = match db.dialect {
        Dialect::Sqlite => "WAL, synchronous = NORMAL".to_owned(),
        Dialect::Postgres => "scratch database".to_owned(),
    };
    let m = args.transactions.max(1);
    let p = args.publishers.max(1);
    println!(
        "durable, {label} ({setup}; pool of {}, dispatcher concurrency {}): {m} transactions per run, one listener",
        config.db_max_connections, config.bus.concurrency
    );

    let outcome = async {
        for publishers in [1, p] {
            let how = if publishers == 1 { "sequential".to_owned() } else { format!("{publishers} publishers") };
            let raw = raw_inserts(&db, m, publishers).await?;
            let raw_rate = per_sec(m, raw);
            println!("  raw INSERT + commit, {how}: {} tx/s", whole(raw_rate));
            let run = publishes(&bus, &listener, m, publishers).await?;
            let (published, delivered) = (per_sec(m, run.published), per_sec(m, run.delivered));
            println!(
                "  publish + commit, {how}: {} events/s ({:.0}% of raw); end to end (listener saw all) {} events/s ({:.0}% of raw); every outcome recorded after {}",
                whole(published),
                100.0 * published / raw_rate,
                whole(delivered),
                100.0 * delivered / raw_rate,
                secs(run.recorded)
            );
        }
        latency(&bus, &listener, args.latency_samples.max(1), Duration::from_millis(args.latency_spacing_ms)).await
    }
    .await;

    let _ = stop.send(true);
    let _ = dispatcher.await;
    db.pool.close().await;
    println!();
    outcome
}

/// The yardstick: one row, one transaction, through the same pool and `Db::begin` as a publish.
async fn raw_inserts(db: &Db, m: usize, publishers: usize) -> BenchResult<Duration> {
    let payload = sample_event().payload_json()?.to_string();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for share in shares(m, publishers) {
        let (db, payload) = (db.clone(), payload.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let mut tx = db.begin().await?;
                sqlx::query("INSERT INTO bench_scratch (id, payload, created_at) VALUES ($1, $2, $3)")
                    .bind(format!("scr_{}", random_base62(22)))
                    .bind(&payload)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            BenchResult::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

struct PublishRun {
    /// Until the last commit returned.
    published: Duration,
    /// Until the listener had handled every event.
    delivered: Duration,
    /// Until no delivery was left pending or running (the dispatcher's bookkeeping done too).
    recorded: Duration,
}

async fn publishes(bus: &Bus, listener: &CountingListener, m: usize, publishers: usize) -> BenchResult<PublishRun> {
    let target = listener.count() + m as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for share in shares(m, publishers) {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let mut tx = bus.db().begin().await?;
                bus.publish(&mut tx, &EventContext::system(None), sample_event()).await?;
                bus.commit(tx).await?;
            }
            BenchResult::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let published = started.elapsed();
    listener.wait_for(target).await?;
    let delivered = started.elapsed();
    wait_until_settled(bus.db()).await?;
    let recorded = started.elapsed();
    listener.started.lock().unwrap_or_else(|e| e.into_inner()).clear();
    Ok(PublishRun { published, delivered, recorded })
}

/// Each run starts on a quiet outbox, so one run's leftovers never count against the next.
async fn wait_until_settled(db: &Db) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM event_deliveries WHERE status IN ('pending', 'running')")
            .fetch_one(&db.pool)
            .await?;
        if open == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{open} deliveries still open after 300 s").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn latency(bus: &Bus, listener: &CountingListener, k: usize, spacing: Duration) -> BenchResult<()> {
    let target = listener.count() + k as u64;
    let mut commits = Vec::with_capacity(k);
    let mut tick = tokio::time::interval(spacing.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..k {
        tick.tick().await;
        let mut tx = bus.db().begin().await?;
        let id = bus.publish(&mut tx, &EventContext::system(None), sample_event()).await?;
        bus.commit(tx).await?;
        commits.push((id, Instant::now()));
    }
    listener.wait_for(target).await?;
    let mut samples: Vec<Duration> = {
        let started = listener.started.lock().unwrap_or_else(|e| e.into_inner());
        // The dispatcher may start the listener before the publisher reads the clock after
        // `commit` returned; that counts as zero, not as a negative latency.
        commits.iter().filter_map(|(id, committed)| started.get(id).map(|at| at.saturating_duration_since(*committed))).collect()
    };
    if samples.is_empty() {
        return Err("no latency sample was recorded".into());
    }
    samples.sort();
    println!(
        "  commit → listener start ({} single publishes, {} ms apart): p50 {}, p99 {}, max {}",
        samples.len(),
        spacing.as_millis(),
        ms_precise(percentile(&samples, 0.5)),
        ms_precise(percentile(&samples, 0.99)),
        ms_precise(*samples.last().unwrap_or(&Duration::ZERO))
    );
    Ok(())
}

/// `m` split as evenly as possible over `publishers`.
fn shares(m: usize, publishers: usize) -> Vec<usize> {
    (0..publishers).map(|i| m / publishers + usize::from(i < m % publishers)).filter(|s| *s > 0).collect()
}

/// A database created for this run on the given server and dropped after it.
pub(crate) struct ScratchPostgres {
    admin: sqlx::PgConnection,
    name: String,
    pub(crate) url: String,
}

impl ScratchPostgres {
    pub(crate) async fn create(admin_url: &str) -> BenchResult<Self> {
        let mut admin = tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(admin_url))
            .await
            .map_err(|_| "no answer within 5 s")??;
        let name = format!("paybus_bench_{}", random_base62(10).to_ascii_lowercase());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let url = with_database(admin_url, &name).ok_or("not a postgres:// URL")?;
        Ok(Self { admin, name, url })
    }

    pub(crate) async fn drop_database(mut self) {
        // FORCE: a connection the pool has not closed yet must not keep the scratch database alive.
        if let Err(e) = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut self.admin).await {
            println!("could not drop the scratch database {}: {e}", self.name);
        }
        let _ = self.admin.close().await;
    }
}

/// The same server URL with another database name (query string kept).
fn with_database(url: &str, name: &str) -> Option<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let host_start = base.find("://")? + 3;
    let path_start = base[host_start..].find('/').map_or(base.len(), |i| host_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Some(out)
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

fn per_sec(count: usize, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64().max(1e-9)
}

fn millions(rate: f64) -> String {
    format!("{:.2} M", rate / 1e6)
}

fn whole(rate: f64) -> String {
    format!("{rate:.0}")
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Sub-millisecond latencies need more than [`ms`]'s one decimal.
fn ms_precise(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    } else {
        ms(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_transaction() {
        assert_eq!(shares(2000, 8), vec![250; 8]);
        assert_eq!(shares(10, 4), vec![3, 3, 2, 2]);
        assert_eq!(shares(2, 8), vec![1, 1]);
    }

    #[test]
    fn the_scratch_url_names_the_scratch_database() {
        assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/test", "x").as_deref(), Some("postgres://postgres@127.0.0.1:5432/x"));
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x").as_deref(), Some("postgres://u:p@h/x?sslmode=disable"));
        assert_eq!(with_database("postgres://h:5432", "x").as_deref(), Some("postgres://h:5432/x"));
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://postgres@h/db"), "postgres://postgres@h/db");
    }
}
