//! Settings and the payment audit log from the dashboard. Secrets are only ever shown masked;
//! the form sends the mask back for a secret it does not change, which keeps it.

use leptos::prelude::*;

use crate::{
    domain::{
        dto::List,
        settings::{PaymentAuditOut, SettingsAuditOut, SettingsOut},
    },
    error::AppError,
};

#[server(prefix = "/sfn")]
pub async fn get_settings() -> Result<SettingsOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::settings::get(&caller.state, &access).await
}

#[server(prefix = "/sfn")]
pub async fn settings_audit() -> Result<List<SettingsAuditOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(20), ..Default::default() };
    crate::ssr::services::settings::audit(&caller.state, &access, &page).await
}

/// The general settings form. An unchecked checkbox sends nothing, so `None` means off.
#[server(prefix = "/sfn")]
pub async fn save_settings(payments_enabled: Option<String>, default_currency: String, notification_emails: String, stripe_secret_key: String) -> Result<SettingsOut, AppError> {
    use crate::domain::settings::SettingsPatch;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let emails = notification_emails.split([',', '\n', ' ']).map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect();
    let patch = SettingsPatch {
        payments_enabled: Some(payments_enabled.is_some()),
        default_currency: Some(default_currency),
        notification_emails: Some(emails),
        stripe_secret_key: Some(stripe_secret_key),
        webhook_secrets: None,
        allow_negative_balances: None,
    };
    crate::ssr::services::settings::update(&caller.state, &access, patch).await
}

/// Adds a webhook signing secret next to the stored ones (the first half of a rotation).
#[server(prefix = "/sfn")]
pub async fn add_webhook_secret(secret: String) -> Result<SettingsOut, AppError> {
    use crate::domain::settings::SettingsPatch;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let mut list = crate::ssr::services::settings::get(&caller.state, &access).await?.webhook_secrets;
    list.push(secret);
    let patch = SettingsPatch { webhook_secrets: Some(list), ..Default::default() };
    crate::ssr::services::settings::update(&caller.state, &access, patch).await
}

/// Removes the stored secret with this mask (the second half of a rotation).
#[server(prefix = "/sfn")]
pub async fn remove_webhook_secret(mask: String) -> Result<SettingsOut, AppError> {
    use crate::domain::settings::SettingsPatch;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let list: Vec<String> = crate::ssr::services::settings::get(&caller.state, &access).await?.webhook_secrets.into_iter().filter(|m| *m != mask).collect();
    let patch = SettingsPatch { webhook_secrets: Some(list), ..Default::default() };
    crate::ssr::services::settings::update(&caller.state, &access, patch).await
}

#[server(prefix = "/sfn")]
pub async fn payment_audit_log(action: Option<String>, starting_after: Option<String>) -> Result<List<PaymentAuditOut>, AppError> {
    use crate::ssr::services::payment_audit::{self, AuditQuery};
    use super::given;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let query = AuditQuery { action: given(action), starting_after: given(starting_after), limit: Some(50), ..Default::default() };
    payment_audit::list(&caller.state, &access, &query).await
}
