//! Tenants: the caller's list, creating one, the current one, the default one.

use app::{
    domain::{dto::*, Name},
    ssr::{services::tenants, AppState},
    AppError,
};
use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::{get, post}, Json as JsonOut, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extractors::{Caller, Json, Tenant};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants", get(list).post(create))
        .route("/tenant", get(current).post(update))
        .route("/me/default-tenant", post(set_default))
}

/// The tenants the caller belongs to (an API key: its own tenant).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", responses((status = 200, body = List<TenantOut>)))]
pub async fn list(State(state): State<AppState>, Caller(who): Caller) -> Result<JsonOut<List<TenantOut>>, AppError> {
    Ok(JsonOut(tenants::list(&state, &who).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantIn {
    pub name: String,
}

/// Creates a tenant owned by the calling user.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = TenantIn,
    responses((status = 201, body = TenantOut), (status = 403, description = "API keys cannot create tenants")))]
pub async fn create(State(state): State<AppState>, Caller(who): Caller, Json(body): Json<TenantIn>) -> Result<impl IntoResponse, AppError> {
    let tenant = tenants::create(&state, &who, Name::parse(&body.name, "name")?).await?;
    Ok((StatusCode::CREATED, JsonOut(tenant)))
}

/// The tenant this request acts in (`X-Tenant-Id`, the session's, or the default).
#[utoipa::path(get, path = "/api/v1/tenant", tag = "tenants", params(("X-Tenant-Id" = Option<String>, Header, description = "Tenant to act in")),
    responses((status = 200, body = TenantOut), (status = 403, description = "Not a member of that tenant")))]
pub async fn current(State(state): State<AppState>, Tenant(access): Tenant) -> Result<JsonOut<TenantOut>, AppError> {
    Ok(JsonOut(tenants::current(&state, &access).await?))
}

/// Renames the current tenant (owner, admin).
#[utoipa::path(post, path = "/api/v1/tenant", tag = "tenants", request_body = TenantIn, responses((status = 200, body = TenantOut)))]
pub async fn update(State(state): State<AppState>, Tenant(access): Tenant, Json(body): Json<TenantIn>) -> Result<JsonOut<TenantOut>, AppError> {
    Ok(JsonOut(tenants::rename(&state, &access, Name::parse(&body.name, "name")?).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultTenantIn {
    pub tenant_id: String,
}

/// Sets the tenant used when a request names none.
#[utoipa::path(post, path = "/api/v1/me/default-tenant", tag = "tenants", request_body = DefaultTenantIn,
    responses((status = 200, body = TenantOut), (status = 403, description = "Not a member")))]
pub async fn set_default(State(state): State<AppState>, Caller(who): Caller, Json(body): Json<DefaultTenantIn>) -> Result<JsonOut<TenantOut>, AppError> {
    Ok(JsonOut(tenants::set_default(&state, &who, &body.tenant_id).await?))
}
