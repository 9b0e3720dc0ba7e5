//! Payment analytics per day and currency, as the analytics plugin counts them.

use app::{
    domain::{
        analytics::{AnalyticsDayOut, AnalyticsSummaryOut},
        dto::List,
    },
    ssr::{
        services::analytics::{self, DailyQuery},
        AppState,
    },
    AppError,
};
use axum::{extract::State, routing::get, Json, Router};

use super::extractors::{Query, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(daily, summary))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new().route("/analytics/daily", get(daily)).route("/analytics/summary", get(summary))
}

/// Per UTC day and currency, oldest first: payments succeeded and their volume, failed payments,
/// refunds that succeeded, disputes opened (amounts in minor units). Days without activity are
/// left out. `from` and `to` (`YYYY-MM-DD`, both included) default to the last 30 days and may
/// span at most 366 days.
#[utoipa::path(get, path = "/api/v1/analytics/daily", tag = "analytics", params(DailyQuery),
    responses((status = 200, body = List<AnalyticsDayOut>), (status = 400), (status = 403)))]
pub async fn daily(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<DailyQuery>) -> Result<Json<List<AnalyticsDayOut>>, AppError> {
    Ok(Json(analytics::daily(&state, &access, &q).await?))
}

/// The last 30 days (today, UTC, and the 29 before): per currency volume, payments, failures,
/// success rate, refunds and disputes; and the counts over all currencies.
#[utoipa::path(get, path = "/api/v1/analytics/summary", tag = "analytics", responses((status = 200, body = AnalyticsSummaryOut), (status = 403)))]
pub async fn summary(State(state): State<AppState>, Tenant(access): Tenant) -> Result<Json<AnalyticsSummaryOut>, AppError> {
    Ok(Json(analytics::summary(&state, &access).await?))
}
