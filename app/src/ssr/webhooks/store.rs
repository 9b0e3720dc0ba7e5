//! The webhook tables: `webhook_endpoints`, `webhook_messages`, `webhook_attempts`. Portable SQL
//! through the `Any` driver; the claim query that differs lives in `db::dialect`.

use sqlx::{Any, Executor, FromRow};

use crate::ssr::db::{page::Listing, Db};

pub const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, description, events, payload_style, ordered, rate_limit_per_sec, status, disabled_reason, \
     secret, previous_secret, previous_secret_expires_at, consecutive_failures, failing_since, circuit_open_until, throttled_until, created_at, updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: String,
    /// JSON array of patterns.
    pub events: String,
    pub payload_style: String,
    pub ordered: i64,
    pub rate_limit_per_sec: i64,
    pub status: String,
    pub disabled_reason: Option<String>,
    /// Sealed.
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub consecutive_failures: i64,
    pub failing_since: Option<i64>,
    pub circuit_open_until: Option<i64>,
    pub throttled_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl EndpointRow {
    pub fn patterns(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_DISABLED: &str = "disabled";

pub async fn insert_endpoint<'e>(ex: impl Executor<'e, Database = Any>, e: &EndpointRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, description, events, payload_style, ordered, rate_limit_per_sec, status, secret,
             consecutive_failures, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $11)",
    )
    .bind(&e.id)
    .bind(&e.tenant_id)
    .bind(&e.url)
    .bind(&e.description)
    .bind(&e.events)
    .bind(&e.payload_style)
    .bind(e.ordered)
    .bind(e.rate_limit_per_sec)
    .bind(&e.status)
    .bind(&e.secret)
    .bind(e.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Writes every column that can change after creation.
pub async fn save_endpoint<'e>(ex: impl Executor<'e, Database = Any>, e: &EndpointRow) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhook_endpoints SET url = $2, description = $3, events = $4, payload_style = $5, ordered = $6, rate_limit_per_sec = $7,
             status = $8, disabled_reason = $9, secret = $10, previous_secret = $11, previous_secret_expires_at = $12,
             consecutive_failures = $13, failing_since = $14, circuit_open_until = $15, throttled_until = $16, updated_at = $17
         WHERE id = $1",
    )
    .bind(&e.id)
    .bind(&e.url)
    .bind(&e.description)
    .bind(&e.events)
    .bind(&e.payload_style)
    .bind(e.ordered)
    .bind(e.rate_limit_per_sec)
    .bind(&e.status)
    .bind(&e.disabled_reason)
    .bind(&e.secret)
    .bind(&e.previous_secret)
    .bind(e.previous_secret_expires_at)
    .bind(e.consecutive_failures)
    .bind(e.failing_since)
    .bind(e.circuit_open_until)
    .bind(e.throttled_until)
    .bind(e.updated_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// A tenant's endpoint (not deleted).
pub async fn find_endpoint<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, id: &str) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query_as(&format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// An endpoint by id alone, locked for the rest of the transaction on Postgres (`lock` is the
/// dialect's `FOR UPDATE` or nothing).
pub async fn endpoint_for_update<'e>(ex: impl Executor<'e, Database = Any>, id: &str, lock: &str) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query_as(&format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL{lock}"))
        .bind(id)
        .fetch_optional(ex)
        .await
}

pub async fn active_endpoints<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str) -> sqlx::Result<Vec<EndpointRow>> {
    sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND status = 'active' AND deleted_at IS NULL"
    ))
    .bind(tenant_id)
    .fetch_all(ex)
    .await
}

pub fn endpoints_listing(tenant_id: &str) -> Listing<'static> {
    Listing {
        columns: ENDPOINT_COLUMNS,
        from_where: "FROM webhook_endpoints WHERE tenant_id = $1 AND deleted_at IS NULL",
        time_column: "created_at",
        key_column: "id",
        binds: vec![tenant_id.into()],
    }
}

