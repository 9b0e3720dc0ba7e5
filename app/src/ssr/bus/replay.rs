//! Replay: re-deliver past events that match a filter, as a job with progress.
//!
//! The job walks matching events in `(occurred_at, id)` order, in batches; each batch inserts the
//! deliveries (origin = the job id) and advances the job's cursor in one transaction. A job that
//! stops halfway — a crash, a restart — resumes from its cursor, and the unique
//! `(event, listener, origin)` key means a batch done twice enqueues nothing twice.
//!
//! Replay never repeats financial effects: money moves only in the services that call Stripe
//! (under idempotency keys) and the ledger is written by webhook ingest, never by listeners. A
//! replay re-runs listeners — notifications, outbound webhooks, projections — each with a new
//! delivery id and `Delivery::replay` set, so a listener can tell a replay from a first delivery.

use sqlx::FromRow;

use super::{
    store::{self, EventRow, NewDelivery, EVENT_COLUMNS},
    Bus, EventContext,
};
use crate::{
    domain::{
        events::{payloads::ReplayCompleted, views::*, DomainEvent, EventPattern, EventType},
        DeliveryId, PrefixedId, ReplayJobId, TenantId,
    },
    error::{AppError, AppResult},
    ssr::{
        db::page::{bind_all, Bind, Listing},
        db::PageParams,
        ids::new_id,
        time_util::{from_ms, to_ms},
    },
};

const BATCH: i64 = 500;

/// A replay request, checked: patterns parsed, the listener known, the range sane.
#[derive(Debug, Clone)]
pub struct ReplayRequest {
    pub filter: ReplayFilter,
    pub types: Vec<EventType>,
}

