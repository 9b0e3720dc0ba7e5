//! Customers by email and their activity timelines, as the crm-activity plugin records them.
//! (Stripe's own customer objects will live under `/customers`; this is not that.)

use app::{
    domain::{
        customer_activity::{CustomerActivityOut, CustomerActivitySummaryOut},
        dto::List,
    },
    ssr::{
        db::PageParams,
        services::customer_activity::{self, CustomerQuery},
        AppState,
    },
    AppError,
};
use axum::{extract::State, routing::get, Json, Router};

use super::extractors::{Path, Query, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_customers, customer_timeline))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new().route("/customer-activity", get(list_customers)).route("/customer-activity/{email}", get(customer_timeline))
}

/// Customers (by email), most recently active first, with their payment count, what they paid
/// per currency, refunds and disputes. `email` searches part of the address; the cursors
/// (`starting_after`, `ending_before`) are customers' emails.
#[utoipa::path(get, path = "/api/v1/customer-activity", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = List<CustomerActivitySummaryOut>), (status = 400), (status = 403)))]
pub async fn list_customers(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<CustomerQuery>) -> Result<Json<List<CustomerActivitySummaryOut>>, AppError> {
    Ok(Json(customer_activity::list(&state, &access, &q).await?))
}

/// One customer's timeline, newest first (the email URL-encoded, any case). 404 when this tenant
/// has no activity for the address.
#[utoipa::path(get, path = "/api/v1/customer-activity/{email}", tag = "customers", params(("email" = String, Path), PageParams),
    responses((status = 200, body = List<CustomerActivityOut>), (status = 403), (status = 404)))]
pub async fn customer_timeline(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(email): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Json<List<CustomerActivityOut>>, AppError> {
    Ok(Json(customer_activity::timeline(&state, &access, &email, &page).await?))
}
