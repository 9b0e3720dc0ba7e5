//! Rules of the active tenant. The editor sends a rule as the JSON the API takes (`body`), so
//! both front doors parse and validate it the same way.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    domain::rules::views::{DryRunOut, RuleDeletedOut, RuleOut, RuleStatsOut},
    error::AppError,
};

/// What a rule may point at in this tenant, for the editor's target select.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RuleTargetChoices {
    pub plugins: Vec<String>,
    pub endpoints: Vec<String>,
}

#[cfg(feature = "ssr")]
fn body<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, AppError> {
    serde_json::from_str(raw).map_err(|e| AppError::invalid("parameter_invalid", format!("Invalid rule: {e}"), None))
}

#[server(prefix = "/sfn")]
pub async fn list_rules() -> Result<Vec<RuleOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(100), ..Default::default() };
    Ok(crate::ssr::services::rules::list(&caller.state, &access, &page).await?.data)
}

#[server(prefix = "/sfn")]
pub async fn get_rule(id: String) -> Result<RuleOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::rules::get(&caller.state, &access, &id).await
}

#[server(prefix = "/sfn")]
pub async fn rule_stats(id: String) -> Result<RuleStatsOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::rules::stats(&caller.state, &access, &id, None).await
}

#[server(prefix = "/sfn")]
pub async fn rule_targets() -> Result<RuleTargetChoices, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    access.require(crate::domain::Action::RulesRead)?;
    let plugins = caller.state.plugins.all().iter().map(|p| p.manifest().name.to_owned()).collect();
    let endpoints = crate::ssr::rules::targets::endpoint_ids(&caller.state.db, &access.tenant_id).await?;
    Ok(RuleTargetChoices { plugins, endpoints })
}

/// Creates (`id` empty) or changes a rule; `body` is a `RuleIn` as JSON.
#[server(prefix = "/sfn")]
pub async fn save_rule(id: String, body: String) -> Result<RuleOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let input = self::body(&body)?;
    if id.is_empty() {
        crate::ssr::services::rules::create(&caller.state, &access, input).await
    } else {
        crate::ssr::services::rules::update(&caller.state, &access, &id, input).await
    }
}

#[server(prefix = "/sfn")]
pub async fn set_rule_enabled(id: String, enabled: bool) -> Result<RuleOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let input = crate::domain::rules::views::RuleIn { enabled: Some(enabled), ..Default::default() };
    crate::ssr::services::rules::update(&caller.state, &access, &id, input).await
}

#[server(prefix = "/sfn")]
pub async fn delete_rule(id: String) -> Result<RuleDeletedOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::rules::delete(&caller.state, &access, &id).await
}

/// Dry-runs the editor's pattern (`body`: a `DryRunIn` as JSON) over the tenant's events.
#[server(prefix = "/sfn")]
pub async fn dry_run_rule(body: String) -> Result<DryRunOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::rules::dry_run(&caller.state, &access, None, self::body(&body)?).await
}
