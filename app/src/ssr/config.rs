//! Typed configuration from the environment and an optional `paybus.toml`.
//!
//! Every setting has one name, its environment variable (`PAYBUS_ADDR`, `DATABASE_URL`, …). The
//! TOML file uses the same names in lower case without the `paybus_` prefix (`addr = "…"`,
//! `database_url = "…"`); the environment wins. A bad value stops startup with an error naming the
//! variable. Secrets are wrapped in [`Secret`], whose `Debug` never shows them.

use std::{collections::HashMap, fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

/// A string that must never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
    #[error("cannot read {path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("{path} is not valid TOML: {message}")]
    Toml { path: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransportKind {
    /// Writes messages to the log and to the `dev_mailbox` table (the dashboard shows them).
    Dev,
    Mailgun { api_key: Secret, domain: String, api_base: String },
    /// `smtp://user:pass@host:port` or `smtps://…` (lettre's URL format).
    Smtp { url: Secret },
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from: String,
    pub transport: MailTransportKind,
}

#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// Accepted clock difference between a webhook's signature timestamp and our receipt.
    pub webhook_tolerance_secs: i64,
    pub secret_key: Option<Secret>,
    pub platform_webhook_secrets: Vec<Secret>,
    pub api_base: String,
    /// Longest one Stripe API call may take (`PAYBUS_STRIPE_TIMEOUT_MS`).
    pub timeout: Duration,
    /// Checkout sessions one client IP may create per window (`PAYBUS_CHECKOUT_LIMIT_PER_IP`,
    /// `PAYBUS_CHECKOUT_LIMIT_WINDOW_SECS`; default 10 per hour).
    pub checkout_limit_per_ip: RateLimit,
    /// Largest amount one checkout may charge, in US cents (`PAYBUS_CHECKOUT_MAX_AMOUNT_USD_CENTS`).
    pub checkout_max_amount_usd_cents: i64,
    /// How often the reconciliation sweeper runs; 0 turns it off
    /// (`PAYBUS_STRIPE_RECONCILE_INTERVAL_SECS`).
    pub reconcile_interval: Duration,
}

/// argon2id cost. The default follows OWASP's recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: Secret,
    /// Where the dashboard is reachable, for links in emails (`PAYBUS_PUBLIC_URL`). When not
    /// configured it is derived from the address actually bound (see [`Config::bound_to`]).
    pub public_url: String,
    pub public_url_configured: bool,
    pub jwt_secret: Option<Secret>,
    pub master_key: Option<Secret>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub session_ttl: Duration,
    pub secure_cookies: bool,
    pub trust_proxy: bool,
    pub body_limit_bytes: usize,
    pub db_max_connections: u32,
    pub db_acquire_timeout: Duration,
    pub argon2: Argon2Cost,
    pub login_limit_per_ip: RateLimit,
    pub login_limit_per_account: RateLimit,
    pub mail: MailConfig,
    pub stripe: StripeConfig,
    pub allow_private_webhook_targets: bool,
    /// The email-notifications plugin welcomes each new user by mail (`PAYBUS_WELCOME_EMAIL`,
    /// default on): a platform matter, not a tenant's.
    pub welcome_email: bool,
    /// How long an Idempotency-Key record counts (`PAYBUS_IDEMPOTENCY_TTL_HOURS`, default 24).
    pub idempotency_ttl: Duration,
    /// How long a claimed key waits for its request before another may take it over
    /// (`PAYBUS_IDEMPOTENCY_LOCK_SECS`, default 60).
    pub idempotency_lock: Duration,
    /// Where cargo-leptos put the compiled site (`LEPTOS_SITE_ROOT`).
    pub site_root: String,
    /// Seed a demo tenant and login at startup (`PAYBUS_DEMO`).
    pub demo: bool,
    pub bus: BusConfig,
    pub webhooks: WebhookConfig,
    /// How often the overdue job looks for open invoices past their due date
    /// (`PAYBUS_OVERDUE_INTERVAL_MS`, default one minute; 0 turns it off).
    pub overdue_interval: Duration,
}

