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
        DeliveryId, PrefixedId, ReplayJobId,
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
                set.spawn(async move { attempt(&bus, claimed, event).await });
            }
            let mut finished = Vec::new();
            while let Some(done) = set.join_next().await {
                match done {
                    Ok(f) => finished.push(f),
                    Err(e) => tracing::error!(error = %e, "delivery task failed"),
                }
            }
            for f in &finished {
                pass.claimed += 1;
                match f.next {
                    NextState::Succeeded => pass.succeeded += 1,
                    NextState::RetryAt(_) => pass.retried += 1,
                    NextState::Dead => pass.dead += 1,
                    NextState::Skipped => pass.skipped += 1,
                }
            }
            record_all(&self.bus, finished).await;
        }
    }

    /// Runs until `shutdown` turns true, then stops claiming and waits (up to the drain timeout)
    /// for deliveries in flight. What does not finish keeps its lease and is retried after it
    /// expires — by this process on its next start or by another replica.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.bus.config.concurrency));
        let mut in_flight = JoinSet::new();
        // Outcomes are written by one task, many per transaction: under load that is one commit
        // for a whole batch of deliveries instead of one each.
        let (outcomes, mut finished) = tokio::sync::mpsc::unbounded_channel::<Finish>();
        let recorder_bus = self.bus.clone();
        let recorder = tokio::spawn(async move {
            while let Some(first) = finished.recv().await {
                let mut batch = vec![first];
                while batch.len() < 256 {
                    match finished.try_recv() {
                        Ok(f) => batch.push(f),
                        Err(_) => break,
                    }
                }
                record_all(&recorder_bus, batch).await;
            }
        });
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
                            let outcomes = outcomes.clone();
                            in_flight.spawn(async move {
                                let finished = attempt(&bus, claimed, event).await;
                                let _ = outcomes.send(finished);
                                drop(permit);
                                bus.wake.notify_one();
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
            let woken = tokio::select! {
                _ = self.bus.wake.notified() => true,
                _ = tokio::time::sleep(wait) => false,
                _ = shutdown.changed() => false,
            };
            // A commit wakes us at once; waiting a moment lets the commits right behind it join
            // the same claim, so a stream of small transactions is claimed and recorded in
            // batches rather than one write each.
            if woken && !self.bus.config.batch_wait.is_zero() {
                tokio::time::sleep(self.bus.config.batch_wait).await;
            }
        }
        let drain = self.bus.config.drain_timeout;
        tracing::info!(in_flight = in_flight.len(), "bus draining in-flight deliveries");
        if tokio::time::timeout(drain, async { while in_flight.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!(left = in_flight.len(), "bus drain timed out; unfinished deliveries will be retried after their lease");
            in_flight.abort_all();
        }
        // Let the recorder write what finished, then stop it.
        drop(outcomes);
        let _ = recorder.await;
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

/// One attempt's result, waiting to be recorded.
pub(crate) struct Finish {
    claimed: Claimed,
    event: Option<Arc<EventEnvelope>>,
    attempt: u32,
    started_at: i64,
    duration_ms: i64,
    outcome: Outcome,
    error: Option<String>,
    next: NextState,
    now: i64,
}

/// Runs one claimed delivery's listener (no writes: the outcome is recorded by [`record_all`]).
async fn attempt(bus: &Arc<BusInner>, claimed: Claimed, event: Option<Arc<EventEnvelope>>) -> Finish {
    let started_at = bus.clock.now_ms();
    let wall = std::time::Instant::now();
    let attempt = claimed.attempts.max(1) as u32;

    let (outcome, error, permanent) = match (&event, bus.registry.find(&claimed.listener)) {
        (None, _) => (Outcome::Failed, Some("the event could not be loaded".to_owned()), true),
        (_, None) => (Outcome::Skipped, Some(format!("no listener named {} is registered", claimed.listener)), false),
        (Some(event), Some(listener)) => {
            let listener = listener.clone();
            if !listener.enabled_for_event(&bus.db, event).await {
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
    Finish { claimed, event, attempt, started_at, duration_ms, outcome, error, next, now }
}

/// Records outcomes in one transaction (falling back to one each if the batch fails, so one bad
/// row cannot hold the others back), then feeds successes to the in-process subscribers.
async fn record_all(bus: &Arc<BusInner>, finished: Vec<Finish>) {
    if finished.is_empty() {
        return;
    }
    if let Err(e) = record_batch(bus, &finished).await {
        tracing::warn!(error = %e, batch = finished.len(), "recording a batch of outcomes failed; recording one by one");
        for f in &finished {
            if let Err(e) = record_batch(bus, std::slice::from_ref(f)).await {
                // The lease will expire and the delivery run again: at-least-once, never lost.
                tracing::error!(delivery = %f.claimed.id, error = %e, "could not record a delivery outcome");
            }
        }
    }
    if let Some(live) = &bus.live {
        for f in &finished {
            if let (NextState::Succeeded, Some(event)) = (f.next, &f.event) {
                if f.claimed.origin == store::ORIGIN_PUBLISH {
                    live.publish(event.clone()).await;
                }
            }
        }
    }
}

async fn record_batch(bus: &Arc<BusInner>, finished: &[Finish]) -> AppResult<()> {
    let mut tx = bus.db.begin().await?;
    for f in finished {
        record(bus, &mut tx, f).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn record(bus: &Arc<BusInner>, tx: &mut crate::ssr::db::Tx, f: &Finish) -> AppResult<()> {
    let event = f.event.as_deref();
    let tenant = event.and_then(|e| e.tenant_id.as_ref());
    let event_type = event.map(|e| e.event_type.name()).unwrap_or("unknown");
    let changed = store::finish(
        tx,
        &Finished {
            delivery_id: &f.claimed.id,
            worker: &bus.worker_id,
            attempt: i64::from(f.attempt),
            listener: &f.claimed.listener,
            tenant_id: tenant.map(|t| t.as_str()),
            event_type,
            started_at: f.started_at,
            duration_ms: f.duration_ms,
            outcome: f.outcome,
            error: f.error.as_deref(),
            next: f.next,
            now: f.now,
        },
    )
    .await?;
    // A dead letter is itself an event (alerts subscribe to it) — but not for deliveries of
    // that event, or one broken listener would feed itself forever.
    if changed && f.next == NextState::Dead && event.is_some_and(|e| e.event_type != EventType::BusDeliveryDead) {
        let ctx = EventContext::system(tenant.cloned());
        let payload = DeliveryDead {
            delivery_id: f.claimed.id.clone(),
            event_id: f.claimed.event_id.clone(),
            event_type: event_type.to_owned(),
            listener: f.claimed.listener.clone(),
            attempts: f.attempt,
            last_error: f.error.clone().unwrap_or_default(),
        };
        super::Bus { inner: bus.clone() }.publish(tx, &ctx, DomainEvent::BusDeliveryDead(payload)).await?;
    }
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
