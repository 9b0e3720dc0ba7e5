//! What every handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{auth::jwt::JwtKeys, bus::Bus, config::Config, db::Db, mail::Mailer, rate_limit::RateLimiter};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub bus: Bus,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    pub mailer: Mailer,
    pub limits: Arc<Limits>,
    /// Keys the HMAC of verification codes (derived from the master key).
    pub code_key: Arc<Vec<u8>>,
    /// Seals tenants' secrets at rest (key derived from the master key).
    pub secrets: Arc<super::crypto::SecretBox>,
    /// Wakes the outbound webhook sender of this process.
    pub webhooks: Arc<super::webhooks::Signals>,
    /// The plugins compiled in, and what they share.
    pub plugins: Arc<super::plugins::PluginRegistry>,
    pub plugin_deps: super::plugins::PluginDeps,
}

#[derive(Debug)]
pub struct Limits {
    pub login_per_ip: RateLimiter,
    pub login_per_account: RateLimiter,
    pub checkout_per_ip: RateLimiter,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            login_per_ip: RateLimiter::new(config.login_limit_per_ip),
            login_per_account: RateLimiter::new(config.login_limit_per_account),
            checkout_per_ip: RateLimiter::new(config.stripe.checkout_limit_per_ip),
        }
    }
}
