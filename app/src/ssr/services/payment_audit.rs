//! The payment audit log: every money-moving action (who asked for a refund, capture, cancel or
//! checkout, and what came of it) and every webhook effect on money, durable and exportable.

use crate::{
    domain::{dto::List, settings::PaymentAuditOut, Action, PaymentAuditId, PrefixedId},
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::{
            page::{Bind, Listing},
            PageParams, Tx,
        },
        ids::new_id,
        time_util::{from_ms, now_ms, to_ms},
        AppState,
    },
};

/// One entry to append.
pub struct Entry<'a> {
    pub tenant_id: &'a str,
    pub actor: Option<&'a str>,
    /// user, api_key, stripe, system.
    pub actor_type: &'a str,
    pub action: &'a str,
    pub payment_id: Option<&'a str>,
    pub amount: Option<i64>,
    pub currency: Option<&'a str>,
    pub result: &'a str,
    pub detail: Option<String>,
}

impl Entry<'_> {
    /// An action by the caller behind `access`.
    pub fn by<'a>(access: &'a TenantAccess, actor: &'a str, action: &'a str, result: &'a str) -> Entry<'a> {
        let actor_type = match access.principal {
            crate::ssr::auth::Principal::User { .. } => "user",
            crate::ssr::auth::Principal::ApiKey { .. } => "api_key",
        };
        Entry { tenant_id: access.tenant_id.as_str(), actor: Some(actor), actor_type, action, payment_id: None, amount: None, currency: None, result, detail: None }
    }
}

pub async fn record(tx: &mut Tx, entry: Entry<'_>) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO payment_audit_log (id, tenant_id, actor, actor_type, action, payment_id, amount, currency, result, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new_id::<PaymentAuditId>().as_str())
    .bind(entry.tenant_id)
    .bind(entry.actor)
    .bind(entry.actor_type)
    .bind(entry.action)
    .bind(entry.payment_id)
    .bind(entry.amount)
    .bind(entry.currency)
    .bind(entry.result)
    .bind(entry.detail)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Outside any other transaction (e.g. after Stripe refused a request).
pub async fn record_now(state: &AppState, entry: Entry<'_>) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Exact action, or a prefix ending in `*` (`refund.*`, `webhook.*`).
    pub action: Option<String>,
    pub payment_id: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<String>,
    /// Before (RFC 3339).
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    actor: Option<String>,
    actor_type: String,
    action: String,
    payment_id: Option<String>,
    amount: Option<i64>,
    currency: Option<String>,
    result: String,
    detail: Option<String>,
    created_at: i64,
}

const COLUMNS: &str = "id, actor, actor_type, action, payment_id, amount, currency, result, detail, created_at";

fn time_param(raw: &str, param: &str) -> AppResult<i64> {
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(to_ms)
        .map_err(|_| AppError::invalid("parameter_invalid_time", format!("{param} must be an RFC 3339 time"), Some(param)))
}

fn filter(tenant: &str, q: &AuditQuery) -> AppResult<(String, Vec<Bind>)> {
    let mut sql = "FROM payment_audit_log WHERE tenant_id = $1".to_owned();
    let mut binds: Vec<Bind> = vec![tenant.into()];
    let mut and = |clause: &str, value: Bind, binds: &mut Vec<Bind>| {
        binds.push(value);
        sql.push_str(&format!(" AND {}", clause.replace('?', &format!("${}", binds.len()))));
    };
    if let Some(action) = q.action.as_deref().filter(|a| !a.is_empty()) {
        match action.strip_suffix('*') {
            Some(prefix) => and("action LIKE ?", format!("{}%", prefix.replace(['%', '_'], "")).into(), &mut binds),
            None => and("action = ?", action.into(), &mut binds),
        }
    }
    if let Some(payment) = q.payment_id.as_deref().filter(|p| !p.is_empty()) {
        and("payment_id = ?", payment.into(), &mut binds);
    }
    if let Some(from) = q.from.as_deref().filter(|v| !v.is_empty()) {
        and("created_at >= ?", time_param(from, "from")?.into(), &mut binds);
    }
    if let Some(to) = q.to.as_deref().filter(|v| !v.is_empty()) {
        and("created_at < ?", time_param(to, "to")?.into(), &mut binds);
    }
    Ok((sql, binds))
}

impl From<Row> for PaymentAuditOut {
    fn from(r: Row) -> Self {
        PaymentAuditOut {
            id: r.id,
            actor: r.actor,
            actor_type: r.actor_type,
            action: r.action,
            payment_id: r.payment_id,
            amount: r.amount,
            currency: r.currency,
            result: r.result,
            detail: r.detail,
            created_at: from_ms(r.created_at),
        }
    }
}

pub async fn list(state: &AppState, access: &TenantAccess, q: &AuditQuery) -> AppResult<List<PaymentAuditOut>> {
    access.require(Action::PaymentAuditRead)?;
    let (from_where, binds) = filter(access.tenant_id.as_str(), q)?;
    let page = PageParams { limit: q.limit, starting_after: q.starting_after.clone(), ending_before: q.ending_before.clone() };
    let listing = Listing { columns: COLUMNS, from_where: &from_where, time_column: "created_at", key_column: "id", binds };
    let (rows, has_more): (Vec<Row>, bool) = listing.fetch(&state.db, &page).await?;
    Ok(List::new(rows.into_iter().map(Into::into).collect(), has_more))
}

pub const CSV_HEADER: &str = "id,created_at,actor_type,actor,action,payment_id,amount,currency,result\n";

/// The whole filtered log as CSV, newest first, page by page. No Stripe ids: `detail` (which
/// may name them) is left out.
pub async fn export(state: &AppState, access: &TenantAccess, q: &AuditQuery) -> AppResult<String> {
    access.require(Action::PaymentAuditRead)?;
    let mut out = String::from(CSV_HEADER);
    let mut query = AuditQuery { limit: Some(100), ..q.clone() };
    loop {
        let page = list(state, access, &query).await?;
        for e in &page.data {
            let fields = [
                e.id.clone(),
                e.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                e.actor_type.clone(),
                e.actor.clone().unwrap_or_default(),
                e.action.clone(),
                e.payment_id.clone().unwrap_or_default(),
                e.amount.map(|a| a.to_string()).unwrap_or_default(),
                e.currency.clone().unwrap_or_default(),
                e.result.clone(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        match (page.has_more, page.data.last()) {
            (true, Some(last)) => query.starting_after = Some(last.id.clone()),
            _ => return Ok(out),
        }
    }
}

fn csv_field(v: &str) -> String {
    // Quote when needed; neutralise spreadsheet formulas.
    let v = if v.starts_with(['=', '+', '-', '@']) && v.parse::<f64>().is_err() { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}
