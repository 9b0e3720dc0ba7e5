//! `paybus bench webhook`: signed Stripe webhook ingest over HTTP — verify, dedupe, ledger and
//! outbox, durable before the 2xx — on SQLite and Postgres, beside a raw single-row durable INSERT
//! loop on the same database in the same run. The load generator signs every request.

use std::{sync::Arc, time::Duration, time::Instant};

use app::ssr::{
    config::{Config, Sources},
    ids::random_base62,
    stripe::signature,
};
use clap::Args;

use crate::{
    bench::{ms, percentile},
    bench_bus::{redact, BenchResult, ScratchPostgres},
    startup::Application,
};

const SECRET: &str = "whsec_bench";

#[derive(Args, Debug)]
pub struct WebhookBenchArgs {
    /// Signed events to send per database.
    #[arg(long, default_value_t = 2000)]
    pub events: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Postgres server on which a scratch database is created, and dropped afterwards.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres_url: String,
    #[arg(long)]
    pub skip_postgres: bool,
}

pub async fn run(args: WebhookBenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    println!("paybus bench webhook: figures from this machine (2 cores; the database shares them). Compare side by side only.");
    let dir = std::env::temp_dir().join(format!("paybus-bench-webhook-{}", random_base62(8)));
    std::fs::create_dir_all(&dir)?;
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    one("SQLite", &sqlite, &dir, &args).await.map_err(|e| e.to_string())?;
    if args.skip_postgres {
        println!("Postgres: skipped (--skip-postgres)");
    } else {
        match ScratchPostgres::create(&args.postgres_url).await {
            Ok(scratch) => {
                let outcome = one("Postgres", &scratch.url, &dir, &args).await;
                scratch.drop_database().await;
                outcome.map_err(|e| e.to_string())?;
            }
            Err(e) => println!("Postgres: skipped ({} unreachable: {e})", redact(&args.postgres_url)),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn one(label: &str, url: &str, dir: &std::path::Path, args: &WebhookBenchArgs) -> BenchResult<()> {
    let data_dir = dir.join(label.to_lowercase());
    let data_dir_s = data_dir.display().to_string();
    let config = Config::from_sources(&Sources::from_pairs([
        ("DATABASE_URL", url),
        ("PAYBUS_DATA_DIR", data_dir_s.as_str()),
        ("PAYBUS_ADDR", "127.0.0.1:0"),
        ("STRIPE_PLATFORM_WEBHOOK_SECRET", SECRET),
    ]))?;
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let tenant = format!("ten_{}", random_base62(24));
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, 'Bench', 0)").bind(&tenant).execute(&state.db.pool).await?;

    // The yardstick: one durable single-row insert per transaction, same database, same clients.
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id TEXT PRIMARY KEY, body TEXT NOT NULL)").execute(&state.db.pool).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for share in shares(args.events, args.clients) {
        let db = state.db.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let mut tx = db.begin().await?;
                sqlx::query("INSERT INTO bench_raw (id, body) VALUES ($1, $2)").bind(random_base62(24)).bind("x".repeat(200)).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Ok::<_, app::AppError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let raw_rate = args.events as f64 / started.elapsed().as_secs_f64();

    let client = reqwest::Client::builder().pool_max_idle_per_host(args.clients).build()?;
    let latencies = Arc::new(tokio::sync::Mutex::new(Vec::with_capacity(args.events)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for share in shares(args.events, args.clients) {
        let (client, base, tenant, latencies) = (client.clone(), base.clone(), tenant.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let event = crate::cli_stripe::build_event("payment_intent.succeeded", &tenant, None, Some(1999), now)?;
                let body = serde_json::to_vec(&event)?;
                let header = signature::header_for(SECRET, now, &body);
                let sent = Instant::now();
                let response = client
                    .post(format!("{base}/webhook"))
                    .header("content-type", "application/json")
                    .header("Stripe-Signature", header)
                    .body(body)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    return Err(format!("webhook answered {}", response.status()).into());
                }
                latencies.lock().await.push(sent.elapsed());
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed();
    let rate = args.events as f64 / elapsed.as_secs_f64();
    let mut sorted = latencies.lock().await.clone();
    sorted.sort();
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments").fetch_one(&state.db.pool).await?;
    println!("\n{label}: {} signed events from {} clients over HTTP (verify + dedupe + ledger + outbox, committed before 2xx)", args.events, args.clients);
    println!("  raw INSERT + commit, {} clients:   {raw_rate:.0} tx/s", args.clients);
    println!(
        "  webhook ingest:                  {rate:.0} events/s ({:.0}% of raw); latency p50 {}, p99 {}; {payments} payments in the ledger",
        100.0 * rate / raw_rate,
        ms(percentile(&sorted, 0.50)),
        ms(percentile(&sorted, 0.99)),
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
    state.db.pool.close().await;
    Ok(())
}

fn shares(total: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..parts).map(|i| total / parts + usize::from(i < total % parts)).filter(|s| *s > 0).collect()
}
