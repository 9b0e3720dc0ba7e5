//! Reading the ledger: payments with filters, one payment and its timeline, refunds, disputes,
//! the webhook audit, and CSV exports of the first three. Every query is scoped to the caller's
//! tenant; another tenant's id is simply not found.

use serde::Deserialize;
use sqlx::FromRow;
use time::OffsetDateTime;

use crate::{
    domain::{dto::List, ledger::*, Action, PrefixedId},
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::{
            page::{Bind, Listing},
            PageParams,
        },
        time_util::{from_ms, to_ms},
        AppState,
    },
};

/// Filters of `GET /api/v1/payments` and its CSV export.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct PaymentQuery {
    pub status: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<String>,
    /// Created before (RFC 3339).
    pub to: Option<String>,
    /// Minimum amount, minor units.
    pub amount_gte: Option<i64>,
    /// Maximum amount, minor units.
    pub amount_lte: Option<i64>,
    /// Part of the customer's email, case-insensitive.
    pub email: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

pub const PAYMENT_STATUSES: [&str; 13] = [
    "requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture", "succeeded", "failed",
    "canceled", "partially_refunded", "refunded", "disputed", "dispute_lost", "unknown",
];

fn parse_time(raw: &str, param: &str) -> AppResult<i64> {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(to_ms)
        .map_err(|_| AppError::invalid("parameter_invalid_time", format!("{param} must be an RFC 3339 time"), Some(param)))
}

struct Filter {
    sql: String,
    binds: Vec<Bind>,
}

impl Filter {
    fn new(tenant: &str) -> Self {
        Self { sql: "tenant_id = $1".into(), binds: vec![tenant.into()] }
    }

    fn and(&mut self, clause: &str, value: impl Into<Bind>) {
        self.binds.push(value.into());
        self.sql.push_str(&format!(" AND {}", clause.replace('?', &format!("${}", self.binds.len()))));
    }
}

impl PaymentQuery {
    pub fn page(&self) -> PageParams {
        PageParams { limit: self.limit, starting_after: self.starting_after.clone(), ending_before: self.ending_before.clone() }
    }

