//! The demo merchant's data for `paybus demo seed` and `paybus serve --demo`: a few hundred
//! payments over the last 30 days (four currencies, every state, refunds, open and closed
//! disputes), a connected account, two outbound webhook endpoints (one healthy, one failing),
//! enabled plugins, and bus deliveries in every state (the chat-alerts plugin posts to an
//! unreachable webhook while the history is delivered, then is switched off again).
//!
//! Everything that can go through the real code paths does: payments, refunds, disputes and the
//! connected account's onboarding are Stripe events ingested exactly as the webhook ingests them
//! (built with `paybus stripe trigger`'s builder), settings go through the services, and the
//! events they publish are delivered by the bus's own dispatcher to the real listeners (audit
//! log, analytics, CRM activity, chat alerts, outbound webhooks …). The seed runs a bus of its
//! own whose clock walks through the past 46 days, a day at a time, so payments, events and
//! delivery attempts carry their historical times and the overview's charts fill. Only the
//! outbound webhook attempts are written through the repository (no receiver exists to deliver
//! to while seeding).
//!
//! Deterministic: a fixed xorshift seed picks the same stories every time (ids differ).

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
};

use app::{
    domain::{
        balances::CurrencyIn,
        events::{payloads::ConnectAccountChanged, DomainEvent},
        plugins::PluginUpdate,
        webhooks::WebhookEndpointIn,
        PrefixedId, Role, TenantId, UserId,
    },
    ssr::{
        auth::{principal::Credential, Principal, TenantAccess},
        bus::{maintenance, Bus, Clock, EventContext, Registry},
        db::{users, Db},
        ids::{new_id, random_base62},
        ledger::ingest::{self, Source},
        services::{self, demo::DEMO_EMAIL},
        webhooks::store as webhook_store,
        AppState,
    },
    AppError,
};
use serde_json::{json, Value};

const DAY: i64 = 86_400;
/// Payments over the last 30 days, besides the five fixed stories and the archived history.
const GENERATED: usize = 260;
/// Older payments (35 to 45 days ago) whose events are moved to the archive.
const ARCHIVED: usize = 12;
/// Events older than this many days are archived (the demo's retention).
const ARCHIVE_AFTER_DAYS: i64 = 32;
/// The chat-alerts plugin posts here: nothing listens, so its deliveries fail and are retried.
const UNREACHABLE_CHAT: &str = "http://127.0.0.1:9/hooks/paybus-demo-alerts";

/// (event types in order, amount in cents, customer) per fixed demo payment. The browser tests
/// find these by email and refund or capture them: keep them as they are.
const STORIES: &[(&[&str], i64, &str)] = &[
    (
        &[
            "payment_intent.created",
            "payment_intent.succeeded",
            "charge.succeeded",
        ],
        4_900,
        "ada@example.com",
    ),
    (
        &[
            "payment_intent.created",
            "payment_intent.succeeded",
            "charge.succeeded",
            "refund.created",
        ],
        12_000,
        "grace@example.com",
    ),
    (
        &[
            "payment_intent.created",
            "payment_intent.succeeded",
            "charge.succeeded",
            "charge.dispute.created",
        ],
        25_000,
        "alan@example.com",
    ),
    (
        &["payment_intent.created", "payment_intent.payment_failed"],
        3_500,
        "edsger@example.com",
    ),
    (
        &[
            "payment_intent.created",
            "payment_intent.amount_capturable_updated",
        ],
        8_000,
        "barbara@example.com",
    ),
];

/// A tiny deterministic generator (xorshift64*): the demo needs variety, not cryptography.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What becomes of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed,
    Authorized,
    Canceled,
    Processing,
    RequiresAction,
    PartlyRefunded,
    Refunded,
    DisputeOpen,
    DisputeUnderReview,
    DisputeWon,
    DisputeLost,
}

/// Shares of the generated payments (per mille); each outcome appears at least twice.
const MIX: &[(Outcome, usize)] = &[
    (Outcome::Failed, 110),
    (Outcome::Authorized, 40),
    (Outcome::Canceled, 35),
    (Outcome::Processing, 25),
    (Outcome::RequiresAction, 15),
    (Outcome::PartlyRefunded, 60),
    (Outcome::Refunded, 45),
    (Outcome::DisputeOpen, 15),
    (Outcome::DisputeUnderReview, 12),
    (Outcome::DisputeWon, 15),
    (Outcome::DisputeLost, 15),
];

