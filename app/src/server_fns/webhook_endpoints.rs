//! Outbound webhook endpoints from the dashboard.

use leptos::prelude::*;

use crate::{
    domain::{dto::List, webhooks::*},
    error::AppError,
};

#[server(prefix = "/sfn")]
pub async fn list_webhook_endpoints() -> Result<Vec<WebhookEndpointOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(100), ..Default::default() };
    Ok(crate::ssr::services::webhook_endpoints::list(&caller.state, &access, &page).await?.data)
}

/// The create form: events comma- or space-separated (empty means `*`); an unchecked
/// checkbox sends nothing.
#[server(prefix = "/sfn")]
pub async fn create_webhook_endpoint(url: String, description: String, events: String, payload_style: String, ordered: Option<String>) -> Result<WebhookEndpointWithSecret, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let events: Vec<String> = events.split([',', ' ', '\n']).map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect();
    let input = WebhookEndpointIn {
        url,
        description: Some(description),
        events: (!events.is_empty()).then_some(events),
        payload_style: Some(payload_style),
        ordered: Some(ordered.is_some()),
        rate_limit_per_sec: None,
    };
    crate::ssr::services::webhook_endpoints::create(&caller.state, &access, input).await
}

#[server(prefix = "/sfn")]
pub async fn get_webhook_endpoint(id: String) -> Result<WebhookEndpointOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::webhook_endpoints::get(&caller.state, &access, &id).await
}

/// `active` is `true` or `false`.
#[server(prefix = "/sfn")]
pub async fn set_webhook_endpoint_active(id: String, active: String) -> Result<WebhookEndpointOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let patch = WebhookEndpointPatch { active: Some(active == "true"), ..Default::default() };
    crate::ssr::services::webhook_endpoints::update(&caller.state, &access, &id, patch).await
}

#[server(prefix = "/sfn")]
pub async fn delete_webhook_endpoint(id: String) -> Result<WebhookEndpointOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::webhook_endpoints::delete(&caller.state, &access, &id).await
}

/// A new secret, shown once; the old one keeps signing for `overlap_hours` (default 24).
#[server(prefix = "/sfn")]
pub async fn rotate_webhook_secret(id: String, overlap_hours: String) -> Result<WebhookEndpointWithSecret, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let hours = overlap_hours.trim();
    let overlap_seconds = if hours.is_empty() {
        None
    } else {
        let h: i64 = hours.parse().map_err(|_| AppError::invalid("overlap_invalid", "the overlap must be a whole number of hours", Some("overlap_hours")))?;
        Some(h.saturating_mul(3600))
    };
    crate::ssr::services::webhook_endpoints::rotate_secret(&caller.state, &access, &id, RotateSecretIn { overlap_seconds }).await
}

#[server(prefix = "/sfn")]
pub async fn webhook_messages(id: String) -> Result<List<WebhookMessageOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(50), ..Default::default() };
    crate::ssr::services::webhook_endpoints::messages(&caller.state, &access, &id, &page).await
}

#[server(prefix = "/sfn")]
pub async fn webhook_attempts(id: String) -> Result<List<WebhookAttemptOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(50), ..Default::default() };
    crate::ssr::services::webhook_endpoints::attempts(&caller.state, &access, &id, None, &page).await
}

#[server(prefix = "/sfn")]
pub async fn resend_webhook_message(id: String, message_id: String) -> Result<WebhookMessageOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::webhook_endpoints::resend(&caller.state, &access, &id, &message_id).await
}

#[server(prefix = "/sfn")]
pub async fn send_webhook_test(id: String) -> Result<WebhookMessageOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::webhook_endpoints::send_test(&caller.state, &access, &id).await
}
