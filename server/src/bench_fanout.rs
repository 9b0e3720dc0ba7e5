//! `paybus bench fanout`: outbound webhooks end to end. Ten local HTTP receivers (axum on
//! 127.0.0.1, random ports) verify every Standard Webhooks signature; one endpoint each,
//! subscribed to `*`; N events published on the bus. Measured: events per second delivered and
//! signed to all ten receivers, and the latency from publishing an event to a receiver having it
//! (p50 / p99), on SQLite (default) or on a scratch database of a Postgres server.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use app::{
    domain::{
        events::{payloads::PaymentChanged, DomainEvent},
        webhooks::PayloadStyle,
        EndpointId, PrefixedId, TenantId,
    },
    ssr::{
        bus::EventContext,
        config::{Config, Sources},
        ids::{new_id, random_base62},
        webhooks::{secret_context, signing, store},
    },
};
use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, Router};
use clap::Args;

use crate::{
    bench::{ms, percentile},
    bench_bus::{redact, BenchResult, ScratchPostgres},
    startup::Application,
};

#[derive(Args, Debug)]
pub struct FanoutBenchArgs {
    /// Events to publish (each goes to every receiver).
    #[arg(long, default_value_t = 1000)]
    pub events: usize,
    /// Receivers, one endpoint each.
    #[arg(long, default_value_t = 10)]
    pub receivers: usize,
    /// Concurrent publishers.
    #[arg(long, default_value_t = 4)]
    pub publishers: usize,
    /// `sqlite` (a fresh file) or a `postgres://` server on which a scratch database is created
    /// and dropped afterwards.
    #[arg(long, default_value = "sqlite")]
    pub database: String,
}

/// What every receiver shares: when each payment's event was published, and the tallies.
struct Tally {
    published: Mutex<HashMap<String, Instant>>,
    latencies: Mutex<Vec<Duration>>,
    verified: AtomicU64,
    bad_signatures: AtomicU64,
}

struct ReceiverState {
    secret: Mutex<Option<String>>,
    tally: Arc<Tally>,
}

async fn receive(State(r): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp, signatures) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let secret = r.secret.lock().expect("secret").clone().unwrap_or_default();
    let valid = timestamp
        .parse::<i64>()
        .ok()
        .and_then(|ts| signing::sign(&secret, &id, ts, &body))
        .is_some_and(|expected| signatures.split(' ').any(|s| s == expected));
    if !valid {
        r.tally.bad_signatures.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    let payment = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["data"]["payload"]["payment_id"].as_str().map(str::to_owned));
    if let Some(payment) = payment {
        if let Some(published) = r.tally.published.lock().expect("published").get(&payment).copied() {
            r.tally.latencies.lock().expect("latencies").push(at.duration_since(published));
            r.tally.verified.fetch_add(1, Ordering::Relaxed);
        }
    }
    StatusCode::NO_CONTENT
}