pub async fn mark_deleted<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE webhook_endpoints SET deleted_at = $2, status = 'disabled', disabled_reason = 'deleted', updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Stops an endpoint's queued messages (it was disabled or deleted); returns how many.
pub async fn disable_pending<'e>(ex: impl Executor<'e, Database = Any>, endpoint_id: &str, reason: &str, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE webhook_messages SET status = 'disabled', last_error = $2, next_attempt_at = NULL, lease_until = NULL, leased_by = NULL,
             updated_at = $3, completed_at = $3
         WHERE endpoint_id = $1 AND status IN ('pending', 'delivering')",
    )
    .bind(endpoint_id)
    .bind(reason)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

pub const MESSAGE_COLUMNS: &str = "id, tenant_id, endpoint_id, event_id, event_type, payload_style, body, note, origin, object_id, sequence, previous_id, \
     status, attempts, next_trigger, next_attempt_at, last_status_code, last_error, created_at";

#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: String,
    pub tenant_id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub payload_style: String,
    pub body: String,
    pub note: Option<String>,
    pub origin: String,
    pub object_id: Option<String>,
    pub sequence: Option<i64>,
    pub previous_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub next_trigger: String,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

pub async fn insert_message<'e>(ex: impl Executor<'e, Database = Any>, m: &MessageRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_messages (id, tenant_id, endpoint_id, event_id, event_type, payload_style, body, note, origin, object_id, sequence,
             previous_id, status, attempts, next_trigger, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $15, $16, $16)",
    )
    .bind(&m.id)
    .bind(&m.tenant_id)
    .bind(&m.endpoint_id)
    .bind(&m.event_id)
    .bind(&m.event_type)
    .bind(&m.payload_style)
    .bind(&m.body)
    .bind(&m.note)
    .bind(&m.origin)
    .bind(&m.object_id)
    .bind(m.sequence)
    .bind(&m.previous_id)
    .bind(&m.status)
    .bind(&m.next_trigger)
    .bind(m.next_attempt_at)
    .bind(m.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The newest message of an ordered stream (endpoint, object): its id and sequence number.
pub async fn last_in_sequence<'e>(ex: impl Executor<'e, Database = Any>, endpoint_id: &str, object_id: &str) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as(
        "SELECT id, sequence FROM webhook_messages WHERE endpoint_id = $1 AND object_id = $2 AND sequence IS NOT NULL
         ORDER BY sequence DESC LIMIT 1",
    )
    .bind(endpoint_id)
    .bind(object_id)
    .fetch_optional(ex)
    .await
}

pub async fn find_message<'e>(ex: impl Executor<'e, Database = Any>, tenant_id: &str, endpoint_id: &str, id: &str) -> sqlx::Result<Option<MessageRow>> {
    sqlx::query_as(&format!("SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3"))
        .bind(tenant_id)
        .bind(endpoint_id)
        .bind(id)
        .fetch_optional(ex)
        .await
}

pub fn messages_listing(tenant_id: &str, endpoint_id: &str) -> Listing<'static> {
    Listing {
        columns: MESSAGE_COLUMNS,
        from_where: "FROM webhook_messages WHERE tenant_id = $1 AND endpoint_id = $2",
        time_column: "created_at",
        key_column: "id",
        binds: vec![tenant_id.into(), endpoint_id.into()],
    }
}

/// Queues a message again now (a manual resend); the next attempt is recorded as `trigger`.
pub async fn requeue<'e>(ex: impl Executor<'e, Database = Any>, id: &str, trigger: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhook_messages SET status = 'pending', next_trigger = $2, next_attempt_at = $3, completed_at = NULL, updated_at = $3
         WHERE id = $1 AND status <> 'delivering'",
    )
    .bind(id)
    .bind(trigger)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub const ATTEMPT_COLUMNS: &str =
    "id, message_id, endpoint_id, tenant_id, attempt, trigger_kind, status, status_code, latency_ms, response_excerpt, error, created_at";

#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub id: String,
    pub message_id: String,
    pub endpoint_id: String,
    pub tenant_id: String,
    pub attempt: i64,
    pub trigger_kind: String,
    pub status: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
}

