//! `paybus bench ssr`: how long the server takes to render the payments page for a merchant with
//! a large ledger.
//!
//! A tenant gets N payments (default 100 000) written straight into the ledger's table in large
//! batches — the figure is about reading and rendering, not about ingesting — then a signed-in
//! browser session asks for `/payments` over real HTTP, sequentially, and the time to the last
//! byte of each complete server-rendered page (data included, streamed by Leptos) is reported as
//! p50 / p99. Runs on a fresh SQLite file unless `--database-url` names a disposable database.

use std::time::{Duration, Instant};

use app::{
    domain::{EmailAddress, Name, Password, PaymentId},
    ssr::{
        config::{Config, Sources},
        ids::new_id,
    },
};
use clap::Args;

use crate::{
    bench::{ms, percentile},
    startup::Application,
};

#[derive(Args, Debug)]
pub struct SsrBenchArgs {
    /// Payments in the merchant's ledger.
    #[arg(long, default_value_t = 100_000)]
    pub payments: usize,
    /// Page requests to time (sequential).
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// The path to render.
    #[arg(long, default_value = "/payments")]
    pub path: String,
    /// A disposable database (default: a fresh SQLite file).
    #[arg(long)]
    pub database_url: Option<String>,
}

const EMAIL: &str = "ssr-bench@paybus.dev";
const PASSWORD: &str = "ssr bench password for paybus";
/// Rows per INSERT statement: well under SQLite's 32 766 bound parameters (13 per row).
const BATCH: usize = 1_000;
/// (status, intent status, captured?, failed?) in the mix a real ledger has.
const STATES: &[(&str, &str, bool, bool)] = &[
    ("succeeded", "succeeded", true, false),
    ("succeeded", "succeeded", true, false),
    ("succeeded", "succeeded", true, false),
    ("succeeded", "succeeded", true, false),
    ("succeeded", "succeeded", true, false),
    ("failed", "requires_payment_method", false, true),
    ("requires_capture", "requires_capture", false, false),
    ("canceled", "canceled", false, false),
    ("refunded", "succeeded", true, false),
    ("processing", "processing", false, false),
];
const CURRENCIES: &[&str] = &["usd", "usd", "usd", "eur", "gbp", "jpy"];

pub async fn run(args: SsrBenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("paybus-bench-ssr-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let dir_s = dir.display().to_string();
    let config = Config::from_sources(&Sources::from_pairs([
        ("DATABASE_URL", url.as_str()),
        ("PAYBUS_DATA_DIR", dir_s.as_str()),
        ("PAYBUS_ADDR", "127.0.0.1:0"),
        ("PAYBUS_LOGIN_LIMIT_PER_IP", "1000000"),
        ("PAYBUS_LOGIN_LIMIT_PER_ACCOUNT", "1000000"),
        ("PAYBUS_WELCOME_EMAIL", "false"),
    ]))?;
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    let (_, tenant) = app::ssr::services::identity::create_verified_user(
        app.state(),
        EmailAddress::parse(EMAIL)?,
        Password::parse(PASSWORD)?,
        Name::parse("SSR bench store", "name")?,
    )
    .await?;

    let t = Instant::now();
    insert_payments(app.state(), &tenant.to_string(), args.payments).await?;
    println!("ledger: {} payments written for one tenant in {:.1} s", args.payments, t.elapsed().as_secs_f64());

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let cookie = sign_in(&client, &base).await?;
    let page_url = format!("{base}{}", args.path);

    // One untimed request warms the connection pool and the statement caches.
    let warm = fetch(&client, &page_url, &cookie).await?;
    if !warm.1.contains("payments-table") && args.path == "/payments" {
        return Err("the payments page rendered without its table: not signed in?".into());
    }
    let mut times = Vec::with_capacity(args.requests);
    let mut bytes = 0;
    for _ in 0..args.requests.max(1) {
        let t = Instant::now();
        let (_, body) = fetch(&client, &page_url, &cookie).await?;
        times.push(t.elapsed());
        bytes = body.len();
    }
    times.sort();
    println!(
        "SSR {} with {} payments ({} requests, sequential, {} KiB of HTML each): p50 {}, p99 {}, max {}",
        args.path,
        args.payments,
        times.len(),
        bytes / 1024,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().unwrap_or(&Duration::ZERO))
    );
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Logs in through the dashboard's own login form (a server function) and returns the session
/// cookies it set.
async fn sign_in(client: &reqwest::Client, base: &str) -> Result<String, Box<dyn std::error::Error>> {
    let path = <app::server_fns::account::Login as leptos::server_fn::ServerFn>::PATH;
    let res = client
        .post(format!("{base}{path}"))
        .header("origin", base)
        .header("accept", "text/html")
        .form(&[("email", EMAIL), ("password", PASSWORD)])
        .send()
        .await?;
    let cookie = res
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    if cookie.is_empty() {
        return Err(format!("login set no session cookie ({})", res.status()).into());
    }
    Ok(cookie)
}

async fn fetch(client: &reqwest::Client, url: &str, cookie: &str) -> Result<(reqwest::StatusCode, String), Box<dyn std::error::Error>> {
    let res = client.get(url).header("cookie", cookie).send().await?;
    let status = res.status();
    let body = res.text().await?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}").into());
    }
    Ok((status, body))
}

/// Writes `n` payments spread over the last 90 days in multi-row INSERTs, one transaction per
/// batch (the same SQL on both dialects: numbered parameters).
async fn insert_payments(state: &app::ssr::AppState, tenant: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let now = app::ssr::time_util::now_ms();
    let span_ms: i64 = 90 * 24 * 3600 * 1000;
    let mut written = 0;
    while written < n {
        let rows = BATCH.min(n - written);
        let mut sql = String::from(
            "INSERT INTO payments (id, tenant_id, stripe_payment_intent, stripe_charge, amount, currency, amount_captured, \
             amount_refunded, intent_status, failed, customer_email, status, created_at, updated_at) VALUES ",
        );
        for r in 0..rows {
            let b = r * 14;
            if r > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${},${},${},${},${},${},${},${})",
                b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11, b + 12, b + 13, b + 14
            ));
        }
        let mut query = sqlx::query(&sql);
        for r in 0..rows {
            let i = written + r;
            let (status, intent_status, captured, failed) = STATES[i % STATES.len()];
            let currency = CURRENCIES[(i / 7) % CURRENCIES.len()];
            let amount = if currency == "jpy" { 500 + (i as i64 * 37) % 20_000 } else { 500 + (i as i64 * 7_919) % 250_000 };
            let created = now - span_ms + (span_ms / n as i64) * i as i64;
            query = query
                .bind(new_id::<PaymentId>().to_string())
                .bind(tenant.to_owned())
                .bind(format!("pi_bench{i:08}"))
                .bind(format!("ch_bench{i:08}"))
                .bind(amount)
                .bind(currency)
                .bind(if captured { amount } else { 0 })
                .bind(if status == "refunded" { amount } else { 0 })
                .bind(intent_status)
                .bind(failed as i64)
                .bind(format!("customer{}@example.com", i % 5_000))
                .bind(status)
                .bind(created)
                .bind(created);
        }
        let mut tx = state.db.pool.begin().await?;
        query.execute(&mut *tx).await?;
        tx.commit().await?;
        written += rows;
    }
    Ok(())
}
