//! Work the server does besides answering requests: the bus dispatcher, the Postgres wake-up
//! listener, resuming replays, retention and the session sweep. Started with the server, stopped
//! (dispatcher drained) when it shuts down.

use std::time::Duration;

use app::ssr::{
    bus::{maintenance, replay},
    db::{dialect::OUTBOX_CHANNEL, Dialect},
    AppState,
};
use tokio::{sync::watch, task::JoinHandle};

pub struct Background {
    stop: watch::Sender<bool>,
    dispatcher: Option<JoinHandle<()>>,
    webhook_sender: Option<JoinHandle<()>>,
    others: Vec<JoinHandle<()>>,
}

pub fn start(state: &AppState) -> Background {
    let (stop, stopped) = watch::channel(false);
    let dispatcher = state.config.bus.dispatch.then(|| tokio::spawn(state.bus.dispatcher().run(stopped.clone())));
    let mut others = vec![spawn_session_sweeper(state.clone()), spawn_retention(state.clone())];
    let webhook_sender = state.config.webhooks.send.then(|| tokio::spawn(app::ssr::webhooks::sender::Sender::new(state.clone()).run(stopped.clone())));
    if state.config.stripe.secret_key.is_some() && !state.config.stripe.reconcile_interval.is_zero() {
        others.push(spawn_reconciliation(state.clone()));
    }
    if !state.config.overdue_interval.is_zero() {
        others.push(spawn_overdue(state.clone()));
    }
    if state.config.bus.dispatch {
        let bus = state.bus.clone();
        others.push(tokio::spawn(async move {
            if let Err(e) = replay::resume_pending(&bus).await {
                tracing::error!(error = %e, "resuming replays failed");
            }
        }));
        if state.db.dialect == Dialect::Postgres {
            others.push(spawn_postgres_wakeups(state.clone()));
        }
    }
    Background { stop, dispatcher, webhook_sender, others }
}

impl Background {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in &self.others {
            task.abort();
        }
        if let Some(dispatcher) = self.dispatcher {
            let _ = dispatcher.await;
        }
        if let Some(sender) = self.webhook_sender {
            let _ = sender.await;
        }
    }
}

/// Other replicas' commits arrive as NOTIFY on one channel; each wakes this dispatcher. Lost
/// notifications (a reconnect) only cost the safety-net poll interval.
fn spawn_postgres_wakeups(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect(state.config.database_url.expose()).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(OUTBOX_CHANNEL).await {
                        tracing::warn!(error = %e, "LISTEN failed");
                    } else {
                        state.bus.wake();
                        while listener.recv().await.is_ok() {
                            state.bus.wake();
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot open the Postgres notification connection; polling meanwhile"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

/// Archives events past retention, hourly.
fn spawn_retention(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = state.bus.now_ms();
            let cutoff = now - i64::from(state.config.bus.retention_days) * 86_400_000;
            match maintenance::archive_older_than(&state.db, cutoff, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "archived events past retention"),
                Err(e) => tracing::warn!(error = %e, "archiving failed"),
            }
        }
    })
}

/// Pulls Stripe's undelivered events on a schedule (first run one interval after start, so a
/// restart loop cannot hammer Stripe). Replicas may overlap harmlessly: ingest dedupes by event id.
fn spawn_reconciliation(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let every = state.config.stripe.reconcile_interval;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            match app::ssr::ledger::reconcile::sweep_all(&state).await {
                Ok(runs) => {
                    let recovered: i64 = runs.iter().map(|r| r.ingested).sum();
                    tracing::info!(runs = runs.len(), recovered, "reconciliation sweep done");
                }
                Err(e) => tracing::warn!(error = %e, "reconciliation sweep failed"),
            }
        }
    })
}

/// Deletes expired sessions and idempotency records hourly (a missed run only leaves rows that no longer load).
fn spawn_session_sweeper(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = app::ssr::time_util::now_ms();
            if let Err(e) = app::ssr::db::sessions::delete_expired(&state.db.pool, now).await {
                tracing::warn!(error = %e, "session sweep failed");
            }
            // Idempotency records past their TTL no longer count; drop them.
            if let Err(e) = app::ssr::idempotency::purge_expired(&state.db, state.config.idempotency_ttl.as_millis() as i64, now).await {
                tracing::warn!(error = %e, "idempotency purge failed");
            }
        }
    })
}

/// Marks open invoices past their due date as overdue, once an interval. Safe on every replica:
/// each invoice is marked (and its `invoice.overdue` published) by exactly one of them.
fn spawn_overdue(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let every = state.config.overdue_interval;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match app::ssr::billing::overdue::run_once(&state.bus, state.bus.now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(invoices = n, "invoices marked overdue"),
                Err(e) => tracing::warn!(error = %e, "overdue job failed"),
            }
        }
    })
}
