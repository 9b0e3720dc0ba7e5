//! Reading the bus: events with filters and cursors, one event with its deliveries and attempts,
//! dead letters, manual retry, and the statistics behind the stats page, `/api/v1/health` and
//! `/metrics`. Every query takes a [`Scope`]: one tenant, or the whole platform.

use std::collections::{BTreeMap, HashMap};

use sqlx::FromRow;

use super::store::{EventRow, EVENT_COLUMNS};
use crate::ssr::db::page::bind_all;
use crate::{
    domain::{
        dto::List,
        events::{views::*, EventType},
        TenantId,
    },
    error::{AppError, AppResult},
    ssr::{
        db::{
            page::{Bind, Listing},
            Db, PageParams,
        },
        time_util::from_ms,
    },
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Tenant(TenantId),
    /// The platform operator's view across tenants.
    Global,
}

impl Scope {
    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            Scope::Tenant(t) => Some(t),
            Scope::Global => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Scope::Tenant(_) => "tenant",
            Scope::Global => "global",
        }
    }
}

/// Builds `WHERE … AND …` clauses with numbered placeholders.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    fn push(&mut self, clause_with_qmark: &str, value: impl Into<Bind>) {
        self.binds.push(value.into());
        self.clauses.push(clause_with_qmark.replace('?', &format!("${}", self.binds.len())));
    }

    fn push_in(&mut self, column: &str, values: &[&str]) {
        let mut marks = Vec::with_capacity(values.len());
        for v in values {
            self.binds.push((*v).into());
            marks.push(format!("${}", self.binds.len()));
        }
        self.clauses.push(format!("{column} IN ({})", marks.join(", ")));
    }

    fn scope(&mut self, scope: &Scope, column: &str) {
        if let Scope::Tenant(t) = scope {
            self.push(&format!("{column} = ?"), t.to_string());
        }
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

/// Filters of `GET /api/v1/events` (and of replays).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Empty: every type.
    pub types: Vec<EventType>,
    pub actor: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub archived: bool,
    /// Only events with a delivery in this status (`dead`: events with a dead letter).
    pub delivery_status: Option<String>,
    /// Only events delivered (in any status, or in `delivery_status`) to this listener.
    pub listener: Option<String>,
}

/// `table` is the events table the clause reads (`events` or `events_archive`): the delivery
/// conditions name it to reach the outer row.
fn event_where(scope: &Scope, filter: &EventFilter, table: &str) -> AppResult<Where> {
    let mut w = Where::default();
    w.scope(scope, "tenant_id");
    if !filter.types.is_empty() {
        let names: Vec<&str> = filter.types.iter().map(|t| t.name()).collect();
        w.push_in("type", &names);
    }
    if let Some(actor) = &filter.actor {
        w.push("actor = ?", actor.clone());
    }
    if let Some(from) = filter.from_ms {
        w.push("occurred_at >= ?", from);
    }
    if let Some(to) = filter.to_ms {
        w.push("occurred_at < ?", to);
    }
    if filter.delivery_status.is_some() || filter.listener.is_some() {
        let mut inner = vec![format!("d.event_id = {table}.id")];
        if let Some(status) = &filter.delivery_status {
            check_delivery_status(status)?;
            w.binds.push(status.clone().into());
            inner.push(format!("d.status = ${}", w.binds.len()));
        }
        if let Some(listener) = &filter.listener {
            w.binds.push(listener.clone().into());
            inner.push(format!("d.listener = ${}", w.binds.len()));
        }
        w.clauses.push(format!("EXISTS (SELECT 1 FROM event_deliveries d WHERE {})", inner.join(" AND ")));
    }
    Ok(w)
}

pub fn event_out(row: &EventRow, archived: bool) -> AppResult<EventOut> {
    let envelope = super::envelope_from_row(row).map_err(|e| {
        tracing::error!(event = %row.id, error = %e, "stored event cannot be read");
        AppError::Internal
    })?;
    Ok(EventOut {
        id: row.id.clone(),
        event_type: row.event_type.clone(),
        version: envelope.version,
        occurred_at: envelope.occurred_at,
        tenant_id: row.tenant_id.clone(),
        actor: row.actor.clone(),
        actor_type: envelope.actor_type,
        payload: envelope.payload,
        metadata: envelope.metadata,
        archived,
    })
}