pub async fn run(args: FanoutBenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "paybus bench fanout: {} events × {} receivers (signatures verified), {} publishers; figures from this machine (2 cores shared with the database and the receivers).",
        args.events, args.receivers, args.publishers
    );
    let dir = std::env::temp_dir().join(format!("paybus-bench-fanout-{}", random_base62(8)));
    std::fs::create_dir_all(&dir)?;
    let outcome = if args.database == "sqlite" {
        let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
        one("SQLite", &url, &dir, &args).await
    } else {
        match ScratchPostgres::create(&args.database).await {
            Ok(scratch) => {
                let outcome = one("Postgres", &scratch.url, &dir, &args).await;
                scratch.drop_database().await;
                outcome
            }
            Err(e) => Err(format!("{} unreachable: {e}", redact(&args.database)).into()),
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    outcome.map_err(|e| e.to_string().into())
}

async fn one(label: &str, url: &str, dir: &std::path::Path, args: &FanoutBenchArgs) -> BenchResult<()> {
    let data_dir = dir.join(label.to_lowercase()).display().to_string();
    let config = Config::from_sources(&Sources::from_pairs([
        ("DATABASE_URL", url),
        ("PAYBUS_DATA_DIR", data_dir.as_str()),
        ("PAYBUS_ADDR", "127.0.0.1:0"),
        ("PAYBUS_ALLOW_PRIVATE_WEBHOOK_TARGETS", "true"),
        ("PAYBUS_WEBHOOK_ENDPOINT_IN_FLIGHT", "8"),
        ("PAYBUS_WEBHOOK_POLL_MS", "200"),
    ]))?;
    let app = Application::build(config).await?;
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let tenant = TenantId::parse(&format!("ten_{}", random_base62(24)))?;
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, 'Bench', 0)").bind(tenant.as_str()).execute(&state.db.pool).await?;
    let tally = Arc::new(Tally { published: Mutex::default(), latencies: Mutex::default(), verified: AtomicU64::new(0), bad_signatures: AtomicU64::new(0) });
    for _ in 0..args.receivers {
        let receiver = Arc::new(ReceiverState { secret: Mutex::new(None), tally: tally.clone() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = Router::new().fallback(receive).with_state(receiver.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let id = new_id::<EndpointId>();
        let secret = signing::new_secret();
        *receiver.secret.lock().expect("secret") = Some(secret.clone());
        let now = state.bus.now_ms();
        let row = store::EndpointRow {
            id: id.to_string(),
            tenant_id: tenant.to_string(),
            url: format!("http://{addr}/hooks"),
            description: "bench receiver".into(),
            events: "[\"*\"]".into(),
            payload_style: PayloadStyle::Snapshot.as_str().into(),
            ordered: 0,
            rate_limit_per_sec: 10_000,
            status: store::STATUS_ACTIVE.into(),
            disabled_reason: None,
            secret: state.secrets.seal(&secret, &secret_context(tenant.as_str(), id.as_str())),
            previous_secret: None,
            previous_secret_expires_at: None,
            consecutive_failures: 0,
            failing_since: None,
            circuit_open_until: None,
            throttled_until: None,
            created_at: now,
            updated_at: now,
        };
        store::insert_endpoint(&state.db.pool, &row).await?;
    }

    let expected = (args.events * args.receivers) as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    let publishers = args.publishers.max(1);
    for p in 0..publishers {
        let (bus, tally, tenant) = (state.bus.clone(), tally.clone(), tenant.clone());
        let share = args.events / publishers + usize::from(p < args.events % publishers);
        tasks.push(tokio::spawn(async move {
            for i in 0..share {
                let payment_id = format!("pay_bench{p}x{i}");
                let event = DomainEvent::PaymentCaptured(PaymentChanged {
                    payment_id: payment_id.clone(),
                    stripe_id: format!("pi_bench{p}x{i}"),
                    amount: 1999,
                    amount_captured: 1999,
                    amount_refunded: 0,
                    currency: "eur".into(),
                    status: "succeeded".into(),
                    customer_email: None,
                    connected_account: None,
                    failure_message: None,
                });
                tally.published.lock().expect("published").insert(payment_id, Instant::now());
                bus.publish_now(&EventContext::system(Some(tenant.clone())), event).await?;
            }
            Ok::<_, app::AppError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let published_in = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    while tally.verified.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let delivered = tally.verified.load(Ordering::Relaxed);
    let mut latencies = tally.latencies.lock().expect("latencies").clone();
    latencies.sort();
    println!("\n{label}: {} events published in {} ({:.0} events/s)", args.events, ms(published_in), args.events as f64 / published_in.as_secs_f64());
    if latencies.is_empty() {
        println!("  nothing was delivered");
    } else {
        println!(
            "  delivered and verified: {delivered} of {expected} in {} → {:.0} events/s to all {} receivers ({:.0} deliveries/s)",
            ms(elapsed),
            delivered as f64 / args.receivers as f64 / elapsed.as_secs_f64(),
            args.receivers,
            delivered as f64 / elapsed.as_secs_f64(),
        );
        println!(
            "  latency publish → receiver: p50 {}, p99 {}, max {}; bad signatures: {}",
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().expect("non-empty")),
            tally.bad_signatures.load(Ordering::Relaxed),
        );
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
    state.db.pool.close().await;
    Ok(())
}