pub async fn insert_attempt<'e>(ex: impl Executor<'e, Database = Any>, a: &AttemptRow) -> sqlx::Result<()> {
    sqlx::query(&format!("INSERT INTO webhook_attempts ({ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"))
        .bind(&a.id)
        .bind(&a.message_id)
        .bind(&a.endpoint_id)
        .bind(&a.tenant_id)
        .bind(a.attempt)
        .bind(&a.trigger_kind)
        .bind(&a.status)
        .bind(a.status_code)
        .bind(a.latency_ms)
        .bind(&a.response_excerpt)
        .bind(&a.error)
        .bind(a.created_at)
        .execute(ex)
        .await?;
    Ok(())
}

/// An endpoint's attempts, optionally of one message.
pub fn attempts_listing(tenant_id: &str, endpoint_id: &str, message_id: Option<&str>) -> Listing<'static> {
    let mut binds = vec![tenant_id.into(), endpoint_id.into()];
    let from_where = match message_id {
        Some(m) => {
            binds.push(m.into());
            "FROM webhook_attempts WHERE tenant_id = $1 AND endpoint_id = $2 AND message_id = $3"
        }
        None => "FROM webhook_attempts WHERE tenant_id = $1 AND endpoint_id = $2",
    };
    Listing { columns: ATTEMPT_COLUMNS, from_where, time_column: "created_at", key_column: "id", binds }
}

/// A message the sender holds under a lease.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: String,
    pub tenant_id: String,
    pub endpoint_id: String,
    pub body: String,
    pub sequence: Option<i64>,
    pub previous_id: Option<String>,
    pub attempts: i64,
    pub next_trigger: String,
}

/// An endpoint with messages due now, and what the sender needs to serve it.
#[derive(Debug, Clone, FromRow)]
pub struct DueEndpoint {
    pub id: String,
    pub rate_limit_per_sec: i64,
    pub consecutive_failures: i64,
    pub circuit_open_until: Option<i64>,
}

/// Active endpoints, not paused (open circuit, slow-down), with a message due at `now` (or a
/// lease that expired), most overdue first.
pub async fn due_endpoints(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<DueEndpoint>> {
    sqlx::query_as(
        "SELECT e.id, e.rate_limit_per_sec, e.consecutive_failures, e.circuit_open_until FROM webhook_endpoints e
         WHERE e.status = 'active' AND e.deleted_at IS NULL
           AND (e.circuit_open_until IS NULL OR e.circuit_open_until <= $1)
           AND (e.throttled_until IS NULL OR e.throttled_until <= $1)
           AND e.id IN (SELECT m.endpoint_id FROM webhook_messages m
                        WHERE (m.status = 'pending' AND m.next_attempt_at <= $1) OR (m.status = 'delivering' AND m.lease_until < $1))
         ORDER BY e.updated_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Claims up to `limit` due messages of one endpoint (see `Dialect::claim_webhook_messages_sql`).
pub async fn claim(db: &Db, worker: &str, endpoint_id: &str, now: i64, lease_until: i64, limit: i64) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query_as(db.dialect.claim_webhook_messages_sql())
        .bind(worker)
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .bind(endpoint_id)
        .fetch_all(&db.pool)
        .await
}

/// When the sender next has something to do: the earliest pending message of an active endpoint.
pub async fn next_due_at(db: &Db) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MIN(m.next_attempt_at) FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id
         WHERE m.status = 'pending' AND e.status = 'active'",
    )
    .fetch_one(&db.pool)
    .await
}

/// Moves a leased message on, only while this worker still holds it. Returns whether it did.
#[allow(clippy::too_many_arguments)]
pub async fn finish_message<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    worker: &str,
    attempts: i64,
    status: &str,
    next_attempt_at: Option<i64>,
    status_code: Option<i64>,
    error: Option<&str>,
    now: i64,
) -> sqlx::Result<bool> {
    let completed = (status != "pending").then_some(now);
    let done = sqlx::query(
        "UPDATE webhook_messages SET status = $4, next_attempt_at = $5, last_status_code = $6, last_error = $7, completed_at = $8,
             next_trigger = 'scheduled', lease_until = NULL, leased_by = NULL, updated_at = $9
         WHERE id = $1 AND leased_by = $2 AND status = 'delivering' AND attempts = $3",
    )
    .bind(id)
    .bind(worker)
    .bind(attempts)
    .bind(status)
    .bind(next_attempt_at)
    .bind(status_code)
    .bind(error)
    .bind(completed)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