const FIRST: &[&str] = &[
    "amara", "bjorn", "chen", "dana", "elif", "farah", "gustav", "hana", "ines", "jonas", "kofi",
    "lena", "mateo", "nadia", "oskar", "priya", "quinn", "rosa", "sven", "tomas", "uma", "vera",
    "wei", "ximena", "yusuf", "zoe", "aiko", "bruno", "carmen", "dmitri",
];
const LAST: &[&str] = &[
    "okafor",
    "lindqvist",
    "wang",
    "moreau",
    "yilmaz",
    "haddad",
    "berg",
    "sato",
    "ferreira",
    "keller",
    "mensah",
    "novak",
    "garcia",
    "petrova",
    "nilsson",
    "iyer",
    "murphy",
    "rossi",
    "larsen",
    "costa",
];
const DISPUTE_REASONS: &[&str] = &[
    "fraudulent",
    "product_not_received",
    "duplicate",
    "subscription_canceled",
    "product_unacceptable",
    "general",
];

/// One payment's story.
struct Story {
    at: i64,
    intent: String,
    charge: String,
    dispute: String,
    amount: i64,
    currency: &'static str,
    email: String,
    outcome: Outcome,
    account: Option<String>,
    reason: &'static str,
}

/// A clock the seed moves: to each event's time while ingesting, to the end of each day while
/// delivering.
#[derive(Debug, Default)]
struct SeedClock(AtomicI64);

