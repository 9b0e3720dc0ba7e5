//! Plugins as the API and the dashboard show them (secret settings masked) and as clients switch
//! and configure them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PluginOut {
    /// Always `plugin`.
    pub object: String,
    /// `audit-log`, `email-notifications`, …
    pub name: String,
    pub version: String,
    pub title: String,
    pub description: String,
    pub enabled: bool,
    /// Whether the plugin is on for a tenant that never configured it.
    pub default_enabled: bool,
    /// Event patterns the plugin listens to.
    pub events: Vec<String>,
    /// The tenant's settings, secrets masked; defaults filled in.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub config: Map<String, Value>,
    pub fields: Vec<PluginFieldOut>,
    pub health: PluginHealthOut,
    pub stats: PluginStatsOut,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub updated_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PluginFieldOut {
    pub key: String,
    pub label: String,
    /// text, url, emails, patterns, integer, bool, choice
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    pub required: bool,
    pub secret: bool,
    pub help: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PluginHealthOut {
    /// healthy, unconfigured or unhealthy
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The plugin's deliveries for this tenant, from the bus.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PluginStatsOut {
    pub succeeded: i64,
    pub pending: i64,
    pub skipped: i64,
    pub dead: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// `PUT /api/v1/plugins/{name}`: either or both. `config` is merged over the stored settings:
/// a key set to `null` is cleared; a secret sent as its mask or `__unchanged__` is kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PluginUpdate {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub config: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PluginTestOut {
    /// Always `plugin_test`.
    pub object: String,
    pub plugin: String,
    pub ok: bool,
    pub message: String,
}
