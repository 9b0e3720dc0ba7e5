//! What a listener is: a named handler for the events its patterns match, run from the outbox
//! at least once per delivery.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::{
    domain::{events::EventEnvelope, DeliveryId, ReplayJobId, TenantId},
    ssr::db::Db,
};

/// One delivery of one event to one listener. `id` stays the same across retries (and differs
/// for a replay), so a listener that records it can recognise a redelivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: DeliveryId,
    /// 1 on the first try.
    pub attempt: u32,
    pub event: Arc<EventEnvelope>,
    pub replay: Option<ReplayJobId>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// Worth another try later (a timeout, a 5xx from a peer, a lock).
    #[error("{0}")]
    Retryable(String),
    /// Retrying cannot help (a malformed payload, a peer that said 4xx): dead at once.
    #[error("{0}")]
    Permanent(String),
}

impl ListenerError {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable(message.into())
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent(message.into())
    }
}

impl From<sqlx::Error> for ListenerError {
    fn from(err: sqlx::Error) -> Self {
        Self::Retryable(format!("database: {err}"))
    }
}

#[async_trait]
pub trait Listener: Send + Sync + 'static {
    /// Stable identifier stored in delivery rows (`audit-log`, `email-notifications`, …).
    fn name(&self) -> &'static str;

    /// Patterns this listener subscribes to (`payment.*`, `*`, exact names).
    fn patterns(&self) -> Vec<crate::domain::events::EventPattern>;

    /// Longest a single attempt may run before it counts as failed; `None` takes the bus default.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// A guard on a feature flag or a tenant's settings, checked before each attempt. A delivery
    /// to a listener that is off for its tenant is recorded as `skipped`, not failed.
    async fn enabled_for(&self, _db: &Db, _tenant: Option<&TenantId>) -> bool {
        true
    }

    /// The same guard with the whole event in view, which is what the dispatcher asks: a listener
    /// may act on some events whatever the tenant's switch (a welcome mail on signup, whose tenant
    /// was created in the same transaction). Defaults to [`enabled_for`](Self::enabled_for).
    async fn enabled_for_event(&self, db: &Db, event: &EventEnvelope) -> bool {
        self.enabled_for(db, event.tenant_id.as_ref()).await
    }

    async fn handle(&self, delivery: &Delivery) -> Result<(), ListenerError>;
}

pub type SharedListener = Arc<dyn Listener>;