impl SeedClock {
    fn set_secs(&self, secs: i64) {
        self.0.store(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for SeedClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a seed produced, counted from the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub store_tenant: String,
    pub marketplace_tenant: String,
    pub payments: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_currency: BTreeMap<String, i64>,
    pub customers: i64,
    pub refunds: i64,
    pub disputes_open: i64,
    pub disputes_won: i64,
    pub disputes_lost: i64,
    pub connected_accounts: i64,
    pub endpoints: i64,
    pub webhook_attempts_succeeded: i64,
    pub webhook_attempts_failed: i64,
    pub events: i64,
    pub events_archived: i64,
    /// Deliveries by state: succeeded, skipped, dead, pending (never tried), retrying.
    pub deliveries: BTreeMap<String, i64>,
    pub plugins_enabled: Vec<String>,
}

impl Summary {
    /// Human lines for the command line (no URL: the caller knows it).
    pub fn lines(&self) -> Vec<String> {
        let join = |m: &BTreeMap<String, i64>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        vec![
            format!("demo: Demo Store {} and Demo Marketplace {} (marked as demo data)", self.store_tenant, self.marketplace_tenant),
            format!("demo: {} payments from {} customers over the last 30 days: {}", self.payments, self.customers, join(&self.by_status)),
            format!("demo: currencies: {}", join(&self.by_currency)),
            format!(
                "demo: {} refunds; disputes: {} open, {} won, {} lost; {} connected account (charges enabled)",
                self.refunds, self.disputes_open, self.disputes_won, self.disputes_lost, self.connected_accounts
            ),
            format!(
                "demo: {} webhook endpoints, {} attempts succeeded and {} failed",
                self.endpoints, self.webhook_attempts_succeeded, self.webhook_attempts_failed
            ),
            format!("demo: {} events ({} archived); deliveries: {}", self.events, self.events_archived, join(&self.deliveries)),
            format!("demo: plugins enabled: {}", self.plugins_enabled.join(", ")),
        ]
    }
}

/// What `serve --demo` should do with this database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Nothing but (possibly) an empty demo: seed it.
    Seed,
    /// The demo is there already: keep it (a restart must not wipe what a visitor did).
    Keep,
    /// Someone's real data is here: never seed without `--force`.
    Refuse(String),
}

pub async fn plan(db: &Db) -> Result<Plan, AppError> {
    if services::demo::is_seeded(db).await? {
        return Ok(Plan::Keep);
    }
    Ok(match services::demo::non_demo_data(db).await? {
        Some(found) => Plan::Refuse(found),
        None => Plan::Seed,
    })
}

/// The message for a database that holds more than demo data.
pub fn refusal(found: &str) -> String {
    format!(
        "refusing to seed demo data: the database holds {found}. Demo data is only created in an empty database; \
         run `paybus demo seed --force` to (re)create the demo tenants anyway (only tenants marked as demo are replaced)"
    )
}

/// Re-creates the demo: removes the demo tenants with all their rows, creates the login and the
/// tenants again, and fills Demo Store. The caller has checked [`plan`] / `--force`.
pub async fn seed(state: &AppState) -> Result<Summary, AppError> {
    let started = std::time::Instant::now();
    let removed = services::demo::remove_demo_tenants(&state.db).await?;
    if removed > 0 {
        println!("demo: removed the previous demo tenants ({removed})");
    }
    services::demo::ensure(state).await?;
    let (store, marketplace, user) = demo_tenants(&state.db).await?;
    let access = TenantAccess {
        tenant_id: store.clone(),
        role: Role::Owner,
        principal: Principal::User {
            user_id: user,
            credential: Credential::Session,
        },
    };
    configure(state, &access).await?;
    let clock = Arc::new(SeedClock::default());
    let bus = seed_bus(state, clock.clone());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let account = connect_account(state, &bus, &clock, &store, now - 46 * DAY).await?;
    let stories = stories(&account, now);
    let mut events: Vec<(i64, Value)> = Vec::new();
    for story in &stories {
        events.extend(story_events(story, store.as_str())?);
    }
    events.extend(fixed_events(store.as_str(), now)?);
    events.sort_by_key(|(at, _)| *at);
    println!(
        "demo: ingesting {} Stripe events for {} payments …",
        events.len(),
        stories.len() + STORIES.len()
    );

    // A day at a time: that day's events in one transaction, then the bus delivers them (and
    // retries earlier failures) as of the day's end. The last pass stops a minute short of now:
    // what the configuration steps above published just now stays pending for the server.
    let first = events.first().map(|(at, _)| *at).unwrap_or(now);
    let mut day_end = first - first.rem_euclid(DAY) + DAY;
    let mut queue = events.into_iter().peekable();
    let (mut ingesting, mut delivering, mut delivered) =
        (std::time::Duration::ZERO, std::time::Duration::ZERO, 0);
    loop {
        let step = std::time::Instant::now();
        let last_day = day_end > now;
        let mut tx = state.db.begin().await?;
        while let Some((at, _)) = queue.peek() {
            if *at >= day_end && !last_day {
                break;
            }
            let (at, event) = queue.next().expect("peeked");
            clock.set_secs(at);
            let raw = serde_json::to_vec(&event).map_err(|_| AppError::Internal)?;
            ingest::ingest_in(&bus, &mut tx, &raw, Source::ReplayFile, at * 1000).await?;
        }
        tx.commit().await?;
        ingesting += step.elapsed();
        let step = std::time::Instant::now();
        clock.set_secs(day_end.min(now - 60));
        let pass = bus.dispatcher().run_due().await?;
        delivering += step.elapsed();
        delivered += pass.claimed;
        if last_day {
            break;
        }
        day_end += DAY;
    }
    println!(
        "demo: ingested in {} ms; {delivered} deliveries to the listeners in {} ms",
        ingesting.as_millis(),
        delivering.as_millis()
    );
    // The alerts' outage is history now: the merchant switched the broken chat webhook off (its
    // dead letters stay; what was still being retried is skipped once the server runs).
    services::plugins::update(
        state,
        &access,
        "chat-alerts",
        PluginUpdate {
            enabled: Some(false),
            config: None,
        },
    )
    .await?;
    webhook_attempts(
        &state.db,
        store.as_str(),
        now,
        state.config.allow_private_webhook_targets,
    )
    .await?;
    maintenance::archive_tenant_older_than(
        &state.db,
        store.as_str(),
        (now - ARCHIVE_AFTER_DAYS * DAY) * 1000,
        now * 1000,
    )
    .await?;
    let summary = summary(&state.db, &store, &marketplace).await?;
    println!("demo: seeded in {} ms", started.elapsed().as_millis());
    Ok(summary)
}

async fn demo_tenants(db: &Db) -> Result<(TenantId, TenantId, UserId), AppError> {
    let user = users::find_by_email(&db.pool, DEMO_EMAIL)
        .await?
        .ok_or(AppError::Internal)?;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.id, t.name FROM tenants t JOIN memberships m ON m.tenant_id = t.id WHERE m.user_id = $1 AND t.is_demo = 1",
    )
    .bind(&user.id)
    .fetch_all(&db.pool)
    .await?;
    let find = |name: &str| {
        rows.iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| TenantId::from_trusted(id.clone()))
            .ok_or(AppError::Internal)
    };
    Ok((
        find(services::demo::DEMO_STORE)?,
        find(services::demo::DEMO_MARKETPLACE)?,
        UserId::from_trusted(user.id),
    ))
}

