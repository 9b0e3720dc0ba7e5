//! The bus's tables: `events`, `event_deliveries`, `delivery_attempts`. Portable SQL through the
//! `Any` driver; the one claim query that differs lives in `db::dialect`.

use sqlx::{Any, Executor, FromRow};

use crate::ssr::db::{dialect::OUTBOX_CHANNEL, Db, Dialect, Tx};

/// The `origin` of a delivery made when the event was published (replays use their job id).
pub const ORIGIN_PUBLISH: &str = "publish";

pub const EVENT_COLUMNS: &str = "id, tenant_id, type, version, occurred_at, actor, actor_type, payload, metadata";

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: String,
    pub tenant_id: Option<String>,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub version: i64,
    pub occurred_at: i64,
    pub actor: Option<String>,
    pub actor_type: String,
    pub payload: String,
    pub metadata: String,
}

pub async fn insert_event(tx: &mut Tx, e: &EventRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO events (id, tenant_id, type, version, occurred_at, actor, actor_type, payload, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&e.id)
    .bind(&e.tenant_id)
    .bind(&e.event_type)
    .bind(e.version)
    .bind(e.occurred_at)
    .bind(&e.actor)
    .bind(&e.actor_type)
    .bind(&e.payload)
    .bind(&e.metadata)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes an event and its first deliveries. On Postgres that is ONE statement (a data-modifying
/// CTE that also queues the NOTIFY), so publishing costs the same round trips as any single-row
/// insert; SQLite has no data-modifying CTEs, and its round trips are in-process anyway.
pub async fn insert_published(tx: &mut Tx, dialect: Dialect, e: &EventRow, deliveries: &[NewDelivery<'_>], max_attempts: i64) -> sqlx::Result<()> {
    if dialect == Dialect::Sqlite {
        insert_event(tx, e).await?;
        insert_deliveries(&mut **tx, &e.id, e.tenant_id.as_deref(), &e.event_type, ORIGIN_PUBLISH, deliveries, max_attempts, e.occurred_at).await?;
        return Ok(());
    }
    // $1..$9 the event; $10 origin, $11 max attempts; then (id, listener) per delivery.
    let mut sql = String::from(
        "WITH event AS (INSERT INTO events (id, tenant_id, type, version, occurred_at, actor, actor_type, payload, metadata)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))",
    );
    if !deliveries.is_empty() {
        sql.push_str(
            ", deliveries AS (INSERT INTO event_deliveries (id, event_id, listener, origin, tenant_id, event_type, status, attempts, max_attempts, next_attempt_at, created_at, updated_at) VALUES ",
        );
        for i in 0..deliveries.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, $1, ${}, $10, $2, $3, 'pending', 0, $11, $5, $5, $5)", 12 + 2 * i, 13 + 2 * i));
        }
        sql.push(')');
    }
    sql.push_str(&format!(" SELECT pg_notify('{OUTBOX_CHANNEL}', '')"));
    let mut q = sqlx::query(&sql)
        .bind(&e.id)
        .bind(&e.tenant_id)
        .bind(&e.event_type)
        .bind(e.version)
        .bind(e.occurred_at)
        .bind(&e.actor)
        .bind(&e.actor_type)
        .bind(&e.payload)
        .bind(&e.metadata)
        .bind(ORIGIN_PUBLISH)
        .bind(max_attempts);
    for d in deliveries {
        q = q.bind(d.id.as_str()).bind(d.listener);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

pub struct NewDelivery<'a> {
    pub id: String,
    pub listener: &'a str,
}

/// Inserts one pending delivery per listener for `event`, in one statement. With `origin` a
/// replay job id, rows that already exist for that job are left alone (a resumed replay); returns
/// how many were inserted.
#[allow(clippy::too_many_arguments)]
pub async fn insert_deliveries<'e>(
    ex: impl Executor<'e, Database = Any>,
    event_id: &str,
    tenant_id: Option<&str>,
    event_type: &str,
    origin: &str,
    deliveries: &[NewDelivery<'_>],
    max_attempts: i64,
    now: i64,
) -> sqlx::Result<u64> {
    if deliveries.is_empty() {
        return Ok(0);
    }
    let mut sql = String::from(
        "INSERT INTO event_deliveries (id, event_id, listener, origin, tenant_id, event_type, status, attempts, max_attempts, next_attempt_at, created_at, updated_at) VALUES ",
    );
    // Shared values are bound once; each row adds its id and listener.
    for (i, _) in deliveries.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let (id, listener) = (7 + 2 * i, 8 + 2 * i);
        sql.push_str(&format!("(${id}, $1, ${listener}, $2, $3, $4, 'pending', 0, $5, $6, $6, $6)"));
    }
    sql.push_str(" ON CONFLICT (event_id, listener, origin) DO NOTHING");
    let mut q = sqlx::query(&sql).bind(event_id).bind(origin).bind(tenant_id).bind(event_type).bind(max_attempts).bind(now);
    for d in deliveries {
        q = q.bind(d.id.as_str()).bind(d.listener);
    }
    Ok(q.execute(ex).await?.rows_affected())
}

#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    pub listener: String,
    pub origin: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

pub async fn claim_due(db: &Db, worker: &str, now: i64, lease_until: i64, limit: i64) -> sqlx::Result<Vec<Claimed>> {
    // One statement, atomic on its own in both dialects.
    sqlx::query_as::<_, Claimed>(db.dialect.claim_deliveries_sql())
        .bind(worker)
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&db.pool)
        .await
}

