//! The rules' tables: `rules`, `rule_deliveries` (one row per rule and matched event),
//! `rule_stats_daily` and `rule_archive`. Portable SQL through the `Any` driver.

use sqlx::{Any, Executor, FromRow};

use crate::{
    domain::rules::{Pattern, PatternSpec, Target},
    domain::webhooks::PayloadStyle,
    ssr::db::page::{Bind, Listing},
};

pub const RULE_COLUMNS: &str = "id, tenant_id, name, description, enabled, pattern, target_type, target_ref, payload_style, created_by, created_at, updated_at";

#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub enabled: i64,
    pub pattern: String,
    pub target_type: String,
    pub target_ref: Option<String>,
    pub payload_style: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored rule, parsed: what the listener evaluates.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    pub id: String,
    pub name: String,
    pub pattern: Pattern,
    pub target: Target,
    pub style: PayloadStyle,
}

impl RuleRow {
    pub fn spec(&self) -> Result<PatternSpec, String> {
        serde_json::from_str(&self.pattern).map_err(|e| e.to_string())
    }

    /// Parses what was validated when stored; an error means the catalog lost a type since.
    pub fn load(&self) -> Result<LoadedRule, String> {
        let pattern = Pattern::parse(&self.spec()?, "pattern").map_err(|e| e.to_string())?;
        let target = Target::from_stored(&self.target_type, self.target_ref.as_deref()).ok_or_else(|| format!("bad target {}", self.target_type))?;
        let style = PayloadStyle::parse(&self.payload_style).ok_or_else(|| format!("bad payload style {}", self.payload_style))?;
        Ok(LoadedRule { id: self.id.clone(), name: self.name.clone(), pattern, target, style })
    }
}

pub async fn insert<'e>(ex: impl Executor<'e, Database = Any>, r: &RuleRow) -> sqlx::Result<()> {
    sqlx::query(&format!("INSERT INTO rules ({RULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"))
        .bind(&r.id)
        .bind(&r.tenant_id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(r.enabled)
        .bind(&r.pattern)
        .bind(&r.target_type)
        .bind(&r.target_ref)
        .bind(&r.payload_style)
        .bind(&r.created_by)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn update<'e>(ex: impl Executor<'e, Database = Any>, r: &RuleRow) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE rules SET name = $3, description = $4, enabled = $5, pattern = $6, target_type = $7, target_ref = $8, payload_style = $9, updated_at = $10
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(&r.tenant_id)
    .bind(&r.id)
    .bind(&r.name)
    .bind(&r.description)
    .bind(r.enabled)
    .bind(&r.pattern)
    .bind(&r.target_type)
    .bind(&r.target_ref)
    .bind(&r.payload_style)
    .bind(r.updated_at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find<'e>(ex: impl Executor<'e, Database = Any>, tenant: &str, id: &str) -> sqlx::Result<Option<RuleRow>> {
    sqlx::query_as(&format!("SELECT {RULE_COLUMNS} FROM rules WHERE tenant_id = $1 AND id = $2")).bind(tenant).bind(id).fetch_optional(ex).await
}

/// Deletes a rule; its deliveries, counters and archive go with it (`ON DELETE CASCADE`, and
/// explicitly, for a SQLite connection opened without foreign keys).
pub async fn delete(tx: &mut crate::ssr::db::Tx, tenant: &str, id: &str) -> sqlx::Result<bool> {
    for table in ["rule_deliveries", "rule_stats_daily", "rule_archive"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE rule_id = $1 AND tenant_id = $2")).bind(id).bind(tenant).execute(&mut **tx).await?;
    }
    let done = sqlx::query("DELETE FROM rules WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

/// The tenant's enabled rules: one indexed query per event.
pub async fn enabled_for_tenant<'e>(ex: impl Executor<'e, Database = Any>, tenant: &str) -> sqlx::Result<Vec<RuleRow>> {
    sqlx::query_as(&format!("SELECT {RULE_COLUMNS} FROM rules WHERE tenant_id = $1 AND enabled = 1 ORDER BY created_at, id")).bind(tenant).fetch_all(ex).await
}

pub fn listing(tenant: &str) -> (String, Vec<Bind>) {
    ("FROM rules WHERE tenant_id = $1".to_owned(), vec![Bind::from(tenant)])
}

pub fn rules_listing<'a>(from_where: &'a str, binds: Vec<Bind>) -> Listing<'a> {
    Listing { columns: RULE_COLUMNS, from_where, time_column: "created_at", key_column: "id", binds }
}

