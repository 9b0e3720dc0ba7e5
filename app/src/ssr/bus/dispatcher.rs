//! Delivers committed events: claims due deliveries under a lease, runs each listener in its own
//! task (so an error, a panic or a timeout stays with that delivery), and records the outcome.

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::{
    sync::{watch, Semaphore},
    task::JoinSet,
};

use super::{
    backoff::Backoff,
    envelope_from_row,
    listener::{Delivery, ListenerError},
    store::{self, Claimed, Finished, NextState, Outcome},
    BusInner, EventContext,
};
use crate::{
    domain::{
        events::{payloads::DeliveryDead, DomainEvent, EventEnvelope, EventType},
        DeliveryId, PrefixedId, ReplayJobId, TenantId,
    },
    error::AppResult,
};

pub struct Dispatcher {
    bus: Arc<BusInner>,
}

/// What one [`Dispatcher::run_due`] pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub claimed: usize,
    pub succeeded: usize,
    pub retried: usize,
    pub dead: usize,
    pub skipped: usize,
}

impl Dispatcher {
    pub(crate) fn new(bus: Arc<BusInner>) -> Self {
        Self { bus }
    }

    /// Claims every delivery due now (by the bus clock), runs them concurrently and waits for
    /// all of them. Tests drive the bus with this and a manual clock.
    pub async fn run_due(&self) -> AppResult<Pass> {
        let mut pass = Pass::default();
        loop {
            let batch = self.claim(self.bus.config.concurrency).await?;
            if batch.is_empty() {
                return Ok(pass);
            }
            let mut set = JoinSet::new();
            for (claimed, event) in batch {
                let bus = self.bus.clone();
                set.spawn(async move { execute(&bus, claimed, event).await });
            }
            while let Some(done) = set.join_next().await {
                pass.claimed += 1;
                match done {
                    Ok(NextState::Succeeded) => pass.succeeded += 1,
                    Ok(NextState::RetryAt(_)) => pass.retried += 1,
                    Ok(NextState::Dead) => pass.dead += 1,
                    Ok(NextState::Skipped) => pass.skipped += 1,
                    Err(e) => tracing::error!(error = %e, "delivery task failed"),
                }
            }
        }
    }