/// Events by id, from the hot table or the archive (a replay may reach archived events).
pub async fn events_by_ids(db: &Db, ids: &[&str]) -> sqlx::Result<Vec<EventRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let list = placeholders.join(", ");
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id IN ({list})
         UNION ALL SELECT {EVENT_COLUMNS} FROM events_archive WHERE id IN ({list})"
    );
    let mut q = sqlx::query_as::<_, EventRow>(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    q.fetch_all(&db.pool).await
}

/// The outcome of one attempt, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Skipped,
    Failed,
    TimedOut,
    Panicked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed_out",
            Outcome::Panicked => "panicked",
        }
    }
}

/// Where the delivery goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextState {
    Succeeded,
    Skipped,
    RetryAt(i64),
    Dead,
}

pub struct Finished<'a> {
    pub delivery_id: &'a str,
    pub worker: &'a str,
    pub attempt: i64,
    pub listener: &'a str,
    pub tenant_id: Option<&'a str>,
    pub event_type: &'a str,
    pub started_at: i64,
    pub duration_ms: i64,
    pub outcome: Outcome,
    pub error: Option<&'a str>,
    pub next: NextState,
    pub now: i64,
}

/// Records an attempt and moves its delivery on — only if this worker still holds the lease
/// (when it expired and another worker took over, that worker's outcome wins). Returns whether
/// the delivery row changed.
pub async fn finish(tx: &mut Tx, f: &Finished<'_>) -> sqlx::Result<bool> {
    sqlx::query(
        "INSERT INTO delivery_attempts (delivery_id, attempt, listener, tenant_id, event_type, worker, started_at, duration_ms, outcome, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (delivery_id, attempt) DO NOTHING",
    )
    .bind(f.delivery_id)
    .bind(f.attempt)
    .bind(f.listener)
    .bind(f.tenant_id)
    .bind(f.event_type)
    .bind(f.worker)
    .bind(f.started_at)
    .bind(f.duration_ms)
    .bind(f.outcome.as_str())
    .bind(f.error)
    .execute(&mut **tx)
    .await?;
    let (status, next_at, completed_at) = match f.next {
        NextState::Succeeded => ("succeeded", None, Some(f.now)),
        NextState::Skipped => ("skipped", None, Some(f.now)),
        NextState::RetryAt(at) => ("pending", Some(at), None),
        NextState::Dead => ("dead", None, Some(f.now)),
    };
    let done = sqlx::query(
        "UPDATE event_deliveries
         SET status = $3, next_attempt_at = COALESCE($4, next_attempt_at), completed_at = $5, last_error = $6,
             duration_ms = $7, lease_until = NULL, leased_by = NULL, updated_at = $8
         WHERE id = $1 AND leased_by = $2 AND status = 'running' AND attempts = $9",
    )
    .bind(f.delivery_id)
    .bind(f.worker)
    .bind(status)
    .bind(next_at)
    .bind(completed_at)
    .bind(f.error)
    .bind(f.duration_ms)
    .bind(f.now)
    .bind(f.attempt)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When the next pending delivery falls due, or an expired lease could be taken over.
pub async fn next_due_at(db: &Db) -> sqlx::Result<Option<i64>> {
    let pending: Option<i64> = sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM event_deliveries WHERE status = 'pending'")
        .fetch_one(&db.pool)
        .await?;
    let leased: Option<i64> = sqlx::query_scalar("SELECT MIN(lease_until) FROM event_deliveries WHERE status = 'running'")
        .fetch_one(&db.pool)
        .await?;
    Ok(match (pending, leased) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Gives back the leases of a worker that is stopping, so another process need not wait for
/// them to expire. Only deliveries it claimed but never started are released.
pub async fn release(db: &Db, worker: &str, ids: &[String], now: i64) -> sqlx::Result<()> {
    for id in ids {
        sqlx::query(
            "UPDATE event_deliveries SET status = 'pending', attempts = attempts - 1, leased_by = NULL, lease_until = NULL, updated_at = $3
             WHERE id = $1 AND leased_by = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker)
        .bind(now)
        .execute(&db.pool)
        .await?;
    }
    Ok(())
}