/// Outbound webhooks (`PAYBUS_WEBHOOK_*`); the SSRF guard is `allow_private_webhook_targets`.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Longest one POST to an endpoint may take (`PAYBUS_WEBHOOK_TIMEOUT_MS`, default 15 s).
    pub timeout: Duration,
    /// An endpoint failing without a success for this long is disabled
    /// (`PAYBUS_WEBHOOK_DISABLE_AFTER_DAYS`, default 5).
    pub disable_after: Duration,
    /// Messages per second per endpoint unless the endpoint says otherwise
    /// (`PAYBUS_WEBHOOK_RATE_PER_SEC`, default 100).
    pub default_rate_per_sec: u32,
    /// Consecutive failures that open an endpoint's circuit (`PAYBUS_WEBHOOK_BREAKER_FAILURES`, 5).
    pub breaker_failures: u32,
    /// How long an open circuit stays open before one probe (`PAYBUS_WEBHOOK_BREAKER_COOLDOWN_SECS`, 60).
    pub breaker_cooldown: Duration,
    /// Longest `Retry-After` honoured (`PAYBUS_WEBHOOK_MAX_RETRY_AFTER_SECS`, default 3600).
    pub max_retry_after: Duration,
    /// Endpoints served at once by this process (`PAYBUS_WEBHOOK_CONCURRENCY`, default 32).
    pub concurrency: usize,
    /// Requests in flight to one endpoint (`PAYBUS_WEBHOOK_ENDPOINT_IN_FLIGHT`, default 4).
    pub in_flight_per_endpoint: usize,
    /// Safety-net poll of the message table (`PAYBUS_WEBHOOK_POLL_MS`, default 1000).
    pub poll_interval: Duration,
    /// Run the sender in this process (`PAYBUS_WEBHOOK_SEND`, default true).
    pub send: bool,
}

impl WebhookConfig {
    fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: Duration::from_millis(src.positive("PAYBUS_WEBHOOK_TIMEOUT_MS", 15_000)?.min(120_000)),
            disable_after: Duration::from_secs(src.positive("PAYBUS_WEBHOOK_DISABLE_AFTER_DAYS", 5)?.min(365) * 86_400),
            default_rate_per_sec: src.positive("PAYBUS_WEBHOOK_RATE_PER_SEC", 100)?.min(10_000) as u32,
            breaker_failures: src.positive("PAYBUS_WEBHOOK_BREAKER_FAILURES", 5)?.min(1_000) as u32,
            breaker_cooldown: Duration::from_secs(src.positive("PAYBUS_WEBHOOK_BREAKER_COOLDOWN_SECS", 60)?),
            max_retry_after: Duration::from_secs(src.positive("PAYBUS_WEBHOOK_MAX_RETRY_AFTER_SECS", 3_600)?),
            concurrency: src.positive("PAYBUS_WEBHOOK_CONCURRENCY", 32)?.min(1024) as usize,
            in_flight_per_endpoint: src.positive("PAYBUS_WEBHOOK_ENDPOINT_IN_FLIGHT", 4)?.min(64) as usize,
            poll_interval: Duration::from_millis(src.positive("PAYBUS_WEBHOOK_POLL_MS", 1_000)?),
            send: src.flag("PAYBUS_WEBHOOK_SEND", true)?,
        })
    }
}

/// The event bus's knobs (`PAYBUS_BUS_*`, `PAYBUS_EVENT_RETENTION_DAYS`).
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Tries per delivery before it is dead-lettered.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Longest one listener attempt may run.
    pub listener_timeout: Duration,
    /// How long a claimed delivery stays with its worker; a worker that dies loses it after this.
    pub lease: Duration,
    /// Safety-net poll when no notification arrives.
    pub poll_interval: Duration,
    /// Deliveries run at once per process.
    pub concurrency: usize,
    /// After a wake-up, how long to let more commits gather before claiming (0: claim at once).
    pub batch_wait: Duration,
    pub retention_days: u32,
    /// Time allowed at shutdown for in-flight deliveries to finish.
    pub drain_timeout: Duration,
    /// `/api/v1/health` turns degraded above these.
    pub health_max_backlog: u64,
    pub health_max_dead: u64,
    /// Registers the `bus-probe` listener (records every delivery; for tests and smoke checks).
    pub probe_listener: bool,
    /// Run the dispatcher in this process (off for a process that only serves HTTP).
    pub dispatch: bool,
}

