//! The `webhooks` listener: for each event of a tenant, one message per active endpoint whose
//! filter matches, written in one transaction with the listener's receipt — a redelivery of the
//! same bus delivery finds the receipt and writes nothing.

use std::sync::Arc;

use async_trait::async_trait;

use super::{origin, payload, store, trigger, Signals};
use crate::{
    domain::{
        events::{EventEnvelope, EventPattern, EventType},
        webhooks::PayloadStyle,
        EndpointId, PrefixedId, WebhookMessageId,
    },
    error::AppResult,
    ssr::{
        bus::{receipts, Clock, Delivery, Listener, ListenerError},
        db::{Db, Dialect, Tx},
        ids::new_id,
    },
};

pub const LISTENER_NAME: &str = "webhooks";

pub struct FanoutListener {
    db: Db,
    clock: Arc<dyn Clock>,
    signals: Arc<Signals>,
}

impl FanoutListener {
    pub fn new(db: Db, clock: Arc<dyn Clock>, signals: Arc<Signals>) -> Self {
        Self { db, clock, signals }
    }
}

/// Whether an endpoint's stored filter takes this event type.
pub fn filter_matches(patterns: &[String], event_type: EventType) -> bool {
    patterns.iter().filter_map(|p| EventPattern::parse(p).ok()).any(|p| p.matches(event_type))
}

#[async_trait]
impl Listener for FanoutListener {
    fn name(&self) -> &'static str {
        LISTENER_NAME
    }

    fn patterns(&self) -> Vec<EventPattern> {
        vec![EventPattern::All]
    }

    async fn handle(&self, delivery: &Delivery) -> Result<(), ListenerError> {
        let event = &delivery.event;
        let Some(tenant) = event.tenant_id.as_ref() else { return Ok(()) };
        // A test event goes to the endpoint that asked for it only (queued by the service).
        if event.event_type == EventType::EndpointTestSent {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await.map_err(|e| ListenerError::retryable(e.to_string()))?;
        if !receipts::record_once(&mut *tx, LISTENER_NAME, &delivery.id, &event.id, now).await? {
            return Ok(());
        }
        let endpoints = store::active_endpoints(&mut *tx, tenant.as_str()).await?;
        let mut queued = 0;
        for endpoint in endpoints.iter().filter(|e| filter_matches(&e.patterns(), event.event_type)) {
            let style = PayloadStyle::parse(&endpoint.payload_style).unwrap_or_default();
            insert_for(&mut tx, self.db.dialect, endpoint, event, style, origin::FANOUT, trigger::SCHEDULED, now)
                .await
                .map_err(|e| ListenerError::retryable(e.to_string()))?;
            queued += 1;
        }
        tx.commit().await?;
        if queued > 0 {
            self.signals.wake();
        }
        Ok(())
    }
}

/// Queues `event` for one endpoint of the event's tenant with the chosen payload style, inside the
/// caller's transaction (rules target endpoints this way). `None` when the endpoint does not
/// exist, belongs to another tenant or is disabled. The sender picks the message up at its next
/// poll, or at once after `state.webhooks.wake()` once the transaction has committed.
pub async fn enqueue(
    tx: &mut Tx,
    dialect: Dialect,
    event: &EventEnvelope,
    endpoint: &EndpointId,
    style: PayloadStyle,
    now_ms: i64,
) -> AppResult<Option<WebhookMessageId>> {
    let Some(row) = store::endpoint_for_update(&mut **tx, endpoint.as_str(), "").await? else { return Ok(None) };
    if row.status != store::STATUS_ACTIVE || event.tenant_id.as_ref().map(|t| t.as_str()) != Some(row.tenant_id.as_str()) {
        return Ok(None);
    }
    insert_for(tx, dialect, &row, event, style, origin::DIRECT, trigger::SCHEDULED, now_ms).await.map(Some)
}

/// Writes one message of `event` for `endpoint`. On an ordered endpoint it takes the next
/// sequence number of the event's object and points at the message before it (serialised per
/// (endpoint, object) by an advisory lock on Postgres; the unique index backs it up).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_for(
    tx: &mut Tx,
    dialect: Dialect,
    endpoint: &store::EndpointRow,
    event: &EventEnvelope,
    style: PayloadStyle,
    origin: &str,
    next_trigger: &str,
    now_ms: i64,
) -> AppResult<WebhookMessageId> {
    let body = payload::build(event, style);
    let (sequence, previous_id) = match (endpoint.ordered != 0, body.object_id.as_deref()) {
        (true, Some(object)) => {
            if let Some(lock) = dialect.lock_key_sql() {
                sqlx::query(lock).bind(format!("webhook-seq/{}/{object}", endpoint.id)).execute(&mut **tx).await?;
            }
            match store::last_in_sequence(&mut **tx, &endpoint.id, object).await? {
                Some((prev, seq)) => (Some(seq + 1), Some(prev)),
                None => (Some(1), None),
            }
        }
        _ => (None, None),
    };
    let id = new_id::<WebhookMessageId>();
    let row = store::MessageRow {
        id: id.to_string(),
        tenant_id: endpoint.tenant_id.clone(),
        endpoint_id: endpoint.id.clone(),
        event_id: event.id.to_string(),
        event_type: event.event_type.name().to_owned(),
        payload_style: body.style.as_str().to_owned(),
        body: body.json,
        note: body.note,
        origin: origin.to_owned(),
        object_id: body.object_id,
        sequence,
        previous_id,
        status: "pending".into(),
        attempts: 0,
        next_trigger: next_trigger.to_owned(),
        next_attempt_at: Some(now_ms),
        last_status_code: None,
        last_error: None,
        created_at: now_ms,
    };
    store::insert_message(&mut **tx, &row).await?;
    Ok(id)
}
