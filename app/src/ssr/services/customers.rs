//! Customers mirrored from Stripe (`customers`, filled by the billing webhooks): the list (search
//! by email or name, cursor pagination, CSV export without Stripe ids) and one customer with
//! their balances, subscriptions, invoices, payments, balance ledger and crm-activity timeline.
//! Reads need `BillingRead`, the export `BillingExport`; another tenant's customer is not found.

use serde::Deserialize;
use sqlx::FromRow;

use crate::{
    domain::{
        balances::{CustomerDetailOut, CustomerInvoiceOut, CustomerOut, CustomerPaymentOut, CustomerSubscriptionOut},
        customer_activity::AmountOut,
        dto::List,
        Action, CustomerId, PrefixedId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::{
            page::{Bind, Listing},
            PageParams,
        },
        services::{
            balances::{self, LedgerRow, LEDGER_COLUMNS},
            customer_activity,
            payments::csv_field,
        },
        time_util::from_ms,
        AppState,
    },
};

/// How many of each related kind the detail shows.
const DETAIL_LIMIT: i64 = 20;

/// Filters of `GET /api/v1/customers` (and its CSV export).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct CustomerListQuery {
    /// Part of the customer's email, case-insensitive.
    pub email: Option<String>,
    /// Part of the customer's name, case-insensitive.
    pub name: Option<String>,
    /// How many customers to return, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// A customer id (`cst_…`): return the customers after it.
    pub starting_after: Option<String>,
    /// A customer id (`cst_…`): return the customers before it.
    pub ending_before: Option<String>,
}

#[derive(FromRow, Clone)]
pub(crate) struct CustomerRow {
    pub id: String,
    pub stripe_customer_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub country: Option<String>,
    pub currency: Option<String>,
    pub deleted: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, stripe_customer_id, email, name, description, country, currency, deleted, created_at";

fn customer_out(r: CustomerRow, balances: Vec<AmountOut>) -> CustomerOut {
    CustomerOut {
        object: "customer".into(),
        id: r.id,
        stripe_customer_id: r.stripe_customer_id,
        email: r.email,
        name: r.name,
        description: r.description,
        country: r.country,
        currency: r.currency,
        deleted: r.deleted != 0,
        balances,
        created_at: from_ms(r.created_at),
    }
}

/// Stripe writes times in seconds, paybus in milliseconds; a value below 10^11 (the year 5138 in
/// seconds, 1973 in milliseconds) is read as seconds.
pub fn stripe_time(value: i64) -> time::OffsetDateTime {
    if value.abs() < 100_000_000_000 {
        from_ms(value.saturating_mul(1000))
    } else {
        from_ms(value)
    }
}

/// `%part%` for `LIKE … ESCAPE '\'`, lower-cased.
fn like_pattern(part: &str) -> String {
    let escaped = part.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// A tenant's customer, or 404 (also for a malformed id or another tenant's customer).
pub(crate) async fn load<'e>(ex: impl sqlx::Executor<'e, Database = sqlx::Any>, access: &TenantAccess, id: &str) -> AppResult<CustomerRow> {
    let id = CustomerId::parse(id).map_err(|_| AppError::not_found("customer"))?;
    sqlx::query_as::<_, CustomerRow>(&format!("SELECT {COLUMNS} FROM customers WHERE tenant_id = $1 AND id = $2"))
        .bind(access.tenant_id.as_str())
        .bind(id.as_str())
        .fetch_optional(ex)
        .await?
        .ok_or_else(|| AppError::not_found("customer"))
}

/// `FROM … WHERE …` and its binds for the list's filters.
fn filtered(access: &TenantAccess, q: &CustomerListQuery) -> AppResult<(String, Vec<Bind>)> {
    let mut binds: Vec<Bind> = vec![access.tenant_id.as_str().into()];
    let mut from_where = String::from("FROM customers WHERE tenant_id = $1");
    for (value, column) in [(&q.email, "email"), (&q.name, "name")] {
        if let Some(part) = value.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            if part.chars().count() > 254 {
                return Err(AppError::invalid("parameter_invalid", format!("{column} is too long"), Some(column)));
            }
            binds.push(like_pattern(part).into());
            from_where.push_str(&format!(" AND LOWER({column}) LIKE ${} ESCAPE '\\'", binds.len()));
        }
    }
    Ok((from_where, binds))
}