impl ReplayRequest {
    pub fn parse(bus: &Bus, filter: ReplayFilter) -> AppResult<Self> {
        if filter.types.is_empty() {
            return Err(AppError::invalid("parameter_missing", "types needs at least one event type or pattern (use * for all)", Some("types")));
        }
        let mut types: Vec<EventType> = Vec::new();
        for raw in &filter.types {
            let pattern = EventPattern::parse(raw).map_err(|e| AppError::invalid("event_type_invalid", e.to_string(), Some("types")))?;
            for t in pattern.expand() {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from >= to {
                return Err(AppError::invalid("parameter_invalid", "from must be before to", Some("from")));
            }
        }
        if let Some(listener) = &filter.listener {
            if bus.registry().find(listener).is_none() {
                return Err(AppError::invalid("listener_unknown", format!("No listener named `{listener}`."), Some("listener")));
            }
        }
        types.sort();
        Ok(Self { filter, types })
    }

    fn where_clause(&self, tenant: Option<&str>) -> (String, Vec<Bind>) {
        let mut clauses = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let mark = |binds: &mut Vec<Bind>, v: Bind| {
            binds.push(v);
            format!("${}", binds.len())
        };
        if let Some(t) = tenant {
            let m = mark(&mut binds, t.into());
            clauses.push(format!("tenant_id = {m}"));
        }
        let marks: Vec<String> = self.types.iter().map(|t| mark(&mut binds, t.name().into())).collect();
        clauses.push(format!("type IN ({})", marks.join(", ")));
        if let Some(actor) = &self.filter.actor {
            let m = mark(&mut binds, actor.as_str().into());
            clauses.push(format!("actor = {m}"));
        }
        if let Some(from) = self.filter.from {
            let m = mark(&mut binds, to_ms(from).into());
            clauses.push(format!("occurred_at >= {m}"));
        }
        if let Some(to) = self.filter.to {
            let m = mark(&mut binds, to_ms(to).into());
            clauses.push(format!("occurred_at < {m}"));
        }
        (clauses.join(" AND "), binds)
    }
}

#[derive(Debug, Clone, FromRow)]
struct JobRow {
    id: String,
    tenant_id: Option<String>,
    filter: String,
    listener: Option<String>,
    status: String,
    matched: i64,
    enqueued: i64,
    total: Option<i64>,
    cursor_time: Option<i64>,
    cursor_id: Option<String>,
    error: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

const JOB_COLUMNS: &str = "id, tenant_id, filter, listener, status, matched, enqueued, total, cursor_time, cursor_id, error, created_at, finished_at";

fn job_out(row: JobRow) -> ReplayOut {
    let filter: ReplayFilter = serde_json::from_str(&row.filter).unwrap_or_default();
    let progress = match (row.status.as_str(), row.total) {
        ("completed", _) => 1.0,
        (_, Some(total)) if total > 0 => (row.matched as f64 / total as f64).min(1.0),
        _ => 0.0,
    };
    let _ = &row.listener;
    ReplayOut {
        id: row.id,
        tenant_id: row.tenant_id,
        status: row.status,
        filter,
        matched: row.matched.max(0) as u64,
        enqueued: row.enqueued.max(0) as u64,
        total: row.total.map(|t| t.max(0) as u64),
        progress,
        error: row.error,
        created_at: from_ms(row.created_at),
        finished_at: row.finished_at.map(from_ms),
    }
}

/// How many stored events (live and archived) `request` covers: what a replay of it would
/// re-deliver, told before it starts.
pub async fn count(bus: &Bus, tenant: Option<&TenantId>, request: &ReplayRequest) -> AppResult<i64> {
    let tenant_s = tenant.map(|t| t.to_string());
    let (where_sql, binds) = request.where_clause(tenant_s.as_deref());
    let count_sql = format!(
        "SELECT (SELECT COUNT(*) FROM events WHERE {where_sql}) + (SELECT COUNT(*) FROM events_archive WHERE {where_sql})"
    );
    Ok(bind_all(sqlx::query_as::<_, (i64,)>(&count_sql), &binds).fetch_one(&bus.db().pool).await?.0)
}

/// Records a queued job; [`run`] does the work.
pub async fn create(bus: &Bus, tenant: Option<&TenantId>, request: &ReplayRequest, created_by: Option<&str>) -> AppResult<ReplayOut> {
    let id = new_id::<ReplayJobId>();
    let now = bus.now_ms();
    let tenant_s = tenant.map(|t| t.to_string());
    let total = count(bus, tenant, request).await?;
    let filter = serde_json::to_string(&request.filter).map_err(|_| AppError::Internal)?;
    sqlx::query(
        "INSERT INTO replay_jobs (id, tenant_id, filter, listener, status, matched, enqueued, total, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', 0, 0, $5, $6, $7, $7)",
    )
    .bind(id.as_str())
    .bind(tenant_s.as_deref())
    .bind(&filter)
    .bind(request.filter.listener.as_deref())
    .bind(total)
    .bind(created_by)
    .bind(now)
    .execute(&bus.db().pool)
    .await?;
    get(bus, tenant, id.as_str()).await
}

pub async fn get(bus: &Bus, tenant: Option<&TenantId>, id: &str) -> AppResult<ReplayOut> {
    let row: Option<JobRow> = match tenant {
        Some(t) => sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM replay_jobs WHERE id = $1 AND tenant_id = $2"))
            .bind(id)
            .bind(t.as_str())
            .fetch_optional(&bus.db().pool)
            .await?,
        None => sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM replay_jobs WHERE id = $1")).bind(id).fetch_optional(&bus.db().pool).await?,
    };
    row.map(job_out).ok_or_else(|| AppError::not_found("replay"))
}

pub async fn list(bus: &Bus, tenant: Option<&TenantId>, page: &PageParams) -> AppResult<crate::domain::dto::List<ReplayOut>> {
    let (from_where, binds) = match tenant {
        Some(t) => ("FROM replay_jobs WHERE tenant_id = $1", vec![Bind::from(t.as_str())]),
        None => ("FROM replay_jobs WHERE 1 = 1", vec![]),
    };
    let listing = Listing { columns: JOB_COLUMNS, from_where, time_column: "created_at", key_column: "id", binds };
    let (rows, has_more): (Vec<JobRow>, bool) = listing.fetch(bus.db(), page).await?;
    Ok(crate::domain::dto::List::new(rows.into_iter().map(job_out).collect(), has_more))
}

/// Runs a job to its end (or resumes one), batch by batch. `on_progress` hears after each batch.
pub async fn run(bus: &Bus, id: &str, mut on_progress: impl FnMut(&ReplayOut)) -> AppResult<ReplayOut> {
    let now = bus.now_ms();
    // Take the job: queued, or running but abandoned (no progress for a minute).
    let taken = sqlx::query(
        "UPDATE replay_jobs SET status = 'running', updated_at = $2
         WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND updated_at < $3))",
    )
    .bind(id)
    .bind(now)
    .bind(now - 60_000)
    .execute(&bus.db().pool)
    .await?;
    let job: JobRow = sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM replay_jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(&bus.db().pool)
        .await?
        .ok_or_else(|| AppError::not_found("replay"))?;
    if taken.rows_affected() == 0 {
        return Ok(job_out(job));
    }
    match run_batches(bus, &job, &mut on_progress).await {
        Ok(out) => Ok(out),
        Err(e) => {
            let message = e.to_string();
            sqlx::query("UPDATE replay_jobs SET status = 'failed', error = $2, updated_at = $3, finished_at = $3 WHERE id = $1")
                .bind(id)
                .bind(&message)
                .bind(bus.now_ms())
                .execute(&bus.db().pool)
                .await?;
            Err(e)
        }
    }
}

