//! What the database says happened, read directly once the bus is idle: events, the API keys
//! they announce, deliveries, attempts and the `bus-probe` listener's receipts — and the
//! invariants the bus promises about them.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::support::{Database, Lease};

pub const PROBE: &str = "bus-probe";

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub listener: String,
    pub origin: String,
    pub status: String,
    pub attempts: i64,
}

#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub delivery_id: String,
    pub attempt: i64,
    pub worker: String,
    pub started_at: i64,
    pub outcome: String,
}

#[derive(Debug, Clone)]
pub struct ReceiptRow {
    pub listener: String,
    pub delivery_id: String,
    pub event_id: String,
}

pub struct BusAudit {
    pub event_ids: HashSet<String>,
    /// `api_key.created` events by the key they announce (several would be a bug: kept all).
    pub key_events: HashMap<String, Vec<String>>,
    pub api_keys: HashSet<String>,
    pub deliveries: Vec<DeliveryRow>,
    pub attempts: Vec<AttemptRow>,
    pub receipts: Vec<ReceiptRow>,
}

impl BusAudit {
    pub async fn take(db: &Database) -> BusAudit {
        let pool = db.pool().await;
        let event_ids: Vec<String> = sqlx::query_scalar("SELECT id FROM events").fetch_all(&pool).await.unwrap();
        let key_event_rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, payload FROM events WHERE type = 'api_key.created'").fetch_all(&pool).await.unwrap();
        let mut key_events: HashMap<String, Vec<String>> = HashMap::new();
        for (event_id, payload) in key_event_rows {
            let payload: Value = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("event {event_id} has a payload that is not JSON ({e})"));
            let key = payload["api_key_id"].as_str().unwrap_or_else(|| panic!("event {event_id} names no api_key_id: {payload}"));
            key_events.entry(key.to_owned()).or_default().push(event_id);
        }
        let api_keys: Vec<String> = sqlx::query_scalar("SELECT id FROM api_keys").fetch_all(&pool).await.unwrap();
        let deliveries: Vec<DeliveryRow> = sqlx::query_as::<_, (String, String, String, String, String, i64)>(
            "SELECT id, event_id, listener, origin, status, CAST(attempts AS BIGINT) FROM event_deliveries",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, event_id, listener, origin, status, attempts)| DeliveryRow { id, event_id, listener, origin, status, attempts })
        .collect();
        let attempts: Vec<AttemptRow> = sqlx::query_as::<_, (String, i64, String, i64, String)>(
            "SELECT delivery_id, CAST(attempt AS BIGINT), worker, CAST(started_at AS BIGINT), outcome FROM delivery_attempts ORDER BY delivery_id, attempt",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(delivery_id, attempt, worker, started_at, outcome)| AttemptRow { delivery_id, attempt, worker, started_at, outcome })
        .collect();
        let receipts: Vec<ReceiptRow> = sqlx::query_as::<_, (String, String, String)>("SELECT listener, delivery_id, event_id FROM listener_receipts")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .map(|(listener, delivery_id, event_id)| ReceiptRow { listener, delivery_id, event_id })
            .collect();
        pool.close().await;
        BusAudit { event_ids: event_ids.into_iter().collect(), key_events, api_keys: api_keys.into_iter().collect(), deliveries, attempts, receipts }
    }

    fn probe_deliveries(&self) -> impl Iterator<Item = &DeliveryRow> {
        self.deliveries.iter().filter(|d| d.listener == PROBE)
    }

    /// Every `201` the client got stands for a key row and its event, both committed.
    pub fn assert_every_acknowledged_key_is_stored_with_its_event(&self, acknowledged: &[String]) {
        let missing_keys: Vec<&String> = acknowledged.iter().filter(|id| !self.api_keys.contains(*id)).collect();
        assert!(missing_keys.is_empty(), "{} acknowledged API keys are not stored: {missing_keys:?}", missing_keys.len());
        let missing_events: Vec<&String> = acknowledged.iter().filter(|id| !self.key_events.contains_key(*id)).collect();
        assert!(missing_events.is_empty(), "{} acknowledged API keys have no api_key.created event: {missing_events:?}", missing_events.len());
        let unique: HashSet<&String> = acknowledged.iter().collect();
        assert_eq!(unique.len(), acknowledged.len(), "the server acknowledged the same key id twice");
    }

    /// The key and its event were written in one transaction: neither exists without the other,
    /// and no key was announced twice — whatever the crash interrupted.
    pub fn assert_keys_and_events_are_atomic(&self) {
        let keys_without_event: Vec<&String> = self.api_keys.iter().filter(|k| !self.key_events.contains_key(*k)).collect();
        assert!(keys_without_event.is_empty(), "API keys stored without their event: {keys_without_event:?}");
        let events_without_key: Vec<&String> = self.key_events.keys().filter(|k| !self.api_keys.contains(*k)).collect();
        assert!(events_without_key.is_empty(), "api_key.created events for keys that do not exist: {events_without_key:?}");
        let announced_twice: Vec<(&String, &Vec<String>)> = self.key_events.iter().filter(|(_, events)| events.len() > 1).collect();
        assert!(announced_twice.is_empty(), "keys announced by more than one event: {announced_twice:?}");
    }

    /// Every event — acknowledged, committed-but-unacknowledged, or published by signup — has
    /// exactly one first delivery to `bus-probe`, and every delivery of the bus succeeded.
    pub fn assert_every_event_delivered_to_the_probe(&self) {
        let mut first_deliveries: HashMap<&str, usize> = HashMap::new();
        for d in self.probe_deliveries().filter(|d| d.origin == "publish") {
            *first_deliveries.entry(d.event_id.as_str()).or_default() += 1;
        }
        let undelivered: Vec<&String> = self.event_ids.iter().filter(|e| !first_deliveries.contains_key(e.as_str())).collect();
        assert!(undelivered.is_empty(), "{} events have no delivery to {PROBE}: {undelivered:?}", undelivered.len());
        let doubled: Vec<(&&str, &usize)> = first_deliveries.iter().filter(|(_, n)| **n > 1).collect();
        assert!(doubled.is_empty(), "events with more than one first delivery to {PROBE}: {doubled:?}");
        let orphans: Vec<&DeliveryRow> = self.deliveries.iter().filter(|d| !self.event_ids.contains(&d.event_id)).collect();
        assert!(orphans.is_empty(), "deliveries of events that do not exist: {orphans:?}");
    }

    /// Every delivery reached its end: succeeded, or skipped because its listener (a plugin) is
    /// off for the event's tenant. The probe is always on, so none of its deliveries is skipped.
    pub fn assert_every_delivery_succeeded(&self) {
        let finished = |d: &DeliveryRow| d.status == "succeeded" || (d.status == "skipped" && d.listener != PROBE);
        let unfinished: Vec<&DeliveryRow> = self.deliveries.iter().filter(|d| !finished(d)).collect();
        assert!(
            unfinished.is_empty(),
            "{} deliveries did not succeed (by status: {:?}): {:?}",
            unfinished.len(),
            self.by_status(),
            &unfinished[..unfinished.len().min(10)]
        );
    }

    /// The idempotency table holds one receipt per `bus-probe` delivery — a redelivery finds its
    /// receipt already there instead of adding a second — and nothing else.
    pub fn assert_the_probe_recorded_each_delivery_exactly_once(&self) {
        let probe: HashMap<&str, &DeliveryRow> = self.probe_deliveries().map(|d| (d.id.as_str(), d)).collect();
        let receipts: Vec<&ReceiptRow> = self.receipts.iter().filter(|r| r.listener == PROBE).collect();
        let mut per_delivery: HashMap<&str, usize> = HashMap::new();
        for r in &receipts {
            *per_delivery.entry(r.delivery_id.as_str()).or_default() += 1;
        }
        let repeated: Vec<(&&str, &usize)> = per_delivery.iter().filter(|(_, n)| **n > 1).collect();
        assert!(repeated.is_empty(), "deliveries with more than one receipt: {repeated:?}");
        let without_receipt: Vec<&&str> = probe.keys().filter(|id| !per_delivery.contains_key(**id)).collect();
        assert!(without_receipt.is_empty(), "{} {PROBE} deliveries have no receipt: {without_receipt:?}", without_receipt.len());
        for r in &receipts {
            let delivery = probe.get(r.delivery_id.as_str()).unwrap_or_else(|| panic!("a receipt for a delivery that does not exist: {r:?}"));
            assert_eq!(delivery.event_id, r.event_id, "the receipt names another event than its delivery");
        }
        assert_eq!(receipts.len(), probe.len(), "receipts and {PROBE} deliveries differ in number");
    }

    /// Each delivery was attempted once, by one worker, and that attempt succeeded.
    pub fn assert_no_delivery_was_attempted_twice(&self) {
        let twice: Vec<&DeliveryRow> = self.deliveries.iter().filter(|d| d.attempts != 1).collect();
        assert!(twice.is_empty(), "{} deliveries were claimed more than once: {:?}", twice.len(), &twice[..twice.len().min(10)]);
        let mut rows: HashMap<&str, Vec<&AttemptRow>> = HashMap::new();
        for a in &self.attempts {
            rows.entry(a.delivery_id.as_str()).or_default().push(a);
        }
        for d in &self.deliveries {
            let recorded = rows.get(d.id.as_str()).map(Vec::as_slice).unwrap_or_default();
            assert!(
                recorded.len() == 1 && finished(&recorded[0].outcome),
                "delivery {} should have one finished attempt on record, has {recorded:?}",
                d.id
            );
        }
    }

    /// The deliveries a killed process was holding were finished by another worker, only once
    /// their lease had expired; the killed process never recorded an outcome for its claim.
    pub fn assert_orphaned_leases_were_taken_over_after_expiry(&self, orphans: &[Lease]) {
        assert!(!orphans.is_empty(), "no orphaned lease to check");
        for orphan in orphans {
            let delivery = self.deliveries.iter().find(|d| d.id == orphan.delivery_id).unwrap_or_else(|| panic!("orphan {orphan:?} vanished"));
            assert!(finished(&delivery.status), "orphan {orphan:?} ended as {delivery:?}");
            assert!(delivery.attempts > orphan.attempts, "orphan {orphan:?} was never claimed again: {delivery:?}");
            let recorded: Vec<&AttemptRow> = self.attempts.iter().filter(|a| a.delivery_id == orphan.delivery_id).collect();
            assert!(
                !recorded.iter().any(|a| a.attempt == orphan.attempts),
                "the killed worker recorded an outcome for the claim it held: {orphan:?} {recorded:?}"
            );
            let finished = recorded
                .iter()
                .find(|a| finished(&a.outcome))
                .unwrap_or_else(|| panic!("orphan {orphan:?} has no finished attempt on record: {recorded:?}"));
            assert_ne!(finished.worker, orphan.worker, "orphan {orphan:?} finished by the worker that was killed");
            assert!(
                finished.started_at >= orphan.lease_until,
                "orphan {orphan:?} was taken over {} ms before its lease expired: {finished:?}",
                orphan.lease_until - finished.started_at
            );
        }
    }

    pub fn by_status(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for d in &self.deliveries {
            *out.entry(d.status.clone()).or_default() += 1;
        }
        out
    }

    /// Deliveries claimed more than once (redelivered after a crash or a lost lease).
    pub fn redelivered(&self) -> usize {
        self.deliveries.iter().filter(|d| d.attempts > 1).count()
    }

    /// Deliveries with a claim that left no attempt on record: the process that held it died
    /// before it could write the outcome (another claim later finished the job).
    pub fn lost_claims(&self) -> usize {
        let mut recorded: HashMap<&str, i64> = HashMap::new();
        for a in &self.attempts {
            *recorded.entry(a.delivery_id.as_str()).or_default() += 1;
        }
        self.deliveries.iter().filter(|d| d.attempts > recorded.get(d.id.as_str()).copied().unwrap_or(0)).count()
    }

    /// Recorded attempts per worker (`wrk_…`, one per process lifetime).
    pub fn attempts_by_worker(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for a in &self.attempts {
            *out.entry(a.worker.clone()).or_default() += 1;
        }
        out
    }

    pub fn attempts_by_outcome(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for a in &self.attempts {
            *out.entry(a.outcome.clone()).or_default() += 1;
        }
        out
    }

    pub fn report(&self, title: &str) {
        eprintln!(
            "[{title}] events={} api_keys={} deliveries={} by_status={:?} receipts={} redelivered(attempts>1)={} lost_claims={} attempts_by_outcome={:?} attempts_by_worker={:?}",
            self.event_ids.len(),
            self.api_keys.len(),
            self.deliveries.len(),
            self.by_status(),
            self.receipts.len(),
            self.redelivered(),
            self.lost_claims(),
            self.attempts_by_outcome(),
            self.attempts_by_worker(),
        );
    }
}

/// The outcomes that end a delivery well: it ran, or its listener (a plugin) is off for the
/// event's tenant. [`BusAudit::assert_every_delivery_succeeded`] checks the probe is never skipped.
fn finished(outcome: &str) -> bool {
    outcome == "succeeded" || outcome == "skipped"
}