/// A bus on the same database and listeners, on the seed's clock. Its chat-alerts listener may
/// reach loopback addresses, so the unreachable alert URL fails as a network outage (retried)
/// rather than being refused outright.
fn seed_bus(state: &AppState, clock: Arc<SeedClock>) -> Bus {
    let mut deps = state.plugin_deps.clone();
    deps.allow_private_targets = true;
    let chat = state
        .plugins
        .listeners(&deps)
        .into_iter()
        .find(|l| l.name() == "chat-alerts");
    let mut registry = Registry::new();
    for listener in state.bus.registry().listeners() {
        let listener = match &chat {
            Some(chat) if listener.name() == chat.name() => chat.clone(),
            _ => listener.clone(),
        };
        registry
            .subscribe(listener)
            .expect("names are unique in the app's registry");
    }
    Bus::new(
        state.db.clone(),
        registry,
        clock,
        state.bus.config().clone(),
    )
}

/// Currencies, plugins and endpoints, through the same services as the dashboard.
async fn configure(state: &AppState, access: &TenantAccess) -> Result<(), AppError> {
    for currency in ["eur", "gbp", "jpy"] {
        services::currencies::set(
            state,
            access,
            CurrencyIn {
                currency: currency.into(),
                enabled: true,
            },
        )
        .await?;
    }
    for plugin in ["audit-log", "analytics", "crm-activity"] {
        services::plugins::update(
            state,
            access,
            plugin,
            PluginUpdate {
                enabled: Some(true),
                config: None,
            },
        )
        .await?;
    }
    let mut chat = serde_json::Map::new();
    chat.insert("webhook_url".into(), json!(UNREACHABLE_CHAT));
    chat.insert("events".into(), json!(["dispute.*", "payment.failed"]));
    services::plugins::update(
        state,
        access,
        "chat-alerts",
        PluginUpdate {
            enabled: Some(true),
            config: Some(chat),
        },
    )
    .await?;
    let failing_url = if state.config.allow_private_webhook_targets {
        "http://127.0.0.1:9/paybus/webhooks"
    } else {
        "https://erp.demo-store.invalid/paybus/webhooks"
    };
    for (url, description, events) in [
        (
            "https://hooks.demo-store.example/paybus",
            "Order fulfilment (healthy)",
            vec!["payment.succeeded", "refund.succeeded"],
        ),
        (
            failing_url,
            "Legacy ERP sync (unreachable)",
            vec!["dispute.*", "payment.failed"],
        ),
    ] {
        let input = WebhookEndpointIn {
            url: url.into(),
            description: Some(description.into()),
            events: Some(events.into_iter().map(str::to_owned).collect()),
            payload_style: None,
            ordered: None,
            rate_limit_per_sec: None,
        };
        services::webhook_endpoints::create(state, access, input).await?;
    }
    Ok(())
}

/// Demo Store's Express account: created as paybus creates accounts, then onboarded by Stripe's
/// `account.updated` (charges and payouts enabled) through the webhook ingest.
async fn connect_account(
    state: &AppState,
    bus: &Bus,
    clock: &SeedClock,
    store: &TenantId,
    at: i64,
) -> Result<String, AppError> {
    let account = format!("acct_demo{}", random_base62(10));
    clock.set_secs(at);
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO stripe_accounts (account_id, tenant_id, charges_enabled, payouts_enabled, details_submitted, requirements, stripe_updated_at, created_at, updated_at)
         VALUES ($1, $2, 0, 0, 0, NULL, $3, $4, $4)",
    )
    .bind(&account)
    .bind(store.as_str())
    .bind(at)
    .bind(at * 1000)
    .execute(&mut *tx)
    .await?;
    let created = ConnectAccountChanged {
        account_id: account.clone(),
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: false,
    };
    bus.publish(
        &mut tx,
        &EventContext::system(Some(store.clone())),
        DomainEvent::ConnectAccountCreated(created),
    )
    .await?;
    let mut event =
        crate::cli_stripe::build_event("account.updated", store.as_str(), None, None, at + 3600)
            .map_err(|e| AppError::invalid("demo", e.to_string(), None))?;
    event["account"] = json!(account);
    let o = &mut event["data"]["object"];
    o["id"] = json!(account);
    o["charges_enabled"] = json!(true);
    o["payouts_enabled"] = json!(true);
    o["details_submitted"] = json!(true);
    o["business_profile"]["name"] = json!("Demo Store Marketplace Seller");
    o["requirements"] = json!({ "currently_due": [], "eventually_due": [], "past_due": [], "disabled_reason": null });
    clock.set_secs(at + 3600);
    let raw = serde_json::to_vec(&event).map_err(|_| AppError::Internal)?;
    ingest::ingest_in(bus, &mut tx, &raw, Source::ReplayFile, (at + 3600) * 1000).await?;
    tx.commit().await?;
    Ok(account)
}

