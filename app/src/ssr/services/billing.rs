//! Reading recurring billing: subscriptions and invoices with filters, one of each, and their CSV
//! exports. Every query is scoped to the caller's tenant; another tenant's id is not found.

use serde::Deserialize;
use sqlx::FromRow;

use crate::{
    domain::{
        billing::{InvoiceOut, SubscriptionOut, INVOICE_STATUSES, SUBSCRIPTION_STATUSES},
        dto::List,
        Action, PrefixedId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::{
            page::{Bind, Listing},
            PageParams,
        },
        services::payments::{csv_field, CsvPage},
        time_util::from_ms,
        AppState,
    },
};

/// Filters of `GET /api/v1/subscriptions` and its CSV export.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct SubscriptionQuery {
    /// incomplete, incomplete_expired, trialing, active, past_due, canceled, unpaid or paused.
    pub status: Option<String>,
    /// Only this customer's (`cst_…`).
    pub customer: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

/// Filters of `GET /api/v1/invoices` and its CSV export.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct InvoiceQuery {
    /// draft, open, paid, uncollectible, void, or `overdue` (open and past its due date).
    pub status: Option<String>,
    /// Only this customer's (`cst_…`).
    pub customer: Option<String>,
    /// Only this subscription's (`sbn_…`).
    pub subscription: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

struct Filter {
    sql: String,
    binds: Vec<Bind>,
}

impl Filter {
    fn new(alias: &str, tenant: &str) -> Self {
        Self { sql: format!("{alias}.tenant_id = $1"), binds: vec![tenant.into()] }
    }

    fn and(&mut self, clause: &str, value: impl Into<Bind>) {
        self.binds.push(value.into());
        self.sql.push_str(&format!(" AND {}", clause.replace('?', &format!("${}", self.binds.len()))));
    }
}

fn checked_status<'a>(status: &'a Option<String>, allowed: &[&str]) -> AppResult<Option<&'a str>> {
    match status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if allowed.contains(&s) => Ok(Some(s)),
        Some(_) => Err(AppError::invalid("parameter_invalid", format!("status must be one of {}", allowed.join(", ")), Some("status"))),
        None => Ok(None),
    }
}

fn page(limit: Option<i64>, after: &Option<String>, before: &Option<String>) -> PageParams {
    PageParams { limit, starting_after: after.clone(), ending_before: before.clone() }
}

impl SubscriptionQuery {
    fn filter(&self, tenant: &str) -> AppResult<Filter> {
        let mut f = Filter::new("s", tenant);
        if let Some(status) = checked_status(&self.status, &SUBSCRIPTION_STATUSES)? {
            f.and("s.status = ?", status);
        }
        if let Some(c) = self.customer.as_deref().filter(|c| !c.is_empty()) {
            f.and("s.customer_id = ?", c);
        }
        Ok(f)
    }
}

impl InvoiceQuery {
    fn filter(&self, tenant: &str) -> AppResult<Filter> {
        let mut f = Filter::new("i", tenant);
        match checked_status(&self.status, &INVOICE_STATUSES)? {
            Some("overdue") => f.sql.push_str(" AND i.status = 'open' AND i.overdue_at IS NOT NULL"),
            Some(status) => f.and("i.status = ?", status),
            None => {}
        }
        if let Some(c) = self.customer.as_deref().filter(|c| !c.is_empty()) {
            f.and("i.customer_id = ?", c);
        }
        if let Some(s) = self.subscription.as_deref().filter(|s| !s.is_empty()) {
            f.and("i.stripe_subscription_id = (SELECT s.stripe_subscription_id FROM subscriptions s WHERE s.id = ? AND s.tenant_id = i.tenant_id)", s);
        }
        Ok(f)
    }
}

