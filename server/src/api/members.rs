//! Members and invitations of the current tenant.

use app::{
    domain::{dto::*, EmailAddress, Role},
    ssr::{db::PageParams, services::members, AppState},
    AppError,
};
use axum::{
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, post},
    Json as JsonOut, Router,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extractors::{Caller, Json, Path, Query, Tenant};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/members", axum::routing::get(list))
        .route("/members/{user_id}", post(change_role).delete(remove))
        .route("/invitations", axum::routing::get(list_invitations).post(invite))
        .route("/invitations/{id}", delete(revoke_invitation))
        .route("/invitations/accept", post(accept))
}

#[utoipa::path(get, path = "/api/v1/members", tag = "members", params(PageParams), responses((status = 200, body = List<MemberOut>)))]
pub async fn list(State(state): State<AppState>, Tenant(access): Tenant, Query(page): Query<PageParams>) -> Result<JsonOut<List<MemberOut>>, AppError> {
    Ok(JsonOut(members::list(&state, &access, &page).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    pub role: String,
}

/// Changes a member's role (owner only; the last owner cannot be demoted).
#[utoipa::path(post, path = "/api/v1/members/{user_id}", tag = "members", request_body = RoleIn,
    responses((status = 200, body = MemberOut), (status = 404, description = "No such member in this tenant"),
              (status = 422, description = "Would leave the tenant without an owner")))]
pub async fn change_role(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(user_id): Path<String>,
    Json(body): Json<RoleIn>,
) -> Result<JsonOut<MemberOut>, AppError> {
    Ok(JsonOut(members::change_role(&state, &access, &user_id, Role::parse_param(&body.role)?).await?))
}

/// Removes a member (owner only).
#[utoipa::path(delete, path = "/api/v1/members/{user_id}", tag = "members", responses((status = 204), (status = 404)))]
pub async fn remove(State(state): State<AppState>, Tenant(access): Tenant, Path(user_id): Path<String>) -> Result<StatusCode, AppError> {
    members::remove(&state, &access, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/invitations", tag = "members", params(PageParams), responses((status = 200, body = List<InvitationOut>)))]
pub async fn list_invitations(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Query(page): Query<PageParams>,
) -> Result<JsonOut<List<InvitationOut>>, AppError> {
    Ok(JsonOut(members::list_invitations(&state, &access, &page).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteIn {
    pub email: String,
    pub role: String,
}

/// Invites an email address with a role no higher than the inviter's; the link is emailed.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "members", request_body = InviteIn,
    responses((status = 201, body = InvitationOut), (status = 409, description = "Already a member")))]
pub async fn invite(State(state): State<AppState>, Tenant(access): Tenant, Json(body): Json<InviteIn>) -> Result<impl IntoResponse, AppError> {
    let invitation = members::invite(&state, &access, EmailAddress::parse(&body.email)?, Role::parse_param(&body.role)?).await?;
    Ok((StatusCode::CREATED, JsonOut(invitation)))
}

#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "members", responses((status = 200, body = InvitationOut), (status = 404)))]
pub async fn revoke_invitation(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<InvitationOut>, AppError> {
    Ok(JsonOut(members::revoke_invitation(&state, &access, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptIn {
    pub token: String,
}

/// Accepts an invitation sent to the caller's email address.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "members", request_body = AcceptIn,
    responses((status = 200, body = TenantOut), (status = 400, description = "Invalid or expired"),
              (status = 403, description = "Sent to another address")))]
pub async fn accept(State(state): State<AppState>, Caller(who): Caller, Json(body): Json<AcceptIn>) -> Result<JsonOut<TenantOut>, AppError> {
    Ok(JsonOut(members::accept_invitation(&state, &who, &body.token).await?))
}