pub async fn list_events(db: &Db, scope: &Scope, filter: &EventFilter, page: &PageParams) -> AppResult<List<EventOut>> {
    let table = if filter.archived { "events_archive" } else { "events" };
    let w = event_where(scope, filter, table)?;
    let from_where = format!("FROM {table} WHERE {}", w.sql());
    let listing = Listing { columns: EVENT_COLUMNS, from_where: &from_where, time_column: "occurred_at", key_column: "id", binds: w.binds };
    let (rows, has_more): (Vec<EventRow>, bool) = listing.fetch(db, page).await?;
    let data = rows.iter().map(|r| event_out(r, filter.archived)).collect::<AppResult<Vec<_>>>()?;
    Ok(List::new(data, has_more))
}

async fn find_event(db: &Db, scope: &Scope, id: &str) -> AppResult<Option<(EventRow, bool)>> {
    for (table, archived) in [("events", false), ("events_archive", true)] {
        let mut w = Where::default();
        w.push("id = ?", id);
        w.scope(scope, "tenant_id");
        let sql = format!("SELECT {EVENT_COLUMNS} FROM {table} WHERE {}", w.sql());
        let mut q = sqlx::query_as::<_, EventRow>(&sql);
        for b in &w.binds {
            q = match b {
                Bind::Text(v) => q.bind(v.clone()),
                Bind::Int(v) => q.bind(*v),
            };
        }
        if let Some(row) = q.fetch_optional(&db.pool).await? {
            return Ok(Some((row, archived)));
        }
    }
    Ok(None)
}

#[derive(Debug, Clone, FromRow)]
struct DeliveryRow {
    id: String,
    event_id: String,
    event_type: String,
    listener: String,
    origin: String,
    status: String,
    attempts: i64,
    max_attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    duration_ms: Option<i64>,
    created_at: i64,
    completed_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str =
    "id, event_id, event_type, listener, origin, status, attempts, max_attempts, next_attempt_at, last_error, duration_ms, created_at, completed_at";

#[derive(Debug, Clone, FromRow)]
struct AttemptRow {
    delivery_id: String,
    attempt: i64,
    started_at: i64,
    duration_ms: i64,
    outcome: String,
    error: Option<String>,
}

fn delivery_out(row: DeliveryRow) -> DeliveryOut {
    DeliveryOut {
        replay_id: (row.origin != super::store::ORIGIN_PUBLISH).then(|| row.origin.clone()),
        next_attempt_at: (row.status == "pending").then(|| from_ms(row.next_attempt_at)),
        id: row.id,
        event_id: row.event_id,
        event_type: row.event_type,
        listener: row.listener,
        status: row.status,
        attempts: row.attempts.max(0) as u32,
        max_attempts: row.max_attempts.max(0) as u32,
        last_error: row.last_error,
        duration_ms: row.duration_ms,
        created_at: from_ms(row.created_at),
        completed_at: row.completed_at.map(from_ms),
        attempt_log: Vec::new(),
    }
}

async fn attach_attempts(db: &Db, deliveries: &mut [DeliveryOut]) -> AppResult<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let marks: Vec<String> = (1..=deliveries.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT delivery_id, attempt, started_at, duration_ms, outcome, error FROM delivery_attempts
         WHERE delivery_id IN ({}) ORDER BY attempt",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, AttemptRow>(&sql);
    for d in deliveries.iter() {
        q = q.bind(d.id.clone());
    }
    let mut by_delivery: HashMap<String, Vec<AttemptOut>> = HashMap::new();
    for a in q.fetch_all(&db.pool).await? {
        by_delivery.entry(a.delivery_id).or_default().push(AttemptOut {
            attempt: a.attempt.max(0) as u32,
            started_at: from_ms(a.started_at),
            duration_ms: a.duration_ms,
            outcome: a.outcome,
            error: a.error,
        });
    }
    for d in deliveries.iter_mut() {
        d.attempt_log = by_delivery.remove(&d.id).unwrap_or_default();
    }
    Ok(())
}

/// One event with every delivery made of it and each delivery's attempts.
pub async fn event_detail(db: &Db, scope: &Scope, id: &str) -> AppResult<EventDetailOut> {
    let (row, archived) = find_event(db, scope, id).await?.ok_or_else(|| AppError::not_found("event"))?;
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!("SELECT {DELIVERY_COLUMNS} FROM event_deliveries WHERE event_id = $1 ORDER BY created_at, listener"))
        .bind(&row.id)
        .fetch_all(&db.pool)
        .await?;
    let mut deliveries: Vec<DeliveryOut> = rows.into_iter().map(delivery_out).collect();
    attach_attempts(db, &mut deliveries).await?;
    Ok(EventDetailOut { event: event_out(&row, archived)?, deliveries })
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<String>,
    pub listener: Option<String>,
}

pub const DELIVERY_STATUSES: [&str; 5] = ["pending", "running", "succeeded", "skipped", "dead"];