/// The generated payments, oldest first.
fn stories(account: &str, now: i64) -> Vec<Story> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut customers: Vec<String> = Vec::new();
    while customers.len() < 140 {
        let email = format!("{}.{}@example.net", rng.pick(FIRST), rng.pick(LAST));
        if !customers.contains(&email) {
            customers.push(email);
        }
    }
    let mut outcomes: Vec<Outcome> = Vec::new();
    for (outcome, share) in MIX {
        outcomes.extend(std::iter::repeat_n(
            *outcome,
            (GENERATED * share / 1000).max(2),
        ));
    }
    while outcomes.len() < GENERATED + ARCHIVED {
        outcomes.push(Outcome::Succeeded);
    }
    // Fisher–Yates with the seeded generator.
    for i in (1..outcomes.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        outcomes.swap(i, j);
    }
    let mut stories = Vec::with_capacity(outcomes.len());
    for (n, outcome) in outcomes.into_iter().enumerate() {
        let at = if n < ARCHIVED {
            now - rng.range(35 * DAY, 45 * DAY)
        } else {
            // Busier towards today, quieter at night, never in the last six hours (the fixed
            // stories are the newest payments).
            let days_ago = 29 - (rng.range(0, 29 * 29) as f64).sqrt() as i64;
            let day_start = now - days_ago * DAY - 6 * 3600;
            day_start - rng.range(0, 16 * 3600)
        };
        let currency = *rng.pick(&[
            "usd", "usd", "usd", "usd", "usd", "eur", "eur", "eur", "gbp", "gbp", "jpy",
        ]);
        let amount = match currency {
            "jpy" => rng.range(50, 3_000) * 10,
            _ => {
                let major = rng.range(5, 240);
                major * 100 + *rng.pick(&[0, 0, 50, 99])
            }
        };
        // Repeat customers: the first third of the list buys most often.
        let who = if rng.below(3) == 0 {
            rng.below(customers.len() as u64)
        } else {
            rng.below(customers.len() as u64 / 3)
        };
        let connected =
            matches!(outcome, Outcome::Succeeded | Outcome::PartlyRefunded) && rng.below(10) == 0;
        let suffix = random_base62(12);
        stories.push(Story {
            at,
            intent: format!("pi_demo{suffix}"),
            charge: format!("ch_demo{suffix}"),
            dispute: format!("dp_demo{suffix}"),
            amount,
            currency,
            email: customers[who as usize].clone(),
            outcome,
            account: connected.then(|| account.to_owned()),
            reason: *rng.pick(DISPUTE_REASONS),
        });
    }
    // Recent failures, so the chat alerts have deliveries still being retried.
    for (n, days) in [2, 3].into_iter().enumerate() {
        let suffix = random_base62(12);
        stories.push(Story {
            at: now - days * DAY - 7 * 3600,
            intent: format!("pi_demo{suffix}"),
            charge: format!("ch_demo{suffix}"),
            dispute: format!("dp_demo{suffix}"),
            amount: 2_400 + n as i64 * 1_100,
            currency: "usd",
            email: customers[n].clone(),
            outcome: Outcome::Failed,
            account: None,
            reason: "general",
        });
    }
    stories.sort_by_key(|s| s.at);
    stories
}