async fn page_of(state: &AppState, access: &TenantAccess, q: &CustomerListQuery, page: &PageParams) -> AppResult<(Vec<CustomerOut>, bool)> {
    let (from_where, binds) = filtered(access, q)?;
    let listing = Listing { columns: COLUMNS, from_where: &from_where, time_column: "created_at", key_column: "id", binds };
    let (rows, has_more): (Vec<CustomerRow>, bool) = listing.fetch(&state.db, page).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let balances = balances::balances_of(state, access, &ids).await?;
    let data = rows
        .into_iter()
        .map(|r| {
            let own = balances.iter().filter(|(id, _)| *id == r.id).map(|(_, a)| a.clone()).collect();
            customer_out(r, own)
        })
        .collect();
    Ok((data, has_more))
}

/// Customers, newest first, with their balances.
pub async fn list(state: &AppState, access: &TenantAccess, q: &CustomerListQuery) -> AppResult<List<CustomerOut>> {
    access.require(Action::BillingRead)?;
    let page = PageParams { limit: q.limit, starting_after: q.starting_after.clone(), ending_before: q.ending_before.clone() };
    let (data, has_more) = page_of(state, access, q, &page).await?;
    Ok(List::new(data, has_more))
}

pub const CUSTOMERS_CSV_HEADER: &str = "id,created,email,name,country,currency,deleted,balances";

