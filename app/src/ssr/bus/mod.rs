//! The event bus: services publish typed events into the outbox inside their own transaction;
//! the dispatcher delivers committed events to listeners, at least once, with retries, backoff,
//! dead letters and leases that let several processes share one Postgres database.
//!
//! ```text
//! service tx ── publish ──► events + event_deliveries (pending)   ── commit ──► wake
//! dispatcher ── claim (lease) ──► listener.handle(delivery) ──► succeeded | retry at | dead
//! ```

pub mod backoff;
pub mod clock;
pub mod context;
pub mod dispatcher;
pub mod listener;
pub mod local;
pub mod maintenance;
pub mod probe;
pub mod queries;
pub mod receipts;
pub mod registry;
pub mod replay;
pub mod store;

use std::sync::Arc;

use tokio::sync::Notify;

pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{EventContext, RequestMeta};
pub use listener::{Delivery, Listener, ListenerError, SharedListener};
pub use registry::Registry;

use crate::{
    domain::{
        events::{DomainEvent, EventEnvelope},
        EventId, PrefixedId,
    },
    error::{AppError, AppResult},
    ssr::{
        config::BusConfig,
        db::{Db, Tx},
        ids::{new_id, random_base62},
        time_util::from_ms,
    },
};

/// The bus as services and handlers see it. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

pub(crate) struct BusInner {
    pub db: Db,
    pub registry: Arc<Registry>,
    pub clock: Arc<dyn Clock>,
    pub config: BusConfig,
    /// Wakes this process's dispatcher: a local commit, a Postgres NOTIFY, a finished delivery.
    pub wake: Notify,
    /// Identifies this process in leases (`wrk_…`).
    pub worker_id: String,
    pub live: Option<local::LocalBus>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("worker", &self.inner.worker_id).field("listeners", &self.inner.registry).finish()
    }
}

impl Bus {
    pub fn new(db: Db, registry: Registry, clock: Arc<dyn Clock>, config: BusConfig) -> Self {
        Self::with_live(db, registry, clock, config, None)
    }

    /// With in-process subscribers fed each event once it has been delivered.
    pub fn with_live(db: Db, registry: Registry, clock: Arc<dyn Clock>, config: BusConfig, live: Option<local::LocalBus>) -> Self {
        Self {
            inner: Arc::new(BusInner {
                db,
                registry: registry.into_shared(),
                clock,
                config,
                wake: Notify::new(),
                worker_id: format!("wrk_{}", random_base62(12)),
                live,
            }),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub fn config(&self) -> &BusConfig {
        &self.inner.config
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// Writes `event` and one pending delivery per subscribed listener into `tx`. They become
    /// visible — and deliverable — only if `tx` commits; call [`commit`](Self::commit) for that.
    pub async fn publish(&self, tx: &mut Tx, ctx: &EventContext, event: DomainEvent) -> AppResult<EventId> {
        let event_type = event.event_type();
        let payload = event.payload_json().map_err(|e| {
            tracing::error!(error = %e, event_type = %event_type, "event payload does not serialise");
            AppError::Internal
        })?;
        let id = new_id::<EventId>();
        let now = self.now_ms();
        let metadata = serde_json::to_string(&ctx.metadata).map_err(|_| AppError::Internal)?;
        let row = store::EventRow {
            id: id.to_string(),
            tenant_id: ctx.tenant_id.as_ref().map(|t| t.to_string()),
            event_type: event_type.name().to_owned(),
            version: i64::from(event_type.version()),
            occurred_at: now,
            actor: ctx.actor.clone(),
            actor_type: ctx.actor_type.as_str().to_owned(),
            payload: payload.to_string(),
            metadata,
        };
        let deliveries: Vec<store::NewDelivery> = self
            .inner
            .registry
            .route(event_type)
            .map(|l| store::NewDelivery { id: new_id::<crate::domain::DeliveryId>().to_string(), listener: l.name() })
            .collect();
        store::insert_published(tx, self.inner.db.dialect, &row, &deliveries, i64::from(self.inner.config.max_attempts)).await?;
        metrics::counter!("paybus_events_published_total", "type" => event_type.name()).increment(1);
        Ok(id)
    }

    /// Commits a transaction that published events and wakes the dispatcher at once, instead of
    /// leaving the events to the safety-net poll.
    pub async fn commit(&self, tx: Tx) -> AppResult<()> {
        tx.commit().await?;
        self.wake();
        Ok(())
    }

    /// Publishes one event in its own transaction (for changes that have no other writes).
    pub async fn publish_now(&self, ctx: &EventContext, event: DomainEvent) -> AppResult<EventId> {
        let mut tx = self.inner.db.begin().await?;
        let id = self.publish(&mut tx, ctx, event).await?;
        self.commit(tx).await?;
        Ok(id)
    }

    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub fn dispatcher(&self) -> dispatcher::Dispatcher {
        dispatcher::Dispatcher::new(self.inner.clone())
    }
}

/// Reads a stored row back into the envelope listeners receive.
pub fn envelope_from_row(row: &store::EventRow) -> Result<EventEnvelope, String> {
    use crate::domain::{
        events::{ActorType, EventType},
        TenantId,
    };
    Ok(EventEnvelope {
        id: EventId::parse(&row.id).map_err(|e| e.to_string())?,
        event_type: EventType::parse(&row.event_type).ok_or_else(|| format!("unknown event type {}", row.event_type))?,
        version: u16::try_from(row.version).map_err(|_| "bad version".to_owned())?,
        occurred_at: from_ms(row.occurred_at),
        tenant_id: row.tenant_id.as_deref().map(TenantId::parse).transpose().map_err(|e| e.to_string())?,
        actor: row.actor.clone(),
        actor_type: ActorType::parse(&row.actor_type).ok_or_else(|| format!("unknown actor type {}", row.actor_type))?,
        payload: serde_json::from_str(&row.payload).map_err(|e| e.to_string())?,
        metadata: serde_json::from_str(&row.metadata).map_err(|e| e.to_string())?,
    })
}

/// The bus for a listener that publishes follow-up events (the risk plugin's `payment.flagged`).
/// Listeners are built before the bus that owns them, so this is filled in once the bus exists;
/// it holds the bus weakly, so the bus and its listeners do not keep each other alive.
#[derive(Clone, Default)]
pub struct LateBus(Arc<std::sync::OnceLock<std::sync::Weak<BusInner>>>);

impl LateBus {
    pub fn set(&self, bus: &Bus) {
        let _ = self.0.set(Arc::downgrade(&bus.inner));
    }

    /// `None` before startup has set it, or after the bus was dropped.
    pub fn get(&self) -> Option<Bus> {
        self.0.get()?.upgrade().map(|inner| Bus { inner })
    }
}