/// The Stripe events of one story, each with its time.
fn story_events(s: &Story, tenant: &str) -> Result<Vec<(i64, Value)>, AppError> {
    use Outcome::*;
    // A card payment that succeeds at once: Stripe's succeeded intent and charge.
    let paid = ["payment_intent.succeeded", "charge.succeeded"];
    let then = |more: &[&'static str]| {
        paid.iter()
            .chain(more)
            .copied()
            .collect::<Vec<&'static str>>()
    };
    let types: Vec<&str> = match s.outcome {
        Succeeded => then(&[]),
        Failed => vec![
            "payment_intent.created",
            "charge.failed",
            "payment_intent.payment_failed",
        ],
        Authorized => vec![
            "payment_intent.created",
            "payment_intent.amount_capturable_updated",
        ],
        Canceled => vec![
            "payment_intent.created",
            "payment_intent.amount_capturable_updated",
            "payment_intent.canceled",
        ],
        Processing => vec!["payment_intent.created", "payment_intent.processing"],
        RequiresAction => vec!["payment_intent.created", "payment_intent.requires_action"],
        PartlyRefunded | Refunded => then(&["refund.created"]),
        DisputeOpen => then(&["charge.dispute.created"]),
        DisputeUnderReview => then(&[
            "charge.dispute.created",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.updated",
        ]),
        DisputeWon => then(&[
            "charge.dispute.created",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.updated",
            "charge.dispute.funds_reinstated",
            "charge.dispute.closed",
        ]),
        DisputeLost => then(&[
            "charge.dispute.created",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.updated",
            "charge.dispute.closed",
        ]),
    };
    let mut out = Vec::new();
    for (step, event_type) in types.iter().enumerate() {
        // Seconds apart at checkout; refunds a day later, disputes days later, closed weeks later.
        let at = s.at
            + match *event_type {
                "refund.created" => 26 * 3600,
                "charge.dispute.created" => 3 * DAY,
                "charge.dispute.funds_withdrawn" => 3 * DAY + 60,
                "charge.dispute.updated" => 5 * DAY,
                "charge.dispute.funds_reinstated" => 12 * DAY,
                "charge.dispute.closed" => 12 * DAY + 60,
                _ => 20 * step as i64,
            };
        let mut event =
            crate::cli_stripe::build_event(event_type, tenant, Some(&s.intent), Some(s.amount), at)
                .map_err(|e| AppError::invalid("demo", e.to_string(), None))?;
        if let Some(account) = &s.account {
            event["account"] = json!(account);
        }
        let o = &mut event["data"]["object"];
        o["currency"] = json!(s.currency);
        o["receipt_email"] = json!(s.email);
        if o["object"] == "charge" {
            o["id"] = json!(s.charge);
        }
        if o.get("charge").is_some() {
            o["charge"] = json!(s.charge);
        }
        match *event_type {
            "charge.failed" | "payment_intent.payment_failed" => {
                let (code, message) = match s.amount % 3 {
                    0 => ("insufficient_funds", "Your card has insufficient funds."),
                    1 => ("do_not_honor", "Your card was declined."),
                    _ => ("expired_card", "Your card has expired."),
                };
                o["paid"] = json!(false);
                o["failure_code"] = json!("card_declined");
                o["failure_message"] = json!(message);
                o["last_payment_error"] = json!({ "type": "card_error", "code": "card_declined", "decline_code": code, "message": message });
            }
            "refund.created" => {
                o["amount"] = json!(if s.outcome == Outcome::Refunded {
                    s.amount
                } else {
                    partial(s.amount, s.currency)
                });
                o["reason"] = json!(if s.outcome == Outcome::Refunded {
                    "requested_by_customer"
                } else {
                    "duplicate"
                });
            }
            t if t.starts_with("charge.dispute.") => {
                o["id"] = json!(s.dispute);
                o["reason"] = json!(s.reason);
                o["evidence_details"]["due_by"] = json!(s.at + 3 * DAY + 7 * DAY);
                o["status"] = json!(match (t, s.outcome) {
                    ("charge.dispute.closed", Outcome::DisputeLost) => "lost",
                    ("charge.dispute.closed" | "charge.dispute.funds_reinstated", _) => "won",
                    ("charge.dispute.updated", _) => "under_review",
                    _ => "needs_response",
                });
            }
            _ => {}
        }
        out.push((at, event));
    }
    Ok(out)
}

/// A part of `amount` that reads like a real partial refund (zero-decimal currencies stay whole).
fn partial(amount: i64, currency: &str) -> i64 {
    let third = amount / 3;
    if currency == "jpy" {
        (third / 10).max(1) * 10
    } else {
        (third / 100).max(1) * 100
    }
}

/// The five fixed stories of the first demo, exactly as before.
fn fixed_events(tenant: &str, now: i64) -> Result<Vec<(i64, Value)>, AppError> {
    let mut out = Vec::new();
    for (n, (types, amount, email)) in STORIES.iter().enumerate() {
        let intent = format!("pi_demo{}{}", n, random_base62(10));
        for (step, event_type) in types.iter().enumerate() {
            let at = now - 3600 * (STORIES.len() - n) as i64 + 60 * step as i64;
            let mut event = crate::cli_stripe::build_event(
                event_type,
                tenant,
                Some(&intent),
                Some(*amount),
                at,
            )
            .map_err(|e| AppError::invalid("demo", e.to_string(), None))?;
            event["data"]["object"]["receipt_email"] = json!(email);
            if *event_type == "refund.created" {
                event["data"]["object"]["amount"] = json!(amount / 3);
            }
            out.push((at, event));
        }
    }
    Ok(out)
}

