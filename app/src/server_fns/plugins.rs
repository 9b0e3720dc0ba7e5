//! Plugins from the dashboard. The settings form posts `config[key]=value` pairs (strings, as
//! any HTML form does); they are turned into typed values by the field kinds of the plugin's
//! schema before the service checks them.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::{
    domain::{
        dto::List,
        plugins::{PluginOut, PluginTestOut},
    },
    error::AppError,
};

#[server(prefix = "/sfn")]
pub async fn list_plugins() -> Result<List<PluginOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::plugins::list(&caller.state, &access).await
}

/// Switches a plugin on or off (`enabled` is `on` from a checkbox, absent when unchecked).
#[server(prefix = "/sfn")]
pub async fn switch_plugin(name: String, enabled: Option<String>) -> Result<PluginOut, AppError> {
    use crate::domain::plugins::PluginUpdate;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let update = PluginUpdate { enabled: Some(enabled.as_deref() == Some("on") || enabled.as_deref() == Some("true")), config: None };
    crate::ssr::services::plugins::update(&caller.state, &access, &name, update).await
}

#[server(prefix = "/sfn")]
pub async fn configure_plugin(name: String, #[server(default)] config: HashMap<String, String>) -> Result<PluginOut, AppError> {
    use crate::domain::plugins::PluginUpdate;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let plugin = crate::ssr::services::plugins::get(&caller.state, &access, &name).await?;
    let mut typed = serde_json::Map::new();
    for field in &plugin.fields {
        let raw = config.get(&field.key).map(|s| s.trim().to_owned());
        let value = match (field.kind.as_str(), raw) {
            // An unchecked checkbox sends nothing.
            ("bool", raw) => serde_json::Value::Bool(matches!(raw.as_deref(), Some("on" | "true"))),
            (_, None) => continue,
            (_, Some(s)) if s.is_empty() => serde_json::Value::Null,
            ("integer", Some(s)) => match s.replace([',', '_', ' '], "").parse::<i64>() {
                Ok(n) => serde_json::Value::from(n),
                Err(_) => return Err(AppError::invalid("plugin_config_invalid", format!("{} must be a whole number", field.label), Some(&format!("config.{}", field.key)))),
            },
            ("emails" | "patterns", Some(s)) => {
                serde_json::json!(s.split([',', '\n', ' ']).map(str::trim).filter(|x| !x.is_empty()).collect::<Vec<_>>())
            }
            (_, Some(s)) => serde_json::Value::String(s),
        };
        typed.insert(field.key.clone(), value);
    }
    let update = PluginUpdate { enabled: None, config: Some(typed) };
    crate::ssr::services::plugins::update(&caller.state, &access, &name, update).await
}

#[server(prefix = "/sfn")]
pub async fn test_plugin(name: String) -> Result<PluginTestOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::plugins::test(&caller.state, &access, &name).await
}