async fn run_batches(bus: &Bus, job: &JobRow, on_progress: &mut impl FnMut(&ReplayOut)) -> AppResult<ReplayOut> {
    let filter: ReplayFilter = serde_json::from_str(&job.filter).map_err(|_| AppError::Internal)?;
    let request = ReplayRequest::parse(bus, filter)?;
    let (where_sql, binds) = request.where_clause(job.tenant_id.as_deref());
    let (mut cursor_time, mut cursor_id) = (job.cursor_time, job.cursor_id.clone());
    let (mut matched_total, mut enqueued_total) = (job.matched.max(0) as u64, job.enqueued.max(0) as u64);
    loop {
        let n = binds.len();
        let after = if cursor_time.is_some() {
            format!(" AND (occurred_at > ${a} OR (occurred_at = ${a} AND id > ${b}))", a = n + 1, b = n + 2)
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM (
                 SELECT {EVENT_COLUMNS} FROM events WHERE {where_sql}
                 UNION ALL SELECT {EVENT_COLUMNS} FROM events_archive WHERE {where_sql}
             ) matching WHERE 1 = 1{after} ORDER BY occurred_at, id LIMIT {BATCH}"
        );
        let mut q = bind_all(sqlx::query_as::<_, EventRow>(&sql), &binds);
        if let (Some(t), Some(i)) = (cursor_time, cursor_id.as_deref()) {
            q = q.bind(t).bind(i);
        }
        let events = q.fetch_all(&bus.db().pool).await?;
        let now = bus.now_ms();
        let mut tx = bus.db().begin().await?;
        let mut enqueued = 0u64;
        for event in &events {
            let Some(event_type) = EventType::parse(&event.event_type) else { continue };
            let deliveries: Vec<NewDelivery> = bus
                .registry()
                .route(event_type)
                .filter(|l| job.listener.as_deref().is_none_or(|only| only == l.name()))
                .map(|l| NewDelivery { id: new_id::<DeliveryId>().to_string(), listener: l.name() })
                .collect();
            enqueued += store::insert_deliveries(
                &mut *tx,
                &event.id,
                event.tenant_id.as_deref(),
                &event.event_type,
                &job.id,
                &deliveries,
                i64::from(bus.config().max_attempts),
                now,
            )
            .await?;
        }
        let last = events.last();
        cursor_time = last.map(|e| e.occurred_at).or(cursor_time);
        cursor_id = last.map(|e| e.id.clone()).or(cursor_id);
        let done = (events.len() as i64) < BATCH;
        sqlx::query(
            "UPDATE replay_jobs SET matched = matched + $2, enqueued = enqueued + $3, cursor_time = $4, cursor_id = $5, updated_at = $6,
                 status = CASE WHEN $7 = 1 THEN 'completed' ELSE status END,
                 finished_at = CASE WHEN $7 = 1 THEN $6 ELSE finished_at END
             WHERE id = $1",
        )
        .bind(&job.id)
        .bind(events.len() as i64)
        .bind(enqueued as i64)
        .bind(cursor_time)
        .bind(cursor_id.as_deref())
        .bind(now)
        .bind(if done { 1_i64 } else { 0 })
        .execute(&mut *tx)
        .await?;
        let tenant = job.tenant_id.as_deref().map(TenantId::parse).transpose().map_err(|_| AppError::Internal)?;
        matched_total += events.len() as u64;
        enqueued_total += enqueued;
        if done {
            bus.publish(
                &mut tx,
                &EventContext::system(tenant.clone()),
                DomainEvent::BusReplayCompleted(ReplayCompleted { replay_id: job.id.clone(), matched: matched_total, enqueued: enqueued_total }),
            )
            .await?;
        }
        bus.commit(tx).await?;
        let progress = get(bus, None, &job.id).await?;
        on_progress(&progress);
        if done {
            return Ok(progress);
        }
    }
}

/// Picks up jobs left queued or abandoned (after a restart) and runs them.
pub async fn resume_pending(bus: &Bus) -> AppResult<usize> {
    let stale = bus.now_ms() - 60_000;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM replay_jobs WHERE status = 'queued' OR (status = 'running' AND updated_at < $1) ORDER BY created_at")
        .bind(stale)
        .fetch_all(&bus.db().pool)
        .await?;
    let n = ids.len();
    for id in ids {
        if let Err(e) = run(bus, &id, |_| {}).await {
            tracing::error!(replay = %id, error = %e, "replay failed");
        }
    }
    Ok(n)
}