/// Where values come from: the environment first, then the TOML file.
pub struct Sources {
    env: HashMap<String, String>,
    file: HashMap<String, String>,
}

impl Sources {
    /// The process environment and `PAYBUS_CONFIG` (default `./paybus.toml`, optional).
    pub fn from_process() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let explicit = env.get("PAYBUS_CONFIG").cloned();
        let path = explicit.clone().unwrap_or_else(|| "paybus.toml".into());
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => parse_toml(&path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => HashMap::new(),
            Err(source) => return Err(ConfigError::File { path, source }),
        };
        Ok(Self { env, file })
    }

    /// Only the given variables (tests build configs this way, never touching the process env).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let env = pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        Self { env, file: HashMap::new() }
    }

    fn get(&self, var: &str) -> Option<String> {
        self.env.get(var).or_else(|| self.file.get(var)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn parse<T: FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid { var, message: format!("`{raw}` is invalid: {e}") }),
        }
    }

    fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).as_deref().map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::Invalid { var, message: format!("`{other}` is not a boolean (use true or false)") }),
        }
    }

    fn secret(&self, var: &str) -> Option<Secret> {
        self.get(var).map(Secret::new)
    }

    fn positive(&self, var: &'static str, default: u64) -> Result<u64, ConfigError> {
        let value: u64 = self.parse(var, default)?;
        if value == 0 {
            return Err(ConfigError::Invalid { var, message: "must be greater than zero".into() });
        }
        Ok(value)
    }
}

impl BusConfig {
    fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let listener_timeout = Duration::from_millis(src.positive("PAYBUS_BUS_LISTENER_TIMEOUT_MS", 30_000)?);
        let lease = Duration::from_millis(src.positive("PAYBUS_BUS_LEASE_MS", 120_000)?);
        if lease <= listener_timeout {
            return Err(ConfigError::Invalid {
                var: "PAYBUS_BUS_LEASE_MS",
                message: "must be longer than PAYBUS_BUS_LISTENER_TIMEOUT_MS, or a slow delivery would be taken over while it runs".into(),
            });
        }
        let backoff_base = Duration::from_millis(src.positive("PAYBUS_BUS_BACKOFF_BASE_MS", 1_000)?);
        let backoff_max = Duration::from_millis(src.positive("PAYBUS_BUS_BACKOFF_MAX_MS", 3_600_000)?);
        if backoff_max < backoff_base {
            return Err(ConfigError::Invalid { var: "PAYBUS_BUS_BACKOFF_MAX_MS", message: "must be at least PAYBUS_BUS_BACKOFF_BASE_MS".into() });
        }
        Ok(Self {
            max_attempts: src.positive("PAYBUS_BUS_MAX_ATTEMPTS", 8)?.min(100) as u32,
            backoff_base,
            backoff_max,
            listener_timeout,
            lease,
            poll_interval: Duration::from_millis(src.positive("PAYBUS_BUS_POLL_MS", 5_000)?),
            concurrency: src.positive("PAYBUS_BUS_CONCURRENCY", 32)?.min(1024) as usize,
            batch_wait: Duration::from_micros(src.parse("PAYBUS_BUS_BATCH_WAIT_US", 1_000_u64)?.min(100_000)),
            retention_days: src.positive("PAYBUS_EVENT_RETENTION_DAYS", 90)?.min(36_500) as u32,
            drain_timeout: Duration::from_millis(src.positive("PAYBUS_BUS_DRAIN_TIMEOUT_MS", 10_000)?),
            health_max_backlog: src.positive("PAYBUS_HEALTH_MAX_BACKLOG", 10_000)?,
            health_max_dead: src.positive("PAYBUS_HEALTH_MAX_DEAD", 100)?,
            probe_listener: src.flag("PAYBUS_BUS_PROBE", false)?,
            dispatch: src.flag("PAYBUS_BUS_DISPATCH", true)?,
        })
    }
}