    fn filter(&self, tenant: &str) -> AppResult<Filter> {
        let mut f = Filter::new(tenant);
        if let Some(status) = &self.status {
            if !PAYMENT_STATUSES.contains(&status.as_str()) {
                return Err(AppError::invalid("parameter_invalid", format!("`{status}` is not a payment status"), Some("status")));
            }
            f.and("status = ?", status.as_str());
        }
        let from = self.from.as_deref().map(|t| parse_time(t, "from")).transpose()?;
        let to = self.to.as_deref().map(|t| parse_time(t, "to")).transpose()?;
        if let (Some(a), Some(b)) = (from, to) {
            if a >= b {
                return Err(AppError::invalid("parameter_invalid", "from must be before to", Some("from")));
            }
        }
        if let Some(from) = from {
            f.and("created_at >= ?", from);
        }
        if let Some(to) = to {
            f.and("created_at < ?", to);
        }
        if let (Some(a), Some(b)) = (self.amount_gte, self.amount_lte) {
            if a > b {
                return Err(AppError::invalid("parameter_invalid", "amount_gte must not exceed amount_lte", Some("amount_gte")));
            }
        }
        if let Some(a) = self.amount_gte {
            f.and("amount >= ?", a);
        }
        if let Some(a) = self.amount_lte {
            f.and("amount <= ?", a);
        }
        if let Some(email) = self.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            if email.len() > 254 {
                return Err(AppError::invalid("parameter_invalid", "email is too long", Some("email")));
            }
            let escaped = email.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            f.and("LOWER(customer_email) LIKE ? ESCAPE '\\'", format!("%{escaped}%"));
        }
        Ok(f)
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct PaymentRow {
    id: String,
    status: String,
    amount: i64,
    currency: String,
    amount_captured: i64,
    amount_refunded: i64,
    amount_disputed: i64,
    amount_disputed_lost: i64,
    customer_email: Option<String>,
    failure_message: Option<String>,
    stripe_payment_intent: Option<String>,
    stripe_charge: Option<String>,
    connected_account: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const PAYMENT_COLUMNS: &str = "id, status, amount, currency, amount_captured, amount_refunded, amount_disputed, amount_disputed_lost,
    customer_email, failure_message, stripe_payment_intent, stripe_charge, connected_account, created_at, updated_at";

fn payment_out(r: PaymentRow) -> PaymentOut {
    PaymentOut {
        id: r.id,
        status: r.status,
        amount: r.amount,
        currency: r.currency,
        amount_captured: r.amount_captured,
        amount_refunded: r.amount_refunded,
        amount_disputed: r.amount_disputed,
        amount_disputed_lost: r.amount_disputed_lost,
        customer_email: r.customer_email,
        failure_message: r.failure_message,
        stripe_payment_intent: r.stripe_payment_intent,
        stripe_charge: r.stripe_charge,
        connected_account: r.connected_account,
        created_at: from_ms(r.created_at),
        updated_at: from_ms(r.updated_at),
    }
}

pub async fn list(state: &AppState, access: &TenantAccess, query: &PaymentQuery) -> AppResult<List<PaymentOut>> {
    access.require(Action::PaymentsRead)?;
    let (rows, has_more) = page_of::<PaymentRow>(state, "payments", PAYMENT_COLUMNS, query.filter(access.tenant_id.as_str())?, &query.page()).await?;
    Ok(List::new(rows.into_iter().map(payment_out).collect(), has_more))
}

pub async fn get(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<PaymentOut> {
    access.require(Action::PaymentsRead)?;
    let row: Option<PaymentRow> = sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE tenant_id = $1 AND id = $2"))
        .bind(access.tenant_id.as_str())
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?;
    row.map(payment_out).ok_or_else(|| AppError::not_found("payment"))
}

/// Every webhook and API action on the payment, oldest first.
pub async fn timeline(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<List<TimelineEntryOut>> {
    get(state, access, id).await?;
    let rows: Vec<(String, String, String, Option<String>, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT id, source, title, stripe_type, stripe_event_id, status_after, occurred_at FROM event_logs
         WHERE tenant_id = $1 AND payment_id = $2 ORDER BY occurred_at, created_at, id",
    )
    .bind(access.tenant_id.as_str())
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    let data = rows
        .into_iter()
        .map(|(id, source, title, stripe_type, stripe_event_id, status_after, at)| TimelineEntryOut {
            id,
            source,
            title,
            stripe_type,
            stripe_event_id,
            status_after,
            occurred_at: from_ms(at),
        })
        .collect();
    Ok(List::new(data, false))
}

/// Filters of refunds and disputes lists.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct ChildQuery {
    pub status: Option<String>,
    /// Only this payment's (`pay_…`).
    pub payment: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

pub const REFUND_STATUSES: [&str; 5] = ["pending", "requires_action", "succeeded", "failed", "canceled"];
pub const DISPUTE_STATUSES: [&str; 7] =
    ["warning_needs_response", "warning_under_review", "warning_closed", "needs_response", "under_review", "won", "lost"];
pub const WEBHOOK_STATUSES: [&str; 7] = ["received", "processed", "duplicate", "ignored", "unassigned", "unparsed", "rejected"];

impl ChildQuery {
    /// `allowed`: the statuses this list knows; anything else is a client mistake, not an empty list.
    fn filter(&self, tenant: &str, allowed: &[&str]) -> AppResult<Filter> {
        let mut f = Filter::new(tenant);
        if let Some(s) = &self.status {
            if !allowed.contains(&s.as_str()) {
                return Err(AppError::invalid("parameter_invalid", format!("status must be one of {}", allowed.join(", ")), Some("status")));
            }
            f.and("status = ?", s.as_str());
        }
        if let Some(p) = &self.payment {
            f.and("payment_id = ?", p.as_str());
        }
        Ok(f)
    }

    pub fn page(&self) -> PageParams {
        PageParams { limit: self.limit, starting_after: self.starting_after.clone(), ending_before: self.ending_before.clone() }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct RefundRow {
    id: String,
    payment_id: String,
    amount: i64,
    currency: String,
    status: String,
    reason: Option<String>,
    failure_reason: Option<String>,
    stripe_refund_id: Option<String>,
    created_at: i64,
}

const REFUND_COLUMNS: &str = "id, payment_id, amount, currency, status, reason, failure_reason, stripe_refund_id, created_at";

fn refund_out(r: RefundRow) -> RefundOut {
    RefundOut {
        id: r.id,
        payment_id: r.payment_id,
        amount: r.amount,
        currency: r.currency,
        status: r.status,
        reason: r.reason,
        failure_reason: r.failure_reason,
        stripe_refund_id: r.stripe_refund_id,
        created_at: from_ms(r.created_at),
    }
}

pub async fn refunds(state: &AppState, access: &TenantAccess, query: &ChildQuery) -> AppResult<List<RefundOut>> {
    access.require(Action::PaymentsRead)?;
    let filter = query.filter(access.tenant_id.as_str(), &REFUND_STATUSES)?;
    let (rows, has_more) = page_of::<RefundRow>(state, "refunds", REFUND_COLUMNS, filter, &query.page()).await?;
    Ok(List::new(rows.into_iter().map(refund_out).collect(), has_more))
}

#[derive(Debug, Clone, FromRow)]
pub struct DisputeRow {
    id: String,
    payment_id: String,
    amount: i64,
    currency: String,
    reason: String,
    status: String,
    evidence_due_by: Option<i64>,
    stripe_dispute_id: String,
    created_at: i64,
}

const DISPUTE_COLUMNS: &str = "id, payment_id, amount, currency, reason, status, evidence_due_by, stripe_dispute_id, created_at";

fn dispute_out(r: DisputeRow) -> DisputeOut {
    DisputeOut {
        id: r.id,
        payment_id: r.payment_id,
        amount: r.amount,
        currency: r.currency,
        reason: r.reason,
        status: r.status,
        evidence_due_by: r.evidence_due_by.map(|s| from_ms(s * 1000)),
        stripe_dispute_id: r.stripe_dispute_id,
        created_at: from_ms(r.created_at),
    }
}

pub async fn disputes(state: &AppState, access: &TenantAccess, query: &ChildQuery) -> AppResult<List<DisputeOut>> {
    access.require(Action::PaymentsRead)?;
    let filter = query.filter(access.tenant_id.as_str(), &DISPUTE_STATUSES)?;
    let (rows, has_more) = page_of::<DisputeRow>(state, "disputes", DISPUTE_COLUMNS, filter, &query.page()).await?;
    Ok(List::new(rows.into_iter().map(dispute_out).collect(), has_more))
}

pub async fn dispute(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<DisputeOut> {
    access.require(Action::PaymentsRead)?;
    let row: Option<DisputeRow> = sqlx::query_as(&format!("SELECT {DISPUTE_COLUMNS} FROM disputes WHERE tenant_id = $1 AND id = $2"))
        .bind(access.tenant_id.as_str())
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?;
    row.map(dispute_out).ok_or_else(|| AppError::not_found("dispute"))
}

#[derive(Debug, Clone, FromRow)]
struct WebhookRow {
    id: String,
    stripe_event_id: Option<String>,
    #[sqlx(rename = "type")]
    event_type: Option<String>,
    account: Option<String>,
    source: String,
    status: String,
    error: Option<String>,
    received_at: i64,
}

pub async fn webhook_events(state: &AppState, access: &TenantAccess, query: &ChildQuery) -> AppResult<List<WebhookEventOut>> {
    access.require(Action::WebhookEventsRead)?;
    if query.payment.is_some() {
        return Err(AppError::invalid("parameter_unknown", "the webhook audit cannot be filtered by payment", Some("payment")));
    }
    let f = ChildQuery { payment: None, ..query.clone() }.filter(access.tenant_id.as_str(), &WEBHOOK_STATUSES)?;
    let from_where = format!("FROM webhook_events WHERE {}", f.sql);
    let listing = Listing {
        columns: "id, stripe_event_id, type, account, source, status, error, received_at",
        from_where: &from_where,
        time_column: "received_at",
        key_column: "id",
        binds: f.binds,
    };
    let (rows, has_more): (Vec<WebhookRow>, bool) = listing.fetch(&state.db, &query.page()).await?;
    let data = rows
        .into_iter()
        .map(|r| WebhookEventOut {
            id: r.id,
            stripe_event_id: r.stripe_event_id,
            event_type: r.event_type,
            account: r.account,
            source: r.source,
            status: r.status,
            error: r.error,
            received_at: from_ms(r.received_at),
        })
        .collect();
    Ok(List::new(data, has_more))
}

/// One page of CSV lines (after the cursor), for streaming an export without holding it all.
pub struct CsvPage {
    pub lines: Vec<String>,
    pub next: Option<String>,
}

/// A CSV field: quoted when needed, and defused when a spreadsheet would run it as a formula.
pub fn csv_field(raw: &str) -> String {
    let defused = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{raw}") } else { raw.to_owned() };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn rfc3339(ms: i64) -> String {
    from_ms(ms).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

pub const PAYMENTS_CSV_HEADER: &str = "id,created,status,amount,currency,amount_captured,amount_refunded,amount_disputed,amount_disputed_lost,customer_email";
pub const REFUNDS_CSV_HEADER: &str = "id,created,payment_id,amount,currency,status,reason";
pub const DISPUTES_CSV_HEADER: &str = "id,created,payment_id,amount,currency,reason,status,evidence_due_by";

/// Which ledger table an export reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Payments,
    Refunds,
    Disputes,
}

/// One page of a ledger table under `filter`, keyset-paginated by creation time.
async fn page_of<T>(state: &AppState, table: &str, columns: &str, filter: Filter, page: &PageParams) -> AppResult<(Vec<T>, bool)>
where
    T: for<'r> FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let from_where = format!("FROM {table} WHERE {}", filter.sql);
    Listing { columns, from_where: &from_where, time_column: "created_at", key_column: "id", binds: filter.binds }.fetch(&state.db, page).await
}

fn csv_line(fields: &[String]) -> String {
    fields.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(",")
}

/// The next page of an export. Stripe ids are left out on purpose: an export goes to
/// spreadsheets and accountants, who need our ids and the money, not Stripe internals.
pub async fn export_page(state: &AppState, access: &TenantAccess, kind: Export, payments: &PaymentQuery, children: &ChildQuery, after: Option<String>) -> AppResult<CsvPage> {
    access.require(Action::PaymentsExport)?;
    let page = PageParams { limit: Some(100), starting_after: after, ending_before: None };
    let tenant = access.tenant_id.as_str();
    let (lines, has_more): (Vec<(String, String)>, bool) = match kind {
        Export::Payments => {
            let (rows, more) = page_of::<PaymentRow>(state, "payments", PAYMENT_COLUMNS, payments.filter(tenant)?, &page).await?;
            let lines = rows.into_iter().map(|r| {
                let line = csv_line(&[r.id.clone(), rfc3339(r.created_at), r.status, r.amount.to_string(), r.currency, r.amount_captured.to_string(),
                    r.amount_refunded.to_string(), r.amount_disputed.to_string(), r.amount_disputed_lost.to_string(), r.customer_email.unwrap_or_default()]);
                (r.id, line)
            });
            (lines.collect(), more)
        }
        Export::Refunds => {
            let (rows, more) = page_of::<RefundRow>(state, "refunds", REFUND_COLUMNS, children.filter(tenant, &REFUND_STATUSES)?, &page).await?;
            let lines = rows.into_iter().map(|r| {
                let line = csv_line(&[r.id.clone(), rfc3339(r.created_at), r.payment_id, r.amount.to_string(), r.currency, r.status, r.reason.unwrap_or_default()]);
                (r.id, line)
            });
            (lines.collect(), more)
        }
        Export::Disputes => {
            let (rows, more) = page_of::<DisputeRow>(state, "disputes", DISPUTE_COLUMNS, children.filter(tenant, &DISPUTE_STATUSES)?, &page).await?;
            let lines = rows.into_iter().map(|r| {
                let due = r.evidence_due_by.map(|s| rfc3339(s * 1000)).unwrap_or_default();
                let line = csv_line(&[r.id.clone(), rfc3339(r.created_at), r.payment_id, r.amount.to_string(), r.currency, r.reason, r.status, due]);
                (r.id, line)
            });
            (lines.collect(), more)
        }
    };
    let last = lines.last().map(|(id, _)| id.clone());
    Ok(CsvPage { lines: lines.into_iter().map(|(_, line)| line).collect(), next: if has_more { last } else { None } })
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-5"), "'-5");
    }
}
