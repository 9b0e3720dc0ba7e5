//! Plugins: named, versioned listener sets compiled into paybus and switched on, configured and
//! tested per tenant. Each plugin runs on the bus as one listener (named after it), so it inherits
//! the outbox's retries, dead letters, replay and statistics; whether it acts for a tenant is read
//! from the database on every delivery, so enabling or disabling one needs no restart.
//!
//! ```text
//! event ─► outbox ─► PluginListener(name) ─► enabled for the tenant? ─► Plugin::handle(ctx, delivery)
//!                                             (tenant_plugins row,        ctx: tenant, opened config,
//!                                              else the manifest default)      shared dependencies
//! ```

pub mod builtin;
pub mod listener;
pub mod registry;
pub mod schema;
pub mod store;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

pub use registry::PluginRegistry;
pub use schema::{Field, FieldKind, PluginConfig};

use crate::{
    domain::{events::EventEnvelope, TenantId},
    error::AppError,
    ssr::{
        bus::{Clock, Delivery, LateBus, ListenerError},
        crypto::SecretBox,
        db::Db,
        mail::Mailer,
    },
};

/// What a plugin is, as the registry and the dashboard see it: written once, as a constant.
#[derive(Debug)]
pub struct Manifest {
    /// Stable identifier: the listener name in delivery rows and the `{name}` in the API.
    pub name: &'static str,
    pub version: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Event patterns (`payment.*`, `dispute.created`, `*`) the plugin's listener subscribes to.
    pub patterns: &'static [&'static str],
    /// On for a tenant that has never configured it.
    pub default_enabled: bool,
    /// Also receives events that belong to no tenant (a signup), with `ctx.tenant == None`.
    pub platform_events: bool,
    pub fields: &'static [Field],
}

/// What every plugin may use: the database, mail, outbound HTTP, the clock, the secret box.
#[derive(Clone)]
pub struct PluginDeps {
    pub db: Db,
    pub mailer: Mailer,
    /// Follows no redirects; outbound targets are checked against the SSRF guard by the plugin.
    pub http: reqwest::Client,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<SecretBox>,
    /// `PAYBUS_ALLOW_PRIVATE_WEBHOOK_TARGETS`: loopback and private targets allowed (tests, dev).
    pub allow_private_targets: bool,
    /// Where the dashboard is reachable (`PAYBUS_PUBLIC_URL`), for links in messages.
    pub public_url: String,
    /// `PAYBUS_WELCOME_EMAIL`: new users get a welcome mail (platform-wide, default on).
    pub welcome_email: bool,
    /// The bus, for plugins that publish events of their own (set once the bus is built).
    pub bus: LateBus,
}

/// One call's view: whose event it is and that tenant's configuration (secrets opened).
pub struct PluginCtx<'a> {
    pub tenant: Option<&'a TenantId>,
    pub config: &'a PluginConfig,
    pub deps: &'a PluginDeps,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "message", rename_all = "snake_case")]
pub enum Health {
    Healthy,
    /// Required configuration is missing; the plugin skips its work until it is given.
    Unconfigured(String),
    /// Configured but not working (a peer unreachable, a check failed).
    Unhealthy(String),
}

#[async_trait]
pub trait Plugin: Send + Sync + 'static {
    fn manifest(&self) -> &'static Manifest;

    /// A quick check of the tenant's configuration and what it depends on. Runs under a timeout
    /// in its own task: a slow or panicking check shows as unhealthy, never as a crash.
    async fn health(&self, ctx: &PluginCtx<'_>) -> Health;

    /// Acts on one delivery. Must be idempotent by `delivery.id` (use `bus::receipts`), since the
    /// bus delivers at least once.
    async fn handle(&self, ctx: &PluginCtx<'_>, delivery: &Delivery) -> Result<(), ListenerError>;

    /// "Send a test": does the plugin's visible work once with a sample (a test email, a chat
    /// message) and says what it did.
    async fn test(&self, ctx: &PluginCtx<'_>) -> Result<String, AppError>;

    /// Whether `event` is the platform's business rather than its tenant's: delivered whatever
    /// the tenant's switch, with `ctx.tenant == None` and the default configuration. Only asked of
    /// plugins whose manifest sets `platform_events` (a welcome mail on signup: the tenant was
    /// created in the same transaction and cannot have switched anything on yet).
    fn is_platform_event(&self, _event: &EventEnvelope) -> bool {
        false
    }
}

pub type SharedPlugin = Arc<dyn Plugin>;
