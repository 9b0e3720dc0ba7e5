//! `paybus bench`: the figures the foundation promises, measured on this machine.
//!
//! - startup: building the application (connect, migrate check, state) on an already-migrated
//!   database, as `paybus serve` does;
//! - login: `POST /api/v1/login` over real HTTP against the real server, with the configured
//!   argon2id cost (p50 / p95 / max);
//! - resident memory of this process after the server has idled.
//!
//! It runs against a fresh SQLite file in a temporary directory unless `--database-url` names
//! another database (use a disposable one: the bench creates a user).
//!
//! `paybus bench bus` measures the event bus instead (see [`crate::bench_bus`]); `paybus bench
//! fanout` outbound webhooks (see [`crate::bench_fanout`]); `paybus bench ssr` the payments page
//! rendered over a large ledger (see [`crate::bench_ssr`]).

use std::time::{Duration, Instant};

use app::{
    domain::{EmailAddress, Name, Password},
    ssr::config::{Config, Sources},
};
use clap::{Args, Subcommand};

use crate::startup::Application;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Another suite instead of startup and login.
    #[command(subcommand)]
    pub suite: Option<BenchSuite>,
    /// Login requests to time.
    #[arg(long, default_value_t = 50)]
    pub logins: usize,
    /// Startups to time.
    #[arg(long, default_value_t = 5)]
    pub startups: usize,
    /// A disposable database (default: a fresh SQLite file).
    #[arg(long)]
    pub database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum BenchSuite {
    /// Event bus throughput and latency: in memory, and durable on SQLite and Postgres.
    Bus(crate::bench_bus::BusBenchArgs),
    /// Signed Stripe webhook ingest over HTTP on SQLite and Postgres, beside raw inserts.
    Webhook(crate::bench_webhook::WebhookBenchArgs),
    /// Outbound webhooks: N events fanned out, signed, to 10 local receivers.
    Fanout(crate::bench_fanout::FanoutBenchArgs),
    /// Server-side rendering of the payments page over a large ledger (p50 / p99).
    Ssr(crate::bench_ssr::SsrBenchArgs),
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

pub async fn run(args: BenchArgs, base: &Config) -> Result<(), Box<dyn std::error::Error>> {
    match args.suite {
        Some(BenchSuite::Bus(bus)) => return crate::bench_bus::run(bus).await,
        Some(BenchSuite::Webhook(webhook)) => return crate::bench_webhook::run(webhook).await,
        Some(BenchSuite::Fanout(fanout)) => return crate::bench_fanout::run(fanout).await,
        Some(BenchSuite::Ssr(ssr)) => return crate::bench_ssr::run(ssr).await,
        None => {}
    }
    let dir = std::env::temp_dir().join(format!("paybus-bench-{}", std::process::id()));
    let url = args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let dir_s = dir.display().to_string();
    let config = || {
        Config::from_sources(&Sources::from_pairs([
            ("DATABASE_URL", url.as_str()),
            ("PAYBUS_DATA_DIR", dir_s.as_str()),
            ("PAYBUS_ADDR", "127.0.0.1:0"),
            ("PAYBUS_LOGIN_LIMIT_PER_IP", "1000000"),
            ("PAYBUS_LOGIN_LIMIT_PER_ACCOUNT", "1000000"),
        ]))
        .map(|mut c| {
            c.argon2 = base.argon2;
            c
        })
    };
    let cost = base.argon2;
    println!(
        "argon2id cost: m = {} KiB, t = {}, p = {}",
        cost.memory_kib, cost.iterations, cost.parallelism
    );

    // The first build migrates; the timed ones start on a migrated database, like a restart.
    drop(Application::build(config()?).await?);
    let mut startups = Vec::new();
    for _ in 0..args.startups.max(1) {
        let t = Instant::now();
        let app = Application::build(config()?).await?;
        startups.push(t.elapsed());
        drop(app);
    }
    startups.sort();
    println!("startup on a migrated database ({} runs): median {}, min {}", startups.len(), ms(percentile(&startups, 0.5)), ms(startups[0]));

    let app = Application::build(config()?).await?;
    let base_url = format!("http://{}", app.local_addr());
    let email = EmailAddress::parse("bench@paybus.dev")?;
    let password = "bench password for paybus";
    let _ = app::ssr::services::identity::create_verified_user(app.state(), email, Password::parse(password)?, Name::parse("Bench", "name")?).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib();

    let client = reqwest::Client::new();
    let body = serde_json::json!({ "email": "bench@paybus.dev", "password": password });
    let mut logins = Vec::new();
    for _ in 0..args.logins.max(1) {
        let t = Instant::now();
        let res = client.post(format!("{base_url}/api/v1/login")).json(&body).send().await?;
        let status = res.status();
        res.bytes().await?;
        logins.push(t.elapsed());
        if !status.is_success() {
            return Err(format!("login answered {status}").into());
        }
    }
    logins.sort();
    println!(
        "login over HTTP ({} requests, sequential): p50 {}, p95 {}, max {}",
        logins.len(),
        ms(percentile(&logins, 0.5)),
        ms(percentile(&logins, 0.95)),
        ms(*logins.last().unwrap())
    );
    if let Some(kib) = idle_rss {
        println!("resident memory after startup, idle: {:.1} MiB (this process, server + bench client)", kib as f64 / 1024.0);
    }
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