fn check_delivery_status(status: &str) -> AppResult<()> {
    if DELIVERY_STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(AppError::invalid("parameter_invalid", "status must be pending, running, succeeded, skipped or dead", Some("status")))
    }
}

pub async fn list_deliveries(db: &Db, scope: &Scope, filter: &DeliveryFilter, page: &PageParams) -> AppResult<List<DeliveryOut>> {
    let mut w = Where::default();
    w.scope(scope, "tenant_id");
    if let Some(status) = &filter.status {
        check_delivery_status(status)?;
        w.push("status = ?", status.clone());
    }
    if let Some(listener) = &filter.listener {
        w.push("listener = ?", listener.clone());
    }
    let from_where = format!("FROM event_deliveries WHERE {}", w.sql());
    let listing = Listing { columns: DELIVERY_COLUMNS, from_where: &from_where, time_column: "created_at", key_column: "id", binds: w.binds };
    let (rows, has_more): (Vec<DeliveryRow>, bool) = listing.fetch(db, page).await?;
    Ok(List::new(rows.into_iter().map(delivery_out).collect(), has_more))
}

pub async fn delivery(db: &Db, scope: &Scope, id: &str) -> AppResult<DeliveryOut> {
    let mut w = Where::default();
    w.push("id = ?", id);
    w.scope(scope, "tenant_id");
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM event_deliveries WHERE {}", w.sql());
    let mut q = sqlx::query_as::<_, DeliveryRow>(&sql);
    for b in &w.binds {
        if let Bind::Text(v) = b {
            q = q.bind(v.clone());
        }
    }
    let row = q.fetch_optional(&db.pool).await?.ok_or_else(|| AppError::not_found("delivery"))?;
    let mut out = vec![delivery_out(row)];
    attach_attempts(db, &mut out).await?;
    Ok(out.remove(0))
}

/// Puts a dead delivery back in the queue, due now, with a fresh budget of attempts. Its id does
/// not change, so a listener that already did the work recognises it.
pub async fn retry_dead(db: &Db, scope: &Scope, id: &str, max_attempts: u32, now: i64) -> AppResult<DeliveryOut> {
    let current = delivery(db, scope, id).await?;
    if current.status != "dead" {
        return Err(AppError::conflict("delivery_not_dead", format!("Only dead deliveries can be retried; this one is {}.", current.status), None));
    }
    sqlx::query(
        "UPDATE event_deliveries SET status = 'pending', next_attempt_at = $2, max_attempts = attempts + $3,
             completed_at = NULL, updated_at = $2
         WHERE id = $1 AND status = 'dead'",
    )
    .bind(id)
    .bind(now)
    .bind(i64::from(max_attempts))
    .execute(&db.pool)
    .await?;
    delivery(db, scope, id).await
}

async fn scalar_i64(db: &Db, sql: &str, w: &Where) -> AppResult<i64> {
    let mut q = sqlx::query_scalar::<_, Option<i64>>(sql);
    for b in &w.binds {
        q = match b {
            Bind::Text(v) => q.bind(v.clone()),
            Bind::Int(v) => q.bind(*v),
        };
    }
    Ok(q.fetch_one(&db.pool).await?.unwrap_or(0))
}