    /// Runs until `shutdown` turns true, then stops claiming and waits (up to the drain timeout)
    /// for deliveries in flight. What does not finish keeps its lease and is retried after it
    /// expires — by this process on its next start or by another replica.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.bus.config.concurrency));
        let mut in_flight = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = slots.available_permits();
            let mut claimed_any = false;
            if free > 0 {
                match self.claim(free).await {
                    Ok(batch) => {
                        claimed_any = !batch.is_empty();
                        for (claimed, event) in batch {
                            let Ok(permit) = slots.clone().try_acquire_owned() else { break };
                            let bus = self.bus.clone();
                            in_flight.spawn(async move {
                                let next = execute(&bus, claimed, event).await;
                                drop(permit);
                                bus.wake.notify_one();
                                next
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming deliveries failed; retrying shortly");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = shutdown.changed() => {}
                        }
                        continue;
                    }
                }
            }
            while in_flight.try_join_next().is_some() {}
            if claimed_any && slots.available_permits() > 0 {
                continue;
            }
            let wait = self.idle_wait().await;
            tokio::select! {
                _ = self.bus.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
        let drain = self.bus.config.drain_timeout;
        tracing::info!(in_flight = in_flight.len(), "bus draining in-flight deliveries");
        if tokio::time::timeout(drain, async { while in_flight.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!(left = in_flight.len(), "bus drain timed out; unfinished deliveries will be retried after their lease");
            in_flight.abort_all();
        }
    }

    /// How long to sleep with nothing to do: until the next delivery falls due, at most the
    /// safety-net poll interval.
    async fn idle_wait(&self) -> Duration {
        let poll = self.bus.config.poll_interval;
        match store::next_due_at(&self.bus.db).await {
            Ok(Some(at)) => {
                let ms = (at - self.bus.clock.now_ms()).max(1) as u64;
                poll.min(Duration::from_millis(ms))
            }
            _ => poll,
        }
    }

    async fn claim(&self, limit: usize) -> AppResult<Vec<(Claimed, Option<Arc<EventEnvelope>>)>> {
        let now = self.bus.clock.now_ms();
        let lease_until = now + self.bus.config.lease.as_millis() as i64;
        let claimed = store::claim_due(&self.bus.db, &self.bus.worker_id, now, lease_until, limit as i64).await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<&str> = claimed.iter().map(|c| c.event_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut events: HashMap<String, Arc<EventEnvelope>> = HashMap::new();
        for row in store::events_by_ids(&self.bus.db, &ids).await? {
            match envelope_from_row(&row) {
                Ok(envelope) => {
                    events.insert(row.id.clone(), Arc::new(envelope));
                }
                Err(e) => tracing::error!(event = %row.id, error = %e, "stored event cannot be read"),
            }
        }
        Ok(claimed.into_iter().map(|c| {
            let event = events.get(&c.event_id).cloned();
            (c, event)
        }).collect())
    }
}

/// Runs one claimed delivery and records what happened.
async fn execute(bus: &Arc<BusInner>, claimed: Claimed, event: Option<Arc<EventEnvelope>>) -> NextState {
    let started_at = bus.clock.now_ms();
    let wall = std::time::Instant::now();
    let attempt = claimed.attempts.max(1) as u32;

    let (outcome, error, permanent) = match (&event, bus.registry.find(&claimed.listener)) {
        (None, _) => (Outcome::Failed, Some("the event could not be loaded".to_owned()), true),
        (_, None) => (Outcome::Skipped, Some(format!("no listener named {} is registered", claimed.listener)), false),
        (Some(event), Some(listener)) => {
            let listener = listener.clone();
            if !listener.enabled_for(&bus.db, event.tenant_id.as_ref()).await {
                (Outcome::Skipped, None, false)
            } else {
                let delivery = Delivery {
                    id: DeliveryId::parse(&claimed.id).unwrap_or_else(|_| crate::ssr::ids::new_id()),
                    attempt,
                    event: event.clone(),
                    replay: ReplayJobId::parse(&claimed.origin).ok(),
                };
                let timeout = listener.timeout().unwrap_or(bus.config.listener_timeout);
                // Its own task: a panic surfaces as a JoinError here instead of unwinding the
                // dispatcher, and the other deliveries of the batch carry on.
                let task = tokio::spawn(async move { tokio::time::timeout(timeout, listener.handle(&delivery)).await });
                match task.await {
                    Ok(Ok(Ok(()))) => (Outcome::Succeeded, None, false),
                    Ok(Ok(Err(ListenerError::Retryable(m)))) => (Outcome::Failed, Some(m), false),
                    Ok(Ok(Err(ListenerError::Permanent(m)))) => (Outcome::Failed, Some(m), true),
                    Ok(Err(_elapsed)) => (Outcome::TimedOut, Some(format!("timed out after {} ms", timeout.as_millis())), false),
                    Err(join) if join.is_panic() => (Outcome::Panicked, Some(panic_message(join)), false),
                    Err(_) => (Outcome::Failed, Some("the delivery task was cancelled".to_owned()), false),
                }
            }
        }
    };

    let now = bus.clock.now_ms();
    let next = match outcome {
        Outcome::Succeeded => NextState::Succeeded,
        Outcome::Skipped => NextState::Skipped,
        _ if permanent || claimed.attempts >= claimed.max_attempts => NextState::Dead,
        _ => {
            let backoff = Backoff { base: bus.config.backoff_base, max: bus.config.backoff_max };
            NextState::RetryAt(now + backoff.delay_ms(attempt, &mut rand::thread_rng()))
        }
    };
    let duration_ms = wall.elapsed().as_millis() as i64;
    let listener_name: &str = &claimed.listener;
    metrics::counter!("paybus_deliveries_total", "listener" => listener_name.to_owned(), "outcome" => outcome.as_str()).increment(1);
    metrics::histogram!("paybus_delivery_duration_seconds", "listener" => listener_name.to_owned()).record(duration_ms as f64 / 1000.0);
    if let Err(e) = record(bus, &claimed, event.as_deref(), attempt, started_at, duration_ms, outcome, error.as_deref(), next, now).await {
        // The lease will expire and the delivery run again: at-least-once, never lost.
        tracing::error!(delivery = %claimed.id, error = %e, "could not record a delivery outcome");
    }
    if next == NextState::Succeeded {
        if let (Some(live), Some(event)) = (&bus.live, &event) {
            if claimed.origin == store::ORIGIN_PUBLISH {
                live.publish(event.clone()).await;
            }
        }
    }
    next
}

#[allow(clippy::too_many_arguments)]
async fn record(
    bus: &Arc<BusInner>,
    claimed: &Claimed,
    event: Option<&EventEnvelope>,
    attempt: u32,
    started_at: i64,
    duration_ms: i64,
    outcome: Outcome,
    error: Option<&str>,
    next: NextState,
    now: i64,
) -> AppResult<()> {
    let tenant = event.and_then(|e| e.tenant_id.as_ref());
    let event_type = event.map(|e| e.event_type.name()).unwrap_or("unknown");
    let mut tx = bus.db.begin().await?;
    let changed = store::finish(
        &mut tx,
        &Finished {
            delivery_id: &claimed.id,
            worker: &bus.worker_id,
            attempt: i64::from(attempt),
            listener: &claimed.listener,
            tenant_id: tenant.map(|t| t.as_str()),
            event_type,
            started_at,
            duration_ms,
            outcome,
            error,
            next,
            now,
        },
    )
    .await?;
    // A dead letter is itself an event (alerts subscribe to it) — but not for deliveries of
    // that event, or one broken listener would feed itself forever.
    if changed && next == NextState::Dead && event.is_some_and(|e| e.event_type != EventType::BusDeliveryDead) {
        let ctx = EventContext::system(tenant.cloned().map(|t: TenantId| t));
        let payload = DeliveryDead {
            delivery_id: claimed.id.clone(),
            event_id: claimed.event_id.clone(),
            event_type: event_type.to_owned(),
            listener: claimed.listener.clone(),
            attempts: attempt,
            last_error: error.unwrap_or_default().to_owned(),
        };
        super::Bus { inner: bus.clone() }.publish(&mut tx, &ctx, DomainEvent::BusDeliveryDead(payload)).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn panic_message(join: tokio::task::JoinError) -> String {
    let panic = join.into_panic();
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("listener panicked: {text}")
}
