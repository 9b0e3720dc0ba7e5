//! The tenant switcher and tenant creation.

use leptos::prelude::*;

use crate::{domain::dto::TenantOut, error::AppError};

/// Makes `tenant_id` the session's active tenant (only a tenant the user belongs to).
#[server(prefix = "/sfn")]
pub async fn switch_tenant(tenant_id: String) -> Result<TenantOut, AppError> {
    use crate::ssr::{auth::principal::{session_error, SESSION_TENANT_KEY}, services::tenants};
    let caller = super::context::caller().await?;
    let principal = caller.principal().await?;
    let tenant = tenants::switchable(&caller.state, &principal, &tenant_id).await?;
    caller.session.insert(SESSION_TENANT_KEY, tenant.id.to_string()).await.map_err(session_error)?;
    leptos_axum::redirect("/");
    Ok(tenant)
}

/// Creates a tenant owned by the user and switches to it.
#[server(prefix = "/sfn")]
pub async fn create_tenant(name: String) -> Result<TenantOut, AppError> {
    use crate::{domain::Name, ssr::{auth::principal::{session_error, SESSION_TENANT_KEY}, services::tenants}};
    let caller = super::context::caller().await?;
    let principal = caller.principal().await?;
    let tenant = tenants::create(&caller.state, &principal, Name::parse(&name, "name")?).await?;
    caller.session.insert(SESSION_TENANT_KEY, tenant.id.to_string()).await.map_err(session_error)?;
    leptos_axum::redirect("/");
    Ok(tenant)
}