/// `YYYY-MM-DD` (UTC) of a Unix-millisecond time.
pub fn day_of(ms: i64) -> String {
    let d = crate::ssr::time_util::from_ms(ms).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Adds to a rule's counters for the day of `now`.
pub async fn bump<'e>(ex: impl Executor<'e, Database = Any>, rule: &str, tenant: &str, now: i64, matched: i64, delivered: i64, failed: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO rule_stats_daily (rule_id, day, tenant_id, matched, delivered, failed) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (rule_id, day) DO UPDATE SET matched = rule_stats_daily.matched + excluded.matched,
             delivered = rule_stats_daily.delivered + excluded.delivered, failed = rule_stats_daily.failed + excluded.failed",
    )
    .bind(rule)
    .bind(day_of(now))
    .bind(tenant)
    .bind(matched)
    .bind(delivered)
    .bind(failed)
    .execute(ex)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct RuleDeliveryRow {
    pub status: String,
    pub attempts: i64,
}

/// Claims the (rule, event) match: `None` when this is the first time it matched (a row is
/// written and counted), else the earlier row's state.
pub async fn record_match(tx: &mut crate::ssr::db::Tx, rule: &str, tenant: &str, event_id: &str, event_type: &str, now: i64) -> sqlx::Result<Option<RuleDeliveryRow>> {
    let inserted = sqlx::query(
        "INSERT INTO rule_deliveries (rule_id, event_id, tenant_id, event_type, status, attempts, failures, matched_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', 0, 0, $5, $5) ON CONFLICT (rule_id, event_id) DO NOTHING",
    )
    .bind(rule)
    .bind(event_id)
    .bind(tenant)
    .bind(event_type)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 1 {
        bump(&mut **tx, rule, tenant, now, 1, 0, 0).await?;
        return Ok(None);
    }
    sqlx::query_as("SELECT status, attempts FROM rule_deliveries WHERE rule_id = $1 AND event_id = $2").bind(rule).bind(event_id).fetch_optional(&mut **tx).await
}

