//! Customers by email, from the crm-activity plugin's timeline: the list (with what each
//! customer's activity adds up to, searchable, newest activity first) and one customer's timeline.
//!
//! Not Stripe's customer objects: a customer here is an email address that payments carried.

use serde::Deserialize;
use sqlx::FromRow;

use crate::{
    domain::{
        customer_activity::{AmountOut, CustomerActivityOut, CustomerActivitySummaryOut},
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
        plugins::builtin::crm::normalise_email,
        time_util::from_ms,
        AppState,
    },
};

/// Filters of `GET /api/v1/customer-activity`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Part of the customer's email, case-insensitive.
    pub email: Option<String>,
    /// How many customers to return, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// A customer's email: return the customers after it.
    pub starting_after: Option<String>,
    /// A customer's email: return the customers before it.
    pub ending_before: Option<String>,
}

/// Payment events that mean "this payment took money"; a payment is counted once however many
/// of them it has.
const PAID_TYPES: &str = "'payment.captured', 'payment.succeeded'";

#[derive(FromRow)]
struct CustomerRow {
    customer_email: String,
    first_seen: i64,
    last_seen: i64,
    payments_count: i64,
    refunds_count: i64,
    disputes_count: i64,
}

#[derive(FromRow)]
struct ActivityRow {
    id: String,
    customer_email: String,
    event_id: String,
    event_type: String,
    object_id: Option<String>,
    amount: Option<i64>,
    currency: Option<String>,
    summary: String,
    occurred_at: i64,
}

const ACTIVITY_COLUMNS: &str = "id, customer_email, event_id, event_type, object_id, amount, currency, summary, occurred_at";

fn activity_out(r: ActivityRow) -> CustomerActivityOut {
    CustomerActivityOut {
        object: "customer_activity".into(),
        id: r.id,
        email: r.customer_email,
        event_id: r.event_id,
        event_type: r.event_type,
        object_id: r.object_id,
        amount: r.amount,
        currency: r.currency,
        summary: r.summary,
        occurred_at: from_ms(r.occurred_at),
    }
}

/// `%part%` for `LIKE … ESCAPE '\'`, lower-cased (emails are stored lower-cased).
fn like_pattern(part: &str) -> String {
    let escaped = part.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// Customers, most recently active first (ties by email), with their counts and totals.
pub async fn list(state: &AppState, access: &TenantAccess, query: &CustomerQuery) -> AppResult<List<CustomerActivitySummaryOut>> {
    access.require(Action::CustomersRead)?;
    let page = PageParams { limit: query.limit, starting_after: query.starting_after.clone(), ending_before: query.ending_before.clone() };
    let limit = page.validated_limit()?;
    let (cursor, after) = match (&page.starting_after, &page.ending_before) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid("parameters_exclusive", "starting_after and ending_before cannot be used together", Some("ending_before")))
        }
        (Some(e), None) => (Some((e.as_str(), "starting_after")), true),
        (None, Some(e)) => (Some((e.as_str(), "ending_before")), false),
        (None, None) => (None, true),
    };

    let mut binds: Vec<Bind> = vec![access.tenant_id.as_str().into()];
    let mut sql = format!(
        "SELECT customer_email, MIN(occurred_at) AS first_seen, MAX(occurred_at) AS last_seen,
             COUNT(DISTINCT CASE WHEN event_type IN ({PAID_TYPES}) THEN object_id END) AS payments_count,
             COUNT(DISTINCT CASE WHEN event_type = 'refund.succeeded' THEN object_id END) AS refunds_count,
             COUNT(DISTINCT CASE WHEN event_type LIKE 'dispute.%' THEN object_id END) AS disputes_count
         FROM customer_activity WHERE tenant_id = $1"
    );
    if let Some(part) = query.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        if part.len() > 254 {
            return Err(AppError::invalid("parameter_invalid", "email is too long", Some("email")));
        }
        binds.push(like_pattern(part).into());
        sql.push_str(&format!(" AND customer_email LIKE ${} ESCAPE '\\'", binds.len()));
    }
    sql.push_str(" GROUP BY customer_email");
    if let Some((raw, param)) = cursor {
        let email = normalise_email(raw).unwrap_or_default();
        let last_seen: Option<i64> = sqlx::query_scalar("SELECT MAX(occurred_at) FROM customer_activity WHERE tenant_id = $1 AND customer_email = $2")
            .bind(access.tenant_id.as_str())
            .bind(&email)
            .fetch_one(&state.db.pool)
            .await?;
        let last_seen = last_seen.ok_or_else(|| AppError::invalid("resource_missing", format!("No such customer: {raw}"), Some(param)))?;
        let cmp = if after { "<" } else { ">" };
        binds.push(last_seen.into());
        let t = binds.len();
        binds.push(email.into());
        let e = binds.len();
        sql.push_str(&format!(" HAVING (MAX(occurred_at) {cmp} ${t} OR (MAX(occurred_at) = ${t} AND customer_email {cmp} ${e}))"));
    }
    let dir = if after { "DESC" } else { "ASC" };
    sql.push_str(&format!(" ORDER BY last_seen {dir}, customer_email {dir} LIMIT {}", limit + 1));

    let mut rows: Vec<CustomerRow> = crate::ssr::db::page::bind_all(sqlx::query_as(&sql), &binds).fetch_all(&state.db.pool).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if !after {
        rows.reverse();
    }
    let totals = totals_paid(state, access, rows.iter().map(|r| r.customer_email.as_str())).await?;
    let data = rows
        .into_iter()
        .map(|r| CustomerActivitySummaryOut {
            object: "customer_activity_summary".into(),
            total_paid: totals.iter().filter(|(e, _)| *e == r.customer_email).map(|(_, a)| a.clone()).collect(),
            email: r.customer_email,
            first_seen: from_ms(r.first_seen),
            last_seen: from_ms(r.last_seen),
            payments_count: r.payments_count,
            refunds_count: r.refunds_count,
            disputes_count: r.disputes_count,
        })
        .collect();
    Ok(List::new(data, has_more))
}

