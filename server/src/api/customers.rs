//! Customers mirrored from Stripe with their credit balances, and the tenant's currencies.
//! A balance transaction moves money: it is in [`money_router`], behind `Idempotency-Key`.

use app::{
    domain::{
        balances::{BalanceTransactionIn, BalanceTransactionOut, CurrencyIn, CurrencyOut, CustomerDetailOut, CustomerOut},
        dto::List,
    },
    ssr::{
        db::PageParams,
        services::{
            balances, currencies,
            customers::{self, CustomerListQuery},
        },
        AppState,
    },
    AppError,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json as JsonOut, Router,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extractors::{Json, Path, Query, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_currencies, set_currency, list_customers, export_customers, customer, balance_transactions, create_balance_transaction))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/currencies", get(list_currencies).post(set_currency))
        .route("/customers", get(list_customers))
        .route("/customers/export.csv", get(export_customers))
        .route("/customers/{id}", get(customer))
        .route("/customers/{id}/balance-transactions", get(balance_transactions))
}

/// POSTs that move money: `Idempotency-Key` required, repeats answered from the records.
pub fn money_router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/balance-transactions", post(create_balance_transaction))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::middleware::idempotency::enforce))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CurrencyQuery {
    /// Only the enabled (`true`) or the disabled (`false`) currencies.
    pub enabled: Option<bool>,
}

/// Every supported ISO currency with whether this tenant accepts amounts in it, alphabetically
/// (one page: `has_more` is always false). A new tenant has its default currency enabled only;
/// amounts in any other currency are refused with `currency_disabled` (422) until it is activated.
#[utoipa::path(get, path = "/api/v1/currencies", tag = "currencies", params(CurrencyQuery),
    responses((status = 200, body = List<CurrencyOut>), (status = 403)))]
pub async fn list_currencies(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Query(q): Query<CurrencyQuery>,
) -> Result<JsonOut<List<CurrencyOut>>, AppError> {
    Ok(JsonOut(currencies::list(&state, &access, q.enabled).await?))
}

/// Activates (`enabled: true`) or deactivates (`enabled: false`) a currency; publishes
/// `currency.activated` / `currency.deactivated` when that changes anything. The default currency
/// cannot be deactivated (409 `currency_is_default`).
#[utoipa::path(post, path = "/api/v1/currencies", tag = "currencies", request_body = CurrencyIn,
    responses((status = 200, body = CurrencyOut), (status = 400, description = "Not a supported ISO currency"), (status = 403), (status = 409)))]
pub async fn set_currency(State(state): State<AppState>, Tenant(access): Tenant, Json(body): Json<CurrencyIn>) -> Result<JsonOut<CurrencyOut>, AppError> {
    Ok(JsonOut(currencies::set(&state, &access, body).await?))
}

/// Customers mirrored from Stripe, newest first, with their credit balances. `email` and `name`
/// search part of either (case-insensitive); cursors are customer ids.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerListQuery),
    responses((status = 200, body = List<CustomerOut>), (status = 400), (status = 403)))]
pub async fn list_customers(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Query(q): Query<CustomerListQuery>,
) -> Result<JsonOut<List<CustomerOut>>, AppError> {
    Ok(JsonOut(customers::list(&state, &access, &q).await?))
}

/// The filtered customer list as CSV (`id,created,email,name,country,currency,deleted,balances`),
/// without Stripe ids.
#[utoipa::path(get, path = "/api/v1/customers/export.csv", tag = "customers", params(CustomerListQuery),
    responses((status = 200, content_type = "text/csv"), (status = 403)))]
pub async fn export_customers(State(state): State<AppState>, Tenant(access): Tenant, Query(mut q): Query<CustomerListQuery>) -> Result<Response, AppError> {
    q.limit = None;
    q.starting_after = None;
    q.ending_before = None;
    let csv = customers::export_csv(&state, &access, &q).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"customers.csv\"")], csv).into_response())
}

/// One customer: balances, subscriptions, invoices (with overdue flags), payments (by email and
/// by invoice), the newest ledger entries and the crm-activity timeline (null for roles that may
/// not read customer activity).
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    responses((status = 200, body = CustomerDetailOut), (status = 403), (status = 404)))]
pub async fn customer(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<CustomerDetailOut>, AppError> {
    Ok(JsonOut(customers::detail(&state, &access, &id).await?))
}

/// The customer's balance ledger, newest first (append-only).
#[utoipa::path(get, path = "/api/v1/customers/{id}/balance-transactions", tag = "customers", params(PageParams),
    responses((status = 200, body = List<BalanceTransactionOut>), (status = 403), (status = 404)))]
pub async fn balance_transactions(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<JsonOut<List<BalanceTransactionOut>>, AppError> {
    Ok(JsonOut(balances::ledger(&state, &access, &id, &page).await?))
}

/// Credits or debits the customer's balance (`Idempotency-Key` required). A debit the balance
/// cannot cover is refused (422 `balance_insufficient`) unless the tenant allows negative
/// balances; a currency the tenant has not enabled is refused (422 `currency_disabled`).
#[utoipa::path(post, path = "/api/v1/customers/{id}/balance-transactions", tag = "customers", request_body = BalanceTransactionIn,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = BalanceTransactionOut), (status = 400), (status = 403), (status = 404), (status = 422)))]
pub async fn create_balance_transaction(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(id): Path<String>,
    Json(body): Json<BalanceTransactionIn>,
) -> Result<(StatusCode, JsonOut<BalanceTransactionOut>), AppError> {
    Ok((StatusCode::CREATED, JsonOut(balances::create(&state, &access, &id, body).await?)))
}
