//! Liveness (`/health`: the process answers) and readiness (`/api/v1/health`: the DB answers).

use app::{domain::dto::HealthOut, ssr::AppState, AppError};
use axum::{extract::State, routing::get, Json, Router};

pub fn liveness_router() -> Router<AppState> {
    Router::new().route("/health", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
}

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(readiness))
}

/// Readiness: 200 when the database answers, 503 with the error object when it does not.
#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, body = HealthOut), (status = 503, description = "Database unavailable")))]
pub async fn readiness(State(state): State<AppState>) -> Result<Json<HealthOut>, AppError> {
    state.db.ping().await?;
    Ok(Json(HealthOut { status: "ok".into(), database: format!("{:?}", state.db.dialect).to_lowercase() }))
}