#[derive(Debug, Clone, FromRow)]
struct SubscriptionRow {
    id: String,
    status: String,
    customer_id: Option<String>,
    customer_email: Option<String>,
    price_id: Option<String>,
    product_id: Option<String>,
    plan_nickname: Option<String>,
    unit_amount: Option<i64>,
    currency: Option<String>,
    billing_interval: Option<String>,
    quantity: i64,
    current_period_start: Option<i64>,
    current_period_end: Option<i64>,
    cancel_at_period_end: i64,
    canceled_at: Option<i64>,
    trial_end: Option<i64>,
    paused: i64,
    stripe_subscription_id: String,
    stripe_customer_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const SUBSCRIPTION_COLUMNS: &str = "s.id, s.status, s.customer_id, (SELECT c.email FROM customers c WHERE c.id = s.customer_id) AS customer_email,
    s.price_id, s.product_id, s.plan_nickname, s.unit_amount, s.currency, s.billing_interval, s.quantity, s.current_period_start,
    s.current_period_end, s.cancel_at_period_end, s.canceled_at, s.trial_end, s.paused, s.stripe_subscription_id, s.stripe_customer_id,
    s.created_at, s.updated_at";

fn secs(t: Option<i64>) -> Option<time::OffsetDateTime> {
    t.map(|s| from_ms(s.saturating_mul(1000)))
}

fn subscription_out(r: SubscriptionRow) -> SubscriptionOut {
    SubscriptionOut {
        id: r.id,
        status: r.status,
        customer_id: r.customer_id,
        customer_email: r.customer_email,
        price_id: r.price_id,
        product_id: r.product_id,
        plan_nickname: r.plan_nickname,
        unit_amount: r.unit_amount,
        currency: r.currency,
        interval: r.billing_interval,
        quantity: r.quantity,
        current_period_start: secs(r.current_period_start),
        current_period_end: secs(r.current_period_end),
        cancel_at_period_end: r.cancel_at_period_end != 0,
        canceled_at: secs(r.canceled_at),
        trial_end: secs(r.trial_end),
        paused: r.paused != 0,
        stripe_subscription_id: r.stripe_subscription_id,
        stripe_customer_id: r.stripe_customer_id,
        created_at: from_ms(r.created_at),
        updated_at: from_ms(r.updated_at),
    }
}

#[derive(Debug, Clone, FromRow)]
struct InvoiceRow {
    id: String,
    number: Option<String>,
    status: String,
    overdue_at: Option<i64>,
    customer_id: Option<String>,
    customer_email: Option<String>,
    subscription_id: Option<String>,
    payment_id: Option<String>,
    currency: String,
    amount_due: i64,
    amount_paid: i64,
    amount_remaining: i64,
    subtotal: i64,
    tax: i64,
    total: i64,
    attempt_count: i64,
    due_date: Option<i64>,
    hosted_invoice_url: Option<String>,
    stripe_invoice_id: String,
    stripe_customer_id: Option<String>,
    stripe_subscription_id: Option<String>,
    stripe_payment_intent: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const INVOICE_COLUMNS: &str = "i.id, i.number, i.status, i.overdue_at, i.customer_id,
    (SELECT c.email FROM customers c WHERE c.id = i.customer_id) AS customer_email,
    (SELECT s.id FROM subscriptions s WHERE s.stripe_subscription_id = i.stripe_subscription_id AND s.tenant_id = i.tenant_id) AS subscription_id,
    i.payment_id, i.currency, i.amount_due, i.amount_paid, i.amount_remaining, i.subtotal, i.tax, i.total, i.attempt_count, i.due_date,
    i.hosted_invoice_url, i.stripe_invoice_id, i.stripe_customer_id, i.stripe_subscription_id, i.stripe_payment_intent, i.created_at, i.updated_at";

fn invoice_out(r: InvoiceRow) -> InvoiceOut {
    InvoiceOut {
        overdue: r.status == "open" && r.overdue_at.is_some(),
        id: r.id,
        number: r.number,
        status: r.status,
        customer_id: r.customer_id,
        customer_email: r.customer_email,
        subscription_id: r.subscription_id,
        payment_id: r.payment_id,
        currency: r.currency,
        amount_due: r.amount_due,
        amount_paid: r.amount_paid,
        amount_remaining: r.amount_remaining,
        subtotal: r.subtotal,
        tax: r.tax,
        total: r.total,
        attempt_count: r.attempt_count,
        due_date: secs(r.due_date),
        overdue_at: r.overdue_at.map(from_ms),
        hosted_invoice_url: r.hosted_invoice_url,
        stripe_invoice_id: r.stripe_invoice_id,
        stripe_customer_id: r.stripe_customer_id,
        stripe_subscription_id: r.stripe_subscription_id,
        stripe_payment_intent: r.stripe_payment_intent,
        created_at: from_ms(r.created_at),
        updated_at: from_ms(r.updated_at),
    }
}

async fn page_of<T>(state: &AppState, table: &str, alias: &str, columns: &str, filter: Filter, page: &PageParams) -> AppResult<(Vec<T>, bool)>
where
    T: for<'r> FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let from_where = format!("FROM {table} {alias} WHERE {}", filter.sql);
    let (time, key) = (format!("{alias}.created_at"), format!("{alias}.id"));
    Listing { columns, from_where: &from_where, time_column: &time, key_column: &key, binds: filter.binds }.fetch(&state.db, page).await
}

/// Subscriptions, newest first.
pub async fn subscriptions(state: &AppState, access: &TenantAccess, q: &SubscriptionQuery) -> AppResult<List<SubscriptionOut>> {
    access.require(Action::BillingRead)?;
    let filter = q.filter(access.tenant_id.as_str())?;
    let (rows, has_more) =
        page_of::<SubscriptionRow>(state, "subscriptions", "s", SUBSCRIPTION_COLUMNS, filter, &page(q.limit, &q.starting_after, &q.ending_before)).await?;
    Ok(List::new(rows.into_iter().map(subscription_out).collect(), has_more))
}

pub async fn subscription(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<SubscriptionOut> {
    access.require(Action::BillingRead)?;
    let row: Option<SubscriptionRow> = sqlx::query_as(&format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions s WHERE s.tenant_id = $1 AND s.id = $2"))
        .bind(access.tenant_id.as_str())
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?;
    row.map(subscription_out).ok_or_else(|| AppError::not_found("subscription"))
}

/// Invoices, newest first.
pub async fn invoices(state: &AppState, access: &TenantAccess, q: &InvoiceQuery) -> AppResult<List<InvoiceOut>> {
    access.require(Action::BillingRead)?;
    let filter = q.filter(access.tenant_id.as_str())?;
    let (rows, has_more) = page_of::<InvoiceRow>(state, "invoices", "i", INVOICE_COLUMNS, filter, &page(q.limit, &q.starting_after, &q.ending_before)).await?;
    Ok(List::new(rows.into_iter().map(invoice_out).collect(), has_more))
}

pub async fn invoice(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<InvoiceOut> {
    access.require(Action::BillingRead)?;
    let row: Option<InvoiceRow> = sqlx::query_as(&format!("SELECT {INVOICE_COLUMNS} FROM invoices i WHERE i.tenant_id = $1 AND i.id = $2"))
        .bind(access.tenant_id.as_str())
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?;
    row.map(invoice_out).ok_or_else(|| AppError::not_found("invoice"))
}

pub const SUBSCRIPTIONS_CSV_HEADER: &str =
    "id,created,status,customer_id,customer_email,plan,unit_amount,currency,interval,quantity,current_period_end,cancel_at_period_end,canceled_at,trial_end";
pub const INVOICES_CSV_HEADER: &str =
    "id,created,number,status,overdue,customer_id,customer_email,subscription_id,payment_id,currency,amount_due,amount_paid,amount_remaining,subtotal,tax,total,due_date";

fn rfc3339(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
}

fn opt(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_line(fields: &[String]) -> String {
    fields.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(",")
}

/// The next page of the subscriptions export. Stripe ids are left out on purpose, as in the
/// payments export: a spreadsheet needs our ids and the money.
pub async fn export_subscriptions(state: &AppState, access: &TenantAccess, q: &SubscriptionQuery, after: Option<String>) -> AppResult<CsvPage> {
    access.require(Action::BillingExport)?;
    let q = SubscriptionQuery { limit: Some(100), starting_after: after, ending_before: None, ..q.clone() };
    let page = subscriptions(state, access, &q).await?;
    let lines: Vec<(String, String)> = page
        .data
        .into_iter()
        .map(|s| {
            let line = csv_line(&[
                s.id.clone(),
                rfc3339(Some(s.created_at)),
                s.status,
                opt(s.customer_id),
                opt(s.customer_email),
                opt(s.plan_nickname.or(s.price_id)),
                opt(s.unit_amount),
                opt(s.currency),
                opt(s.interval),
                s.quantity.to_string(),
                rfc3339(s.current_period_end),
                s.cancel_at_period_end.to_string(),
                rfc3339(s.canceled_at),
                rfc3339(s.trial_end),
            ]);
            (s.id, line)
        })
        .collect();
    Ok(csv_page(lines, page.has_more))
}

/// The next page of the invoices export (no Stripe ids, no hosted URL: it is a bearer link).
pub async fn export_invoices(state: &AppState, access: &TenantAccess, q: &InvoiceQuery, after: Option<String>) -> AppResult<CsvPage> {
    access.require(Action::BillingExport)?;
    let q = InvoiceQuery { limit: Some(100), starting_after: after, ending_before: None, ..q.clone() };
    let page = invoices(state, access, &q).await?;
    let lines: Vec<(String, String)> = page
        .data
        .into_iter()
        .map(|i| {
            let line = csv_line(&[
                i.id.clone(),
                rfc3339(Some(i.created_at)),
                opt(i.number),
                i.status,
                i.overdue.to_string(),
                opt(i.customer_id),
                opt(i.customer_email),
                opt(i.subscription_id),
                opt(i.payment_id),
                i.currency,
                i.amount_due.to_string(),
                i.amount_paid.to_string(),
                i.amount_remaining.to_string(),
                i.subtotal.to_string(),
                i.tax.to_string(),
                i.total.to_string(),
                rfc3339(i.due_date),
            ]);
            (i.id, line)
        })
        .collect();
    Ok(csv_page(lines, page.has_more))
}

fn csv_page(lines: Vec<(String, String)>, has_more: bool) -> CsvPage {
    let last = lines.last().map(|(id, _)| id.clone());
    CsvPage { lines: lines.into_iter().map(|(_, l)| l).collect(), next: if has_more { last } else { None } }
}