/// The endpoints' delivery history. The fanout listener queued a message per matching event;
/// as no receiver exists while seeding, the attempts are recorded through the webhook store:
/// the healthy endpoint answered 200 (a few after one 503), the unreachable one refused every
/// connection — its old messages gave up, its recent ones are still scheduled, and the server's
/// sender tries those for real once it runs.
async fn webhook_attempts(
    db: &Db,
    tenant: &str,
    now: i64,
    allow_private: bool,
) -> Result<(), AppError> {
    let endpoints: Vec<(String, String)> =
        sqlx::query_as("SELECT id, description FROM webhook_endpoints WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at, id")
            .bind(tenant)
            .fetch_all(&db.pool)
            .await?;
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let refused = if allow_private {
        "error sending request: tcp connect error: Connection refused (os error 111)"
    } else {
        "error sending request: dns error: failed to lookup address information: Name or service not known"
    };
    let mut tx = db.begin().await?;
    for (endpoint, description) in endpoints {
        let healthy = description.contains("healthy");
        let messages: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.id, COALESCE(e.occurred_at, m.created_at) FROM webhook_messages m LEFT JOIN events e ON e.id = m.event_id
             WHERE m.endpoint_id = $1 AND m.attempts = 0 ORDER BY 2",
        )
        .bind(&endpoint)
        .fetch_all(&mut *tx)
        .await?;
        let (mut failures, mut failing_since) = (0_i64, None);
        for (message, at) in messages {
            let mut attempts: Vec<(i64, Option<i64>, Option<&str>)> = Vec::new();
            let (status, next_at);
            if healthy {
                if rng.below(12) == 0 {
                    attempts.push((at + 2_000, Some(503), Some("the endpoint answered 503")));
                }
                attempts.push((at + 2_000 + attempts.len() as i64 * 60_000, Some(200), None));
                (status, next_at) = ("succeeded", None);
            } else {
                let recent = at > (now - 3 * DAY) * 1000;
                let tries = if recent { 2 } else { 5 };
                for k in 0..tries {
                    attempts.push((at + 2_000 + k * k * 600_000, None, Some(refused)));
                }
                (status, next_at) = if recent {
                    ("pending", Some((now + 3600) * 1000))
                } else {
                    ("failed", None)
                };
                failures += 1;
                failing_since.get_or_insert(at);
            }
            let last = attempts.last().copied().expect("at least one attempt");
            for (n, (when, code, error)) in attempts.iter().enumerate() {
                webhook_store::insert_attempt(
                    &mut *tx,
                    &webhook_store::AttemptRow {
                        id: new_id::<app::domain::WebhookAttemptId>().to_string(),
                        message_id: message.clone(),
                        endpoint_id: endpoint.clone(),
                        tenant_id: tenant.to_owned(),
                        attempt: n as i64 + 1,
                        trigger_kind: "scheduled".into(),
                        status: if *code == Some(200) {
                            "succeeded"
                        } else {
                            "failed"
                        }
                        .into(),
                        status_code: *code,
                        latency_ms: if code.is_some() {
                            rng.range(35, 420)
                        } else {
                            rng.range(1, 4)
                        },
                        response_excerpt: code.map(|c| {
                            if c == 200 {
                                "{\"received\":true}".to_owned()
                            } else {
                                "Service Unavailable".to_owned()
                            }
                        }),
                        error: error.map(str::to_owned),
                        created_at: *when,
                    },
                )
                .await?;
            }
            sqlx::query(
                "UPDATE webhook_messages SET status = $2, attempts = $3, next_attempt_at = $4, last_status_code = $5, last_error = $6,
                     created_at = $7, updated_at = $8, completed_at = $9
                 WHERE id = $1",
            )
            .bind(&message)
            .bind(status)
            .bind(attempts.len() as i64)
            .bind(next_at)
            .bind(last.1)
            .bind(last.2)
            .bind(at)
            .bind(last.0)
            .bind((status != "pending").then_some(last.0))
            .execute(&mut *tx)
            .await?;
        }
        if failures > 0 {
            sqlx::query("UPDATE webhook_endpoints SET consecutive_failures = $2, failing_since = $3 WHERE id = $1")
                .bind(&endpoint)
                .bind(failures)
                .bind(failing_since)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Counts what the demo tenants hold.
pub async fn summary(
    db: &Db,
    store: &TenantId,
    marketplace: &TenantId,
) -> Result<Summary, AppError> {
    let t = store.as_str();
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(t)
            .fetch_one(&db.pool)
            .await
    };
    let pairs = |sql: &'static str| async move {
        sqlx::query_as::<_, (String, i64)>(sql)
            .bind(t)
            .fetch_all(&db.pool)
            .await
    };
    let mut deliveries: BTreeMap<String, i64> =
        pairs("SELECT CASE WHEN status = 'pending' AND attempts > 0 THEN 'retrying' ELSE status END, COUNT(*) FROM event_deliveries WHERE tenant_id = $1 GROUP BY 1")
            .await?
            .into_iter()
            .collect();
    deliveries.retain(|_, n| *n > 0);
    Ok(Summary {
        store_tenant: store.to_string(),
        marketplace_tenant: marketplace.to_string(),
        payments: count("SELECT COUNT(*) FROM payments WHERE tenant_id = $1").await?,
        by_status: pairs("SELECT status, COUNT(*) FROM payments WHERE tenant_id = $1 GROUP BY status").await?.into_iter().collect(),
        by_currency: pairs("SELECT currency, COUNT(*) FROM payments WHERE tenant_id = $1 GROUP BY currency").await?.into_iter().collect(),
        customers: count("SELECT COUNT(DISTINCT customer_email) FROM payments WHERE tenant_id = $1").await?,
        refunds: count("SELECT COUNT(*) FROM refunds WHERE tenant_id = $1").await?,
        disputes_open: count("SELECT COUNT(*) FROM disputes WHERE tenant_id = $1 AND status NOT IN ('won', 'lost', 'warning_closed', 'charge_refunded')").await?,
        disputes_won: count("SELECT COUNT(*) FROM disputes WHERE tenant_id = $1 AND status = 'won'").await?,
        disputes_lost: count("SELECT COUNT(*) FROM disputes WHERE tenant_id = $1 AND status = 'lost'").await?,
        connected_accounts: count("SELECT COUNT(*) FROM stripe_accounts WHERE tenant_id = $1 AND charges_enabled = 1").await?,
        endpoints: count("SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $1 AND deleted_at IS NULL").await?,
        webhook_attempts_succeeded: count("SELECT COUNT(*) FROM webhook_attempts WHERE tenant_id = $1 AND status = 'succeeded'").await?,
        webhook_attempts_failed: count("SELECT COUNT(*) FROM webhook_attempts WHERE tenant_id = $1 AND status = 'failed'").await?,
        events: count("SELECT COUNT(*) FROM events WHERE tenant_id = $1").await?,
        events_archived: count("SELECT COUNT(*) FROM events_archive WHERE tenant_id = $1").await?,
        deliveries,
        plugins_enabled: sqlx::query_scalar("SELECT plugin FROM tenant_plugins WHERE tenant_id = $1 AND enabled = 1 ORDER BY plugin").bind(t).fetch_all(&db.pool).await?,
    })
}

