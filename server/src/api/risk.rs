//! The risk review queue of the current tenant: payments the `risk` plugin flagged, with the
//! reasons, and the reviewer's verdict (mark safe, mark fraudulent).

use app::{
    domain::{dto::List, risk::*},
    ssr::{
        services::risk::{self, ReviewQuery, Verdict},
        AppState,
    },
    AppError,
};
use axum::{
    body::Bytes,
    extract::State,
    routing::{get, post},
    Json as JsonOut, Router,
};

use super::extractors::{Path, Query, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, detail, mark_safe, mark_fraudulent))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/risk/reviews", get(list))
        .route("/risk/reviews/{payment_id}", get(detail))
        .route("/risk/reviews/{payment_id}/mark-safe", post(mark_safe))
        .route("/risk/reviews/{payment_id}/mark-fraudulent", post(mark_fraudulent))
}

/// Flagged payments, newest first, with their score and reasons; `status=open` is the queue.
#[utoipa::path(get, path = "/api/v1/risk/reviews", tag = "risk", params(ReviewQuery), responses((status = 200, body = List<RiskReviewOut>), (status = 400)))]
pub async fn list(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<ReviewQuery>) -> Result<JsonOut<List<RiskReviewOut>>, AppError> {
    Ok(JsonOut(risk::list(&state, &access, &q).await?))
}

/// The review of one flagged payment (`pay_…`).
#[utoipa::path(get, path = "/api/v1/risk/reviews/{payment_id}", tag = "risk", responses((status = 200, body = RiskReviewOut), (status = 404)))]
pub async fn detail(State(state): State<AppState>, Tenant(access): Tenant, Path(payment_id): Path<String>) -> Result<JsonOut<RiskReviewOut>, AppError> {
    Ok(JsonOut(risk::get(&state, &access, &payment_id).await?))
}

/// Closes an open review as safe (`payment.marked_safe`). A closed review answers 409.
#[utoipa::path(post, path = "/api/v1/risk/reviews/{payment_id}/mark-safe", tag = "risk", request_body(content = RiskReviewIn, description = "Optional"),
    responses((status = 200, body = RiskReviewOut), (status = 404), (status = 409, description = "The review is already closed")))]
pub async fn mark_safe(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(payment_id): Path<String>,
    body: Bytes,
) -> Result<JsonOut<RiskReviewOut>, AppError> {
    Ok(JsonOut(risk::decide(&state, &access, &payment_id, Verdict::Safe, input(&body)?).await?))
}

/// Closes an open review as fraudulent and publishes `payment.reported_fraudulent`. A closed
/// review answers 409.
#[utoipa::path(post, path = "/api/v1/risk/reviews/{payment_id}/mark-fraudulent", tag = "risk", request_body(content = RiskReviewIn, description = "Optional"),
    responses((status = 200, body = RiskReviewOut), (status = 404), (status = 409, description = "The review is already closed")))]
pub async fn mark_fraudulent(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(payment_id): Path<String>,
    body: Bytes,
) -> Result<JsonOut<RiskReviewOut>, AppError> {
    Ok(JsonOut(risk::decide(&state, &access, &payment_id, Verdict::Fraudulent, input(&body)?).await?))
}

/// The body is optional: empty means no note.
fn input(body: &[u8]) -> Result<RiskReviewIn, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RiskReviewIn::default());
    }
    serde_json::from_slice(body).map_err(|e| AppError::invalid("parameter_invalid", format!("Invalid body: {e}"), None))
}
