//! API keys of the active tenant.

use leptos::prelude::*;

use crate::{
    domain::dto::{ApiKeyCreated, ApiKeyOut},
    error::AppError,
};

#[server(prefix = "/sfn")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(100), ..Default::default() };
    Ok(crate::ssr::services::api_keys::list(&caller.state, &access, &page).await?.data)
}

/// Creates a key; the response is the only time its secret is ever shown.
#[server(prefix = "/sfn")]
pub async fn create_api_key(name: String, role: String, mode: String) -> Result<ApiKeyCreated, AppError> {
    use crate::{domain::{Name, Role}, ssr::services::api_keys::{self, KeyMode}};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let role = Role::parse_param(&role)?;
    api_keys::create(&caller.state, &access, Name::parse(&name, "name")?, role, KeyMode::parse(Some(&mode))?).await
}

#[server(prefix = "/sfn")]
pub async fn revoke_api_key(id: String) -> Result<ApiKeyOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::api_keys::revoke(&caller.state, &access, &id).await
}