/// The whole filtered list as CSV, newest first. Stripe ids are left out on purpose: an export
/// goes to spreadsheets and other people, and paybus ids are what its API takes.
pub async fn export_csv(state: &AppState, access: &TenantAccess, q: &CustomerListQuery) -> AppResult<String> {
    access.require(Action::BillingExport)?;
    let mut out = format!("{CUSTOMERS_CSV_HEADER}\n");
    let mut after: Option<String> = None;
    loop {
        let page = PageParams { limit: Some(100), starting_after: after.take(), ending_before: None };
        let (data, has_more) = page_of(state, access, q, &page).await?;
        for c in &data {
            let balances: Vec<String> = c.balances.iter().map(|b| format!("{} {}", b.currency, b.amount)).collect();
            let fields = [
                c.id.clone(),
                c.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                c.email.clone().unwrap_or_default(),
                c.name.clone().unwrap_or_default(),
                c.country.clone().unwrap_or_default(),
                c.currency.clone().unwrap_or_default(),
                c.deleted.to_string(),
                balances.join("; "),
            ];
            out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        match (has_more, data.last()) {
            (true, Some(last)) => after = Some(last.id.clone()),
            _ => break,
        }
    }
    Ok(out)
}

#[derive(FromRow)]
struct SubscriptionRow {
    id: String,
    status: String,
    plan_nickname: Option<String>,
    unit_amount: Option<i64>,
    currency: Option<String>,
    billing_interval: Option<String>,
    quantity: i64,
    current_period_end: Option<i64>,
    cancel_at_period_end: i64,
    trial_end: Option<i64>,
    created_at: i64,
}

#[derive(FromRow)]
struct InvoiceRow {
    id: String,
    number: Option<String>,
    status: String,
    overdue_at: Option<i64>,
    currency: String,
    amount_due: i64,
    amount_paid: i64,
    amount_remaining: i64,
    due_date: Option<i64>,
    hosted_invoice_url: Option<String>,
    payment_id: Option<String>,
    created_at: i64,
}

#[derive(FromRow)]
struct PaymentRow {
    id: String,
    amount: i64,
    currency: String,
    amount_refunded: i64,
    status: String,
    created_at: i64,
}

/// One customer with their balances, newest subscriptions, invoices, payments, ledger entries and
/// (for roles that may read it) their crm-activity timeline.
pub async fn detail(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<CustomerDetailOut> {
    access.require(Action::BillingRead)?;
    let row = load(&state.db.pool, access, id).await?;
    let tenant = access.tenant_id.as_str();
    let balances: Vec<AmountOut> = balances::balances_of(state, access, std::slice::from_ref(&row.id)).await?.into_iter().map(|(_, a)| a).collect();

    let subscriptions: Vec<SubscriptionRow> = sqlx::query_as(&format!(
        "SELECT id, status, plan_nickname, unit_amount, currency, billing_interval, quantity, current_period_end, cancel_at_period_end, trial_end, created_at
         FROM subscriptions WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id DESC LIMIT {DETAIL_LIMIT}"
    ))
    .bind(tenant)
    .bind(&row.id)
    .fetch_all(&state.db.pool)
    .await?;
    let invoices: Vec<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT id, number, status, overdue_at, currency, amount_due, amount_paid, amount_remaining, due_date, hosted_invoice_url, payment_id, created_at
         FROM invoices WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id DESC LIMIT {DETAIL_LIMIT}"
    ))
    .bind(tenant)
    .bind(&row.id)
    .fetch_all(&state.db.pool)
    .await?;
    // Payments carrying the customer's email, and those their invoices name.
    let email = row.email.as_deref().map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
    let payments: Vec<PaymentRow> = sqlx::query_as(&format!(
        "SELECT id, amount, currency, amount_refunded, status, created_at FROM payments
         WHERE tenant_id = $1 AND (($2 <> '' AND customer_email IS NOT NULL AND LOWER(customer_email) = $2)
             OR id IN (SELECT payment_id FROM invoices WHERE tenant_id = $1 AND customer_id = $3 AND payment_id IS NOT NULL))
         ORDER BY created_at DESC, id DESC LIMIT {DETAIL_LIMIT}"
    ))
    .bind(tenant)
    .bind(email.clone().unwrap_or_default())
    .bind(&row.id)
    .fetch_all(&state.db.pool)
    .await?;
    let ledger: Vec<LedgerRow> = sqlx::query_as(&format!(
        "SELECT {LEDGER_COLUMNS} FROM customer_balance_transactions WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id DESC LIMIT {DETAIL_LIMIT}"
    ))
    .bind(tenant)
    .bind(&row.id)
    .fetch_all(&state.db.pool)
    .await?;
    let activity = match (&email, access.role.can(Action::CustomersRead)) {
        (_, false) => None,
        (None, true) => Some(Vec::new()),
        (Some(email), true) => match customer_activity::timeline(state, access, email, &PageParams { limit: Some(DETAIL_LIMIT), ..Default::default() }).await {
            Ok(list) => Some(list.data),
            // No activity recorded under this email (yet): an empty timeline, not an error.
            Err(AppError::NotFound { .. }) => Some(Vec::new()),
            Err(e) => return Err(e),
        },
    };

    Ok(CustomerDetailOut {
        customer: customer_out(row, balances),
        subscriptions: subscriptions
            .into_iter()
            .map(|s| CustomerSubscriptionOut {
                object: "subscription".into(),
                id: s.id,
                status: s.status,
                plan_nickname: s.plan_nickname,
                unit_amount: s.unit_amount,
                currency: s.currency,
                billing_interval: s.billing_interval,
                quantity: s.quantity,
                current_period_end: s.current_period_end.map(stripe_time),
                cancel_at_period_end: s.cancel_at_period_end != 0,
                trial_end: s.trial_end.map(stripe_time),
                created_at: from_ms(s.created_at),
            })
            .collect(),
        invoices: invoices
            .into_iter()
            .map(|i| CustomerInvoiceOut {
                object: "invoice".into(),
                id: i.id,
                number: i.number,
                overdue: i.overdue_at.is_some() && !matches!(i.status.as_str(), "paid" | "void" | "uncollectible"),
                status: i.status,
                currency: i.currency,
                amount_due: i.amount_due,
                amount_paid: i.amount_paid,
                amount_remaining: i.amount_remaining,
                due_date: i.due_date.map(stripe_time),
                hosted_invoice_url: i.hosted_invoice_url,
                payment_id: i.payment_id,
                created_at: from_ms(i.created_at),
            })
            .collect(),
        payments: payments
            .into_iter()
            .map(|p| CustomerPaymentOut {
                object: "payment".into(),
                id: p.id,
                amount: p.amount,
                currency: p.currency,
                amount_refunded: p.amount_refunded,
                status: p.status,
                created_at: from_ms(p.created_at),
            })
            .collect(),
        balance_transactions: ledger.into_iter().map(balances::ledger_out).collect(),
        activity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_seconds_and_paybus_milliseconds_both_read_as_the_same_instant() {
        assert_eq!(stripe_time(1_800_000_000), stripe_time(1_800_000_000_000));
        assert_eq!(stripe_time(1_800_000_000).unix_timestamp(), 1_800_000_000);
    }

    #[test]
    fn search_patterns_escape_like_wildcards_and_lower_case() {
        assert_eq!(like_pattern("Ann_%"), "%ann\\_\\%%");
    }
}
