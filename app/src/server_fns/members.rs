//! Members and invitations of the active tenant.

use leptos::prelude::*;

use crate::{
    domain::dto::{InvitationOut, MemberOut, TenantOut},
    error::AppError,
};

#[server(prefix = "/sfn")]
pub async fn list_members() -> Result<Vec<MemberOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(100), ..Default::default() };
    Ok(crate::ssr::services::members::list(&caller.state, &access, &page).await?.data)
}

#[server(prefix = "/sfn")]
pub async fn change_member_role(user_id: String, role: String) -> Result<MemberOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::members::change_role(&caller.state, &access, &user_id, crate::domain::Role::parse_param(&role)?).await
}

#[server(prefix = "/sfn")]
pub async fn remove_member(user_id: String) -> Result<(), AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::members::remove(&caller.state, &access, &user_id).await
}

#[server(prefix = "/sfn")]
pub async fn list_invitations() -> Result<Vec<InvitationOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(100), ..Default::default() };
    Ok(crate::ssr::services::members::list_invitations(&caller.state, &access, &page).await?.data)
}

#[server(prefix = "/sfn")]
pub async fn invite_member(email: String, role: String) -> Result<InvitationOut, AppError> {
    use crate::domain::EmailAddress;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::members::invite(&caller.state, &access, EmailAddress::parse(&email)?, crate::domain::Role::parse_param(&role)?).await
}

#[server(prefix = "/sfn")]
pub async fn revoke_invitation(id: String) -> Result<InvitationOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::members::revoke_invitation(&caller.state, &access, &id).await
}

/// Accepts an invitation for the signed-in user and switches to its tenant.
#[server(prefix = "/sfn")]
pub async fn accept_invitation(token: String) -> Result<TenantOut, AppError> {
    use crate::ssr::auth::principal::{session_error, SESSION_TENANT_KEY};
    let caller = super::context::caller().await?;
    let principal = caller.principal().await?;
    let tenant = crate::ssr::services::members::accept_invitation(&caller.state, &principal, &token).await?;
    caller.session.insert(SESSION_TENANT_KEY, tenant.id.to_string()).await.map_err(session_error)?;
    leptos_axum::redirect("/");
    Ok(tenant)
}