/// Per customer and currency, what their payments took (each payment once, at its largest
/// recorded amount).
async fn totals_paid<'a>(state: &AppState, access: &TenantAccess, emails: impl Iterator<Item = &'a str>) -> AppResult<Vec<(String, AmountOut)>> {
    let mut binds: Vec<Bind> = vec![access.tenant_id.as_str().into()];
    let marks: Vec<String> = emails
        .map(|e| {
            binds.push(e.into());
            format!("${}", binds.len())
        })
        .collect();
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT customer_email, currency, CAST(SUM(amount) AS BIGINT) FROM (
             SELECT customer_email, object_id, currency, MAX(amount) AS amount FROM customer_activity
             WHERE tenant_id = $1 AND event_type IN ({PAID_TYPES}) AND customer_email IN ({}) AND currency IS NOT NULL
             GROUP BY customer_email, object_id, currency
         ) paid GROUP BY customer_email, currency ORDER BY customer_email, currency",
        marks.join(", ")
    );
    let rows: Vec<(String, String, Option<i64>)> = crate::ssr::db::page::bind_all(sqlx::query_as(&sql), &binds).fetch_all(&state.db.pool).await?;
    Ok(rows.into_iter().map(|(email, currency, amount)| (email, AmountOut { currency, amount: amount.unwrap_or(0) })).collect())
}

/// One customer's timeline, newest first. 404 for an email the tenant has no activity for
/// (another tenant's customer included).
pub async fn timeline(state: &AppState, access: &TenantAccess, email: &str, page: &PageParams) -> AppResult<List<CustomerActivityOut>> {
    access.require(Action::CustomersRead)?;
    let email = normalise_email(email).ok_or_else(|| AppError::not_found("customer"))?;
    let known: Option<i64> = sqlx::query_scalar("SELECT occurred_at FROM customer_activity WHERE tenant_id = $1 AND customer_email = $2 LIMIT 1")
        .bind(access.tenant_id.as_str())
        .bind(&email)
        .fetch_optional(&state.db.pool)
        .await?;
    if known.is_none() {
        return Err(AppError::not_found("customer"));
    }
    let listing = Listing {
        columns: ACTIVITY_COLUMNS,
        from_where: "FROM customer_activity WHERE tenant_id = $1 AND customer_email = $2",
        time_column: "occurred_at",
        key_column: "id",
        binds: vec![access.tenant_id.as_str().into(), email.into()],
    };
    let (rows, has_more): (Vec<ActivityRow>, bool) = listing.fetch(&state.db, page).await?;
    Ok(List::new(rows.into_iter().map(activity_out).collect(), has_more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_escape_like_wildcards_and_lower_case() {
        assert_eq!(like_pattern("Jane_Doe%"), "%jane\\_doe\\%%");
    }
}