/// Backlog, dead letters and the age of the oldest pending delivery.
pub async fn health(db: &Db, scope: &Scope, now: i64) -> AppResult<BusHealthOut> {
    let mut w = Where::default();
    w.scope(scope, "tenant_id");
    let backlog = scalar_i64(db, &format!("SELECT COUNT(*) FROM event_deliveries WHERE status IN ('pending','running') AND {}", w.sql()), &w).await?;
    let dead = scalar_i64(db, &format!("SELECT COUNT(*) FROM event_deliveries WHERE status = 'dead' AND {}", w.sql()), &w).await?;
    let oldest_sql = format!("SELECT MIN(created_at) FROM event_deliveries WHERE status IN ('pending','running') AND {}", w.sql());
    let oldest = scalar_i64(db, &oldest_sql, &w).await?;
    let oldest = (backlog > 0).then_some(oldest);
    Ok(BusHealthOut {
        backlog: backlog.max(0) as u64,
        dead: dead.max(0) as u64,
        oldest_pending_age_seconds: oldest.map(|t| ((now - t) / 1000).max(0)),
    })
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The stats page and `GET /api/observability/event-bus`: the last `window_minutes`.
pub async fn stats(db: &Db, scope: &Scope, window_minutes: u32, now: i64) -> AppResult<BusStatsOut> {
    let since = now - i64::from(window_minutes) * 60_000;
    let first_minute = since.div_euclid(60_000);

    // Read the deliveries first, then the attempts: a delivery seen finished here has its
    // attempt in the next read, so the page never shows "all done" with outcomes missing.
    let mut w = Where::default();
    w.scope(scope, "tenant_id");
    w.push("(completed_at IS NULL OR completed_at >= ?)", since);
    let sql = format!("SELECT listener, status, created_at, completed_at FROM event_deliveries WHERE {}", w.sql());
    let open = bind_all(sqlx::query_as::<_, (String, String, i64, Option<i64>)>(&sql), &w.binds).fetch_all(&db.pool).await?;

    let mut w = Where::default();
    w.scope(scope, "tenant_id");
    w.push("started_at >= ?", since);
    let sql = format!("SELECT listener, delivery_id, attempt, started_at, duration_ms, outcome FROM delivery_attempts WHERE {}", w.sql());
    let attempts = bind_all(sqlx::query_as::<_, (String, String, i64, i64, i64, String)>(&sql), &w.binds).fetch_all(&db.pool).await?;

    let mut w = Where::default();
    w.scope(scope, "tenant_id");
    w.push("occurred_at >= ?", since);
    let sql = format!("SELECT type, occurred_at FROM events WHERE {}", w.sql());
    let events = bind_all(sqlx::query_as::<_, (String, i64)>(&sql), &w.binds).fetch_all(&db.pool).await?;

    let mut emitted: BTreeMap<String, u64> = BTreeMap::new();
    let minutes = window_minutes as usize;
    let mut per_minute: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); minutes + 1];
    for (event_type, at) in &events {
        *emitted.entry(event_type.clone()).or_default() += 1;
        let slot = (at.div_euclid(60_000) - first_minute).clamp(0, minutes as i64) as usize;
        *per_minute[slot].entry(event_type.clone()).or_default() += 1;
    }

    let mut listeners: BTreeMap<String, (ListenerStats, Vec<i64>)> = BTreeMap::new();
    let mut failures = vec![0u64; minutes + 1];
    for (listener, _delivery, attempt, started_at, duration, outcome) in &attempts {
        let entry = listeners.entry(listener.clone()).or_insert_with(|| (ListenerStats { listener: listener.clone(), ..Default::default() }, Vec::new()));
        entry.1.push(*duration);
        match outcome.as_str() {
            "succeeded" => {
                entry.0.ok += 1;
                if *attempt > 1 {
                    entry.0.retried += 1;
                }
            }
            "skipped" => {}
            _ => {
                entry.0.failed += 1;
                let slot = (started_at.div_euclid(60_000) - first_minute).clamp(0, minutes as i64) as usize;
                failures[slot] += 1;
            }
        }
    }
    let mut backlog_series = vec![0u64; minutes + 1];
    for (listener, status, created_at, completed_at) in &open {
        let entry = listeners.entry(listener.clone()).or_insert_with(|| (ListenerStats { listener: listener.clone(), ..Default::default() }, Vec::new()));
        match status.as_str() {
            "pending" | "running" => entry.0.pending += 1,
            "dead" => entry.0.dead += 1,
            _ => {}
        }
        for (slot, count) in backlog_series.iter_mut().enumerate() {
            let end_of_minute = (first_minute + slot as i64 + 1) * 60_000;
            if *created_at < end_of_minute && completed_at.is_none_or(|c| c >= end_of_minute) {
                *count += 1;
            }
        }
    }
    let listeners = listeners
        .into_values()
        .map(|(mut s, mut durations)| {
            durations.sort_unstable();
            s.p50_ms = percentile(&durations, 0.50);
            s.p95_ms = percentile(&durations, 0.95);
            s.p99_ms = percentile(&durations, 0.99);
            s
        })
        .collect();

    let series = (0..=minutes)
        .map(|slot| MinutePoint {
            minute: from_ms((first_minute + slot as i64) * 60_000),
            events: per_minute[slot].iter().map(|(t, c)| TypeCount { event_type: t.clone(), count: *c }).collect(),
            failures: failures[slot],
            backlog: backlog_series[slot],
        })
        .collect();
    // Backlog from the same snapshot as the per-listener counts; dead letters may predate the window.
    let unfinished: Vec<i64> = open.iter().filter(|(_, status, _, _)| status == "pending" || status == "running").map(|(_, _, created, _)| *created).collect();
    let health = health(db, scope, now).await?;
    Ok(BusStatsOut {
        scope: scope.name().into(),
        window_minutes,
        emitted: emitted.into_iter().map(|(t, c)| TypeCount { event_type: t, count: c }).collect(),
        listeners,
        backlog: unfinished.len() as u64,
        oldest_pending_age_seconds: unfinished.iter().min().map(|t| ((now - t) / 1000).max(0)),
        dead: health.dead,
        series,
        rules: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
