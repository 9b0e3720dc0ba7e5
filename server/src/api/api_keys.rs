//! API keys of the current tenant.

use app::{
    domain::{dto::*, Name, Role},
    ssr::{
        db::PageParams,
        services::api_keys::{self, KeyMode},
        AppState,
    },
    AppError,
};
use axum::{
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get},
    Json as JsonOut, Router,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extractors::{Json, Path, Query, Tenant};

pub fn router() -> Router<AppState> {
    Router::new().route("/api-keys", get(list).post(create)).route("/api-keys/{id}", delete(revoke))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    pub name: String,
    /// The key's role, at most the creator's (default `developer`).
    pub role: Option<String>,
    /// `test` (default) or `live`.
    pub mode: Option<String>,
}

/// Creates a key. The `secret` in the response is shown this once and never stored.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api_keys", request_body = ApiKeyIn,
    responses((status = 201, body = ApiKeyCreated), (status = 403, description = "Role too low, or key role above the creator's")))]
pub async fn create(State(state): State<AppState>, Tenant(access): Tenant, Json(body): Json<ApiKeyIn>) -> Result<impl IntoResponse, AppError> {
    let role = match body.role.as_deref() {
        None => Role::Developer,
        Some(raw) => Role::parse_param(raw)?,
    };
    let created = api_keys::create(&state, &access, Name::parse(&body.name, "name")?, role, KeyMode::parse(body.mode.as_deref())?).await?;
    Ok((StatusCode::CREATED, JsonOut(created)))
}

/// Lists keys by prefix and last four characters, newest first.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api_keys", params(PageParams), responses((status = 200, body = List<ApiKeyOut>)))]
pub async fn list(State(state): State<AppState>, Tenant(access): Tenant, Query(page): Query<PageParams>) -> Result<JsonOut<List<ApiKeyOut>>, AppError> {
    Ok(JsonOut(api_keys::list(&state, &access, &page).await?))
}

/// Revokes a key; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api_keys", responses((status = 200, body = ApiKeyOut), (status = 404)))]
pub async fn revoke(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<ApiKeyOut>, AppError> {
    Ok(JsonOut(api_keys::revoke(&state, &access, &id).await?))
}
