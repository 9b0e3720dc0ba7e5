//! Outbound webhook endpoints of the current tenant (Standard Webhooks): endpoints, their
//! messages and attempts, secret rotation, resend and test.

use app::{
    domain::{dto::List, webhooks::*},
    ssr::{db::PageParams, services::webhook_endpoints as endpoints, AppState},
    AppError,
};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json as JsonOut, Router,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extractors::{Json, Path, Query, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, detail, update, delete, rotate_secret, messages, attempts, resend, send_test))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook-endpoints", get(list).post(create))
        .route("/webhook-endpoints/{id}", get(detail).patch(update).delete(delete))
        .route("/webhook-endpoints/{id}/rotate-secret", post(rotate_secret))
        .route("/webhook-endpoints/{id}/messages", get(messages))
        .route("/webhook-endpoints/{id}/messages/{message_id}/resend", post(resend))
        .route("/webhook-endpoints/{id}/attempts", get(attempts))
        .route("/webhook-endpoints/{id}/test", post(send_test))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttemptsQuery {
    /// Only this message's attempts.
    pub message_id: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

/// Creates an endpoint. The `secret` (`whsec_…`) in the response is shown this once.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints", tag = "webhook_endpoints", request_body = WebhookEndpointIn,
    responses((status = 201, body = WebhookEndpointWithSecret), (status = 400, description = "Invalid URL (private/loopback targets are refused), events or style")))]
pub async fn create(State(state): State<AppState>, Tenant(access): Tenant, Json(body): Json<WebhookEndpointIn>) -> Result<(StatusCode, JsonOut<WebhookEndpointWithSecret>), AppError> {
    Ok((StatusCode::CREATED, JsonOut(endpoints::create(&state, &access, body).await?)))
}

/// The tenant's endpoints, newest first.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints", tag = "webhook_endpoints", params(PageParams), responses((status = 200, body = List<WebhookEndpointOut>)))]
pub async fn list(State(state): State<AppState>, Tenant(access): Tenant, Query(page): Query<PageParams>) -> Result<JsonOut<List<WebhookEndpointOut>>, AppError> {
    Ok(JsonOut(endpoints::list(&state, &access, &page).await?))
}

#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}", tag = "webhook_endpoints", responses((status = 200, body = WebhookEndpointOut), (status = 404)))]
pub async fn detail(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<WebhookEndpointOut>, AppError> {
    Ok(JsonOut(endpoints::get(&state, &access, &id).await?))
}

/// Changes the fields sent; `active: false` disables the endpoint, `active: true` enables it again.
#[utoipa::path(patch, path = "/api/v1/webhook-endpoints/{id}", tag = "webhook_endpoints", request_body = WebhookEndpointPatch,
    responses((status = 200, body = WebhookEndpointOut), (status = 400), (status = 404)))]
pub async fn update(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>, Json(patch): Json<WebhookEndpointPatch>) -> Result<JsonOut<WebhookEndpointOut>, AppError> {
    Ok(JsonOut(endpoints::update(&state, &access, &id, patch).await?))
}

/// Deletes the endpoint; its queued messages are not sent.
#[utoipa::path(delete, path = "/api/v1/webhook-endpoints/{id}", tag = "webhook_endpoints", responses((status = 200, body = WebhookEndpointOut), (status = 404)))]
pub async fn delete(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<WebhookEndpointOut>, AppError> {
    Ok(JsonOut(endpoints::delete(&state, &access, &id).await?))
}

/// A new signing secret, shown once; the old one keeps signing beside it for `overlap_seconds`
/// (default 86400), so `webhook-signature` carries both meanwhile.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/rotate-secret", tag = "webhook_endpoints", request_body = RotateSecretIn,
    responses((status = 200, body = WebhookEndpointWithSecret), (status = 404)))]
pub async fn rotate_secret(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>, body: axum::body::Bytes) -> Result<JsonOut<WebhookEndpointWithSecret>, AppError> {
    // The body is optional: an empty POST rotates with the default overlap.
    let input: RotateSecretIn = if body.iter().all(u8::is_ascii_whitespace) {
        RotateSecretIn::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| AppError::invalid("parameter_invalid", format!("Invalid request body: {e}"), None))?
    };
    Ok(JsonOut(endpoints::rotate_secret(&state, &access, &id, input).await?))
}

/// The messages queued for this endpoint (one per event), newest first.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}/messages", tag = "webhook_endpoints", params(PageParams),
    responses((status = 200, body = List<WebhookMessageOut>), (status = 404)))]
pub async fn messages(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>, Query(page): Query<PageParams>) -> Result<JsonOut<List<WebhookMessageOut>>, AppError> {
    Ok(JsonOut(endpoints::messages(&state, &access, &id, &page).await?))
}

/// Every HTTP attempt (status code, latency, first kilobyte of the response), newest first.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}/attempts", tag = "webhook_endpoints", params(AttemptsQuery),
    responses((status = 200, body = List<WebhookAttemptOut>), (status = 404)))]
pub async fn attempts(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>, Query(q): Query<AttemptsQuery>) -> Result<JsonOut<List<WebhookAttemptOut>>, AppError> {
    let page = PageParams { limit: q.limit, starting_after: q.starting_after, ending_before: q.ending_before };
    Ok(JsonOut(endpoints::attempts(&state, &access, &id, q.message_id.as_deref(), &page).await?))
}

/// Sends a message again now, whatever its status (the attempt is recorded as `manual`).
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/messages/{message_id}/resend", tag = "webhook_endpoints",
    responses((status = 200, body = WebhookMessageOut), (status = 404), (status = 409, description = "Endpoint disabled, or the message is being sent")))]
pub async fn resend(State(state): State<AppState>, Tenant(access): Tenant, Path((id, message_id)): Path<(String, String)>) -> Result<JsonOut<WebhookMessageOut>, AppError> {
    Ok(JsonOut(endpoints::resend(&state, &access, &id, &message_id).await?))
}

/// Sends a synthetic `endpoint.test_sent` event to this endpoint only.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/test", tag = "webhook_endpoints",
    responses((status = 201, body = WebhookMessageOut), (status = 404), (status = 409)))]
pub async fn send_test(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<(StatusCode, JsonOut<WebhookMessageOut>), AppError> {
    Ok((StatusCode::CREATED, JsonOut(endpoints::send_test(&state, &access, &id).await?)))
}
