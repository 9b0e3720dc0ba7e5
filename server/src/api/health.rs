//! Liveness (`/health`: the process answers) and readiness (`/api/v1/health`: the DB answers).

use app::{
    domain::dto::HealthOut,
    ssr::{
        bus::queries::{self, Scope},
        AppState,
    },
    AppError,
};
use axum::{extract::State, routing::get, Json, Router};

pub fn liveness_router() -> Router<AppState> {
    Router::new().route("/health", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
}

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(readiness))
}

/// Readiness: 200 when the database answers — `status` is `degraded` when the bus backlog or
/// its dead letters pass their thresholds — and 503 with the error object when it does not.
#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, body = HealthOut), (status = 503, description = "Database unavailable")))]
pub async fn readiness(State(state): State<AppState>) -> Result<Json<HealthOut>, AppError> {
    state.db.ping().await?;
    let bus = queries::health(&state.db, &Scope::Global, state.bus.now_ms()).await?;
    let degraded = bus.backlog > state.config.bus.health_max_backlog || bus.dead > state.config.bus.health_max_dead;
    Ok(Json(HealthOut {
        status: if degraded { "degraded" } else { "ok" }.into(),
        database: format!("{:?}", state.db.dialect).to_lowercase(),
        bus: Some(bus),
    }))
}