/// `http://host:port` for a bind address; a wildcard bind (0.0.0.0, ::) is reached via localhost.
fn default_public_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// `addr = "…"` → `PAYBUS_ADDR`; names that are not ours (`database_url`, `stripe_*`) keep theirs.
fn parse_toml(path: &str, text: &str) -> Result<HashMap<String, String>, ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Toml { path: path.into(), message: e.to_string() })?;
    Ok(table
        .into_iter()
        .map(|(key, value)| {
            let upper = key.to_ascii_uppercase();
            let var = if upper == "DATABASE_URL" || upper.starts_with("STRIPE_") || upper.starts_with("PAYBUS_") {
                upper
            } else {
                format!("PAYBUS_{upper}")
            };
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => format!("{other:?}"),
            };
            (var, text)
        })
        .collect())
}

impl Config {
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_sources(&Sources::from_process()?)
    }

    pub fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let addr_var = if src.get("PAYBUS_ADDR").is_some() { "PAYBUS_ADDR" } else { "LEPTOS_SITE_ADDR" };
        let addr: SocketAddr = src.parse(addr_var, SocketAddr::from(([127, 0, 0, 1], 3000)))?;
        let data_dir = PathBuf::from(src.get("PAYBUS_DATA_DIR").unwrap_or_else(|| "./data".into()));

        let database_url = match src.get("DATABASE_URL") {
            Some(url) if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") => url,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    var: "DATABASE_URL",
                    message: "must start with sqlite: or postgres://".into(),
                })
            }
            None => format!("sqlite://{}?mode=rwc", data_dir.join("paybus.db").display()),
        };

        let public_url_configured = src.get("PAYBUS_PUBLIC_URL").is_some();
        let public_url = src
            .get("PAYBUS_PUBLIC_URL")
            .unwrap_or_else(|| default_public_url(addr))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid { var: "PAYBUS_PUBLIC_URL", message: "must be an http:// or https:// URL".into() });
        }

        if let Some(secret) = src.get("PAYBUS_JWT_SECRET") {
            if secret.len() < 32 {
                return Err(ConfigError::Invalid { var: "PAYBUS_JWT_SECRET", message: "must be at least 32 characters".into() });
            }
        }

        let mail_from = src.get("PAYBUS_MAIL_FROM").unwrap_or_else(|| "paybus <no-reply@paybus.local>".into());
        let transport = match src.get("PAYBUS_MAIL_TRANSPORT").as_deref().unwrap_or("dev") {
            "dev" => MailTransportKind::Dev,
            "mailgun" => MailTransportKind::Mailgun {
                api_key: src.secret("PAYBUS_MAILGUN_API_KEY").ok_or(ConfigError::Invalid {
                    var: "PAYBUS_MAILGUN_API_KEY",
                    message: "is required when PAYBUS_MAIL_TRANSPORT=mailgun".into(),
                })?,
                domain: src.get("PAYBUS_MAILGUN_DOMAIN").ok_or(ConfigError::Invalid {
                    var: "PAYBUS_MAILGUN_DOMAIN",
                    message: "is required when PAYBUS_MAIL_TRANSPORT=mailgun".into(),
                })?,
                api_base: src.get("PAYBUS_MAILGUN_API_BASE").unwrap_or_else(|| "https://api.mailgun.net".into()),
            },
            "smtp" => MailTransportKind::Smtp {
                url: src.secret("PAYBUS_SMTP_URL").ok_or(ConfigError::Invalid {
                    var: "PAYBUS_SMTP_URL",
                    message: "is required when PAYBUS_MAIL_TRANSPORT=smtp".into(),
                })?,
            },
            other => {
                return Err(ConfigError::Invalid {
                    var: "PAYBUS_MAIL_TRANSPORT",
                    message: format!("`{other}` is not one of dev, mailgun, smtp"),
                })
            }
        };

        let platform_webhook_secrets = src
            .get("STRIPE_PLATFORM_WEBHOOK_SECRET")
            .map(|all| all.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Secret::new).collect())
            .unwrap_or_default();

        let is_sqlite = database_url.starts_with("sqlite:");
        Ok(Config {
            addr,
            database_url: Secret::new(database_url),
            secure_cookies: src.flag("PAYBUS_SECURE_COOKIES", public_url.starts_with("https://"))?,
            public_url,
            public_url_configured,
            jwt_secret: src.secret("PAYBUS_JWT_SECRET"),
            master_key: src.secret("PAYBUS_MASTER_KEY"),
            access_token_ttl: Duration::from_secs(src.positive("PAYBUS_ACCESS_TOKEN_TTL_SECS", 15 * 60)?),
            refresh_token_ttl: Duration::from_secs(src.positive("PAYBUS_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?),
            session_ttl: Duration::from_secs(src.positive("PAYBUS_SESSION_TTL_SECS", 7 * 24 * 3600)?),
            trust_proxy: src.flag("PAYBUS_TRUST_PROXY", false)?,
            body_limit_bytes: src.positive("PAYBUS_BODY_LIMIT_BYTES", 1024 * 1024)? as usize,
            db_max_connections: src.positive("PAYBUS_DB_MAX_CONNECTIONS", if is_sqlite { 4 } else { 10 })? as u32,
            db_acquire_timeout: Duration::from_millis(src.positive("PAYBUS_DB_ACQUIRE_TIMEOUT_MS", 3000)?),
            argon2: Argon2Cost {
                memory_kib: src.positive("PAYBUS_ARGON2_MEMORY_KIB", 19 * 1024)? as u32,
                iterations: src.positive("PAYBUS_ARGON2_ITERATIONS", 2)? as u32,
                parallelism: src.positive("PAYBUS_ARGON2_PARALLELISM", 1)? as u32,
            },
            login_limit_per_ip: RateLimit {
                max: src.positive("PAYBUS_LOGIN_LIMIT_PER_IP", 30)? as u32,
                window: Duration::from_secs(src.positive("PAYBUS_LOGIN_LIMIT_WINDOW_SECS", 300)?),
            },
            login_limit_per_account: RateLimit {
                max: src.positive("PAYBUS_LOGIN_LIMIT_PER_ACCOUNT", 5)? as u32,
                window: Duration::from_secs(src.positive("PAYBUS_LOGIN_LIMIT_WINDOW_SECS", 300)?),
            },
            mail: MailConfig { from: mail_from, transport },
            stripe: StripeConfig {
                webhook_tolerance_secs: src.parse("PAYBUS_STRIPE_WEBHOOK_TOLERANCE_SECS", 300_i64)?,
                secret_key: src.secret("STRIPE_SECRET_KEY"),
                platform_webhook_secrets,
                api_base: src.get("PAYBUS_STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into()),
                timeout: Duration::from_millis(src.positive("PAYBUS_STRIPE_TIMEOUT_MS", 20_000)?),
                checkout_limit_per_ip: RateLimit {
                    max: src.positive("PAYBUS_CHECKOUT_LIMIT_PER_IP", 10)? as u32,
                    window: Duration::from_secs(src.positive("PAYBUS_CHECKOUT_LIMIT_WINDOW_SECS", 3600)?),
                },
                checkout_max_amount_usd_cents: src.positive("PAYBUS_CHECKOUT_MAX_AMOUNT_USD_CENTS", 10_000_000)? as i64,
                reconcile_interval: Duration::from_secs(src.parse("PAYBUS_STRIPE_RECONCILE_INTERVAL_SECS", 3600_u64)?),
            },
            allow_private_webhook_targets: src.flag("PAYBUS_ALLOW_PRIVATE_WEBHOOK_TARGETS", false)?,
            welcome_email: src.flag("PAYBUS_WELCOME_EMAIL", true)?,
            idempotency_ttl: Duration::from_secs(src.positive("PAYBUS_IDEMPOTENCY_TTL_HOURS", 24)? * 3600),
            idempotency_lock: Duration::from_secs(src.positive("PAYBUS_IDEMPOTENCY_LOCK_SECS", 60)?),
            site_root: src.get("LEPTOS_SITE_ROOT").or_else(|| src.get("PAYBUS_SITE_ROOT")).unwrap_or_else(|| "target/site".into()),
            demo: src.flag("PAYBUS_DEMO", false)?,
            bus: BusConfig::from_sources(src)?,
            webhooks: WebhookConfig::from_sources(src)?,
            overdue_interval: Duration::from_millis(src.parse("PAYBUS_OVERDUE_INTERVAL_MS", 60_000_u64)?),
            data_dir,
        })
    }

    /// Records the address the listener really got (port 0 becomes a real port), so links in
    /// emails point somewhere reachable unless `PAYBUS_PUBLIC_URL` says otherwise.
    pub fn bound_to(&mut self, addr: SocketAddr) {
        self.addr = addr;
        if !self.public_url_configured {
            self.public_url = default_public_url(addr);
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_a_sqlite_file_in_the_data_directory() {
        let config = Config::from_sources(&Sources::from_pairs([("PAYBUS_DATA_DIR", "/tmp/pb")])).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url.expose(), "sqlite:///tmp/pb/paybus.db?mode=rwc");
        assert_eq!(config.mail.transport, MailTransportKind::Dev);
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
    }

    #[test]
    fn the_default_public_url_follows_the_bound_address() {
        let mut config = Config::from_sources(&Sources::from_pairs([("PAYBUS_ADDR", "0.0.0.0:0")])).unwrap();
        config.bound_to("0.0.0.0:4321".parse().unwrap());
        assert_eq!(config.public_url, "http://localhost:4321");
        let mut explicit = Config::from_sources(&Sources::from_pairs([("PAYBUS_PUBLIC_URL", "https://pay.example.com/")])).unwrap();
        explicit.bound_to("127.0.0.1:9".parse().unwrap());
        assert_eq!(explicit.public_url, "https://pay.example.com");
    }

    #[test]
    fn leptos_site_addr_is_honoured_and_paybus_addr_wins() {
        let leptos = Config::from_sources(&Sources::from_pairs([("LEPTOS_SITE_ADDR", "0.0.0.0:8080")])).unwrap();
        assert_eq!(leptos.addr.port(), 8080);
        let both = Config::from_sources(&Sources::from_pairs([("LEPTOS_SITE_ADDR", "0.0.0.0:8080"), ("PAYBUS_ADDR", "127.0.0.1:9")])).unwrap();
        assert_eq!(both.addr.port(), 9);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = Config::from_sources(&Sources::from_pairs([("PAYBUS_ADDR", "nowhere")])).unwrap_err();
        assert!(err.to_string().starts_with("PAYBUS_ADDR:"), "{err}");
        let err = Config::from_sources(&Sources::from_pairs([("PAYBUS_MAIL_TRANSPORT", "mailgun")])).unwrap_err();
        assert!(err.to_string().starts_with("PAYBUS_MAILGUN_API_KEY:"), "{err}");
        let err = Config::from_sources(&Sources::from_pairs([("PAYBUS_DEMO", "maybe")])).unwrap_err();
        assert!(err.to_string().starts_with("PAYBUS_DEMO:"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = Config::from_sources(&Sources::from_pairs([
            ("PAYBUS_JWT_SECRET", "0123456789abcdef0123456789abcdef-super-secret"),
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
        ]))
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("super-secret") && !printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn the_toml_file_uses_short_names_and_the_environment_wins() {
        let file = parse_toml("t", "addr = \"127.0.0.1:7000\"\ndemo = true\ndatabase_url = \"sqlite://x.db\"").unwrap();
        assert_eq!(file["PAYBUS_ADDR"], "127.0.0.1:7000");
        assert_eq!(file["PAYBUS_DEMO"], "true");
        assert_eq!(file["DATABASE_URL"], "sqlite://x.db");
        let src = Sources { env: [("PAYBUS_ADDR".to_string(), "127.0.0.1:7001".to_string())].into(), file };
        let config = Config::from_sources(&src).unwrap();
        assert_eq!(config.addr.port(), 7001);
        assert!(config.demo);
    }
}