/// Takes the (rule, event) row for this transaction if its target has not acted yet (on
/// Postgres a concurrent redelivery waits here, then sees it done); `false` when it has.
pub async fn lock_open<'e>(ex: impl Executor<'e, Database = Any>, rule: &str, event_id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE rule_deliveries SET updated_at = $3 WHERE rule_id = $1 AND event_id = $2 AND status NOT IN ('delivered','skipped')",
    )
    .bind(rule)
    .bind(event_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records one attempt's outcome: `delivered`, `skipped` (with why) or `failed` (with the error).
/// `false` when the row had already reached delivered or skipped (a concurrent redelivery won).
pub async fn finish<'e>(ex: impl Executor<'e, Database = Any>, rule: &str, event_id: &str, status: &str, error: Option<&str>, now: i64) -> sqlx::Result<bool> {
    let failed = i64::from(status == "failed");
    let done = sqlx::query(
        "UPDATE rule_deliveries SET status = $3, attempts = attempts + 1, failures = failures + $4, last_error = $5, updated_at = $6
         WHERE rule_id = $1 AND event_id = $2 AND status NOT IN ('delivered','skipped')",
    )
    .bind(rule)
    .bind(event_id)
    .bind(status)
    .bind(failed)
    .bind(error)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[allow(clippy::too_many_arguments)]
pub async fn archive<'e>(
    ex: impl Executor<'e, Database = Any>,
    rule: &str,
    tenant: &str,
    event_id: &str,
    event_type: &str,
    style: PayloadStyle,
    body: &str,
    occurred_at: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO rule_archive (rule_id, event_id, tenant_id, event_type, payload_style, body, occurred_at, archived_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (rule_id, event_id) DO NOTHING",
    )
    .bind(rule)
    .bind(event_id)
    .bind(tenant)
    .bind(event_type)
    .bind(style.as_str())
    .bind(body)
    .bind(occurred_at)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct ArchiveRow {
    pub event_id: String,
    pub event_type: String,
    pub payload_style: String,
    pub body: String,
    pub occurred_at: i64,
    pub archived_at: i64,
}

pub const ARCHIVE_COLUMNS: &str = "event_id, event_type, payload_style, body, occurred_at, archived_at";

/// Sums of each listed rule's counters since `since_day` (inclusive).
pub async fn matched_since(db: &crate::ssr::db::Db, tenant: &str, rule_ids: &[String], since_day: &str) -> sqlx::Result<Vec<(String, i64)>> {
    if rule_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..rule_ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT rule_id, CAST(COALESCE(SUM(matched), 0) AS BIGINT) FROM rule_stats_daily WHERE tenant_id = $1 AND day >= $2 AND rule_id IN ({}) GROUP BY rule_id",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql).bind(tenant).bind(since_day);
    for id in rule_ids {
        q = q.bind(id);
    }
    q.fetch_all(&db.pool).await
}

#[derive(Debug, Clone, FromRow)]
pub struct DayRow {
    pub day: String,
    pub matched: i64,
    pub delivered: i64,
    pub failed: i64,
}

pub async fn days(db: &crate::ssr::db::Db, tenant: &str, rule: &str, since_day: &str) -> sqlx::Result<Vec<DayRow>> {
    sqlx::query_as("SELECT day, matched, delivered, failed FROM rule_stats_daily WHERE tenant_id = $1 AND rule_id = $2 AND day >= $3 ORDER BY day")
        .bind(tenant)
        .bind(rule)
        .bind(since_day)
        .fetch_all(&db.pool)
        .await
}

#[derive(Debug, Clone, FromRow)]
pub struct ErrorRow {
    pub event_id: String,
    pub event_type: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

pub async fn recent_errors(db: &crate::ssr::db::Db, tenant: &str, rule: &str, limit: i64) -> sqlx::Result<Vec<ErrorRow>> {
    sqlx::query_as(
        "SELECT event_id, event_type, attempts, last_error, updated_at FROM rule_deliveries
         WHERE tenant_id = $1 AND rule_id = $2 AND status IN ('failed','skipped') ORDER BY updated_at DESC LIMIT $3",
    )
    .bind(tenant)
    .bind(rule)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

pub async fn undelivered(db: &crate::ssr::db::Db, tenant: &str, rule: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM rule_deliveries WHERE tenant_id = $1 AND rule_id = $2 AND status IN ('pending','failed')")
        .bind(tenant)
        .bind(rule)
        .fetch_one(&db.pool)
        .await
}

#[derive(Debug, Clone, FromRow)]
pub struct WindowRow {
    pub rule_id: String,
    pub name: String,
    pub matched: i64,
    pub delivered: i64,
    pub failed: i64,
}

/// Per rule: matches since `since` (ms), how many of them were delivered, failed attempts. For
/// one tenant every rule is listed (idle ones with zeros); `tenant` None is every tenant's rules
/// that matched (the platform operator's view). Busiest first.
pub async fn window(db: &crate::ssr::db::Db, tenant: Option<&str>, since: i64, limit: i64) -> sqlx::Result<Vec<WindowRow>> {
    let counts = "CAST(COUNT(d.rule_id) AS BIGINT) AS matched,
                  CAST(COALESCE(SUM(CASE WHEN d.status = 'delivered' THEN 1 ELSE 0 END), 0) AS BIGINT) AS delivered,
                  CAST(COALESCE(SUM(d.failures), 0) AS BIGINT) AS failed";
    let sql = match tenant {
        Some(_) => format!(
            "SELECT r.id AS rule_id, r.name AS name, {counts}
             FROM rules r LEFT JOIN rule_deliveries d ON d.rule_id = r.id AND d.matched_at >= $1
             WHERE r.tenant_id = $3 GROUP BY r.id, r.name ORDER BY matched DESC, rule_id LIMIT $2"
        ),
        None => format!(
            "SELECT r.id AS rule_id, r.name AS name, {counts}
             FROM rule_deliveries d JOIN rules r ON r.id = d.rule_id
             WHERE d.matched_at >= $1 GROUP BY r.id, r.name ORDER BY matched DESC, rule_id LIMIT $2"
        ),
    };
    let mut q = sqlx::query_as::<_, WindowRow>(&sql).bind(since).bind(limit);
    if let Some(t) = tenant {
        q = q.bind(t);
    }
    q.fetch_all(&db.pool).await
}