/// Tells the Stripe mock about every PaymentIntent in the ledger, so capture, cancel and refund
/// work on the demo payments (also after a restart, when nothing is seeded again).
pub async fn register_with_mock(
    state: &AppState,
    mock: &crate::stripe_mock::StripeMock,
) -> Result<(), AppError> {
    let rows: Vec<(String, String, i64, String, String)> = sqlx::query_as(
        "SELECT tenant_id, stripe_payment_intent, amount, currency, status FROM payments WHERE stripe_payment_intent IS NOT NULL AND connected_account IS NULL",
    )
    .fetch_all(&state.db.pool)
    .await?;
    for (tenant, intent, amount, currency, status) in rows {
        let stripe_status = match status.as_str() {
            "requires_capture"
            | "requires_payment_method"
            | "requires_confirmation"
            | "requires_action"
            | "processing"
            | "canceled" => status.as_str(),
            "failed" => "requires_payment_method",
            _ => "succeeded",
        };
        mock.add_intent_for(&intent, amount, &currency, stripe_status, Some(&tenant));
    }
    let accounts: Vec<(String, String)> = sqlx::query_as(
        "SELECT account_id, tenant_id FROM stripe_accounts WHERE charges_enabled = 1",
    )
    .fetch_all(&state.db.pool)
    .await?;
    for (account, tenant) in accounts {
        mock.add_onboarded_account(&account, &tenant);
    }
    Ok(())
}
