//! Where a tenant's plugin choices live: one `tenant_plugins` row per (tenant, plugin) with the
//! switch, the plain settings, and the secret settings sealed as one value bound to that row.
//! No row means the manifest's defaults.

use serde_json::{Map, Value};

use super::{Manifest, PluginConfig};
use crate::{
    domain::{PrefixedId, TenantId},
    error::{AppError, AppResult},
    ssr::{crypto::SecretBox, db::Db},
};

/// A tenant's state for one plugin, secrets opened.
#[derive(Debug, Clone)]
pub struct TenantPlugin {
    pub enabled: bool,
    pub config: PluginConfig,
    /// `None` when the tenant never touched this plugin (defaults apply).
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    enabled: i64,
    config: String,
    secrets: Option<String>,
    updated_at: i64,
    updated_by: Option<String>,
}

fn context(tenant: &TenantId, plugin: &str) -> String {
    format!("{}/plugin/{plugin}", tenant.as_str())
}

/// Just the switch: the one query a delivery costs a plugin that is off.
pub async fn is_enabled(db: &Db, tenant: &TenantId, manifest: &Manifest) -> sqlx::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT enabled FROM tenant_plugins WHERE tenant_id = $1 AND plugin = $2")
        .bind(tenant.as_str())
        .bind(manifest.name)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|(e,)| e != 0).unwrap_or(manifest.default_enabled))
}

pub async fn load(db: &Db, secrets: &SecretBox, tenant: &TenantId, manifest: &Manifest) -> AppResult<TenantPlugin> {
    let row: Option<Row> = sqlx::query_as("SELECT enabled, config, secrets, updated_at, updated_by FROM tenant_plugins WHERE tenant_id = $1 AND plugin = $2")
        .bind(tenant.as_str())
        .bind(manifest.name)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(TenantPlugin { enabled: manifest.default_enabled, config: PluginConfig::from_stored(manifest.fields, Map::new()), updated_at: None, updated_by: None });
    };
    let mut values: Map<String, Value> = serde_json::from_str(&row.config).map_err(|_| AppError::Internal)?;
    if let Some(sealed) = row.secrets.as_deref() {
        let opened: Map<String, Value> = serde_json::from_str(&secrets.open(sealed, &context(tenant, manifest.name))?).map_err(|_| AppError::Internal)?;
        values.extend(opened);
    }
    Ok(TenantPlugin {
        enabled: row.enabled != 0,
        config: PluginConfig::from_stored(manifest.fields, values),
        updated_at: Some(row.updated_at),
        updated_by: row.updated_by,
    })
}

/// Writes the whole state (upsert), sealing the secret fields.
pub async fn save(
    tx: &mut crate::ssr::db::Tx,
    secrets: &SecretBox,
    tenant: &TenantId,
    manifest: &Manifest,
    enabled: bool,
    config: &PluginConfig,
    actor: Option<&str>,
    now_ms: i64,
) -> AppResult<()> {
    let (mut plain, mut secret) = (Map::new(), Map::new());
    for (k, v) in config.values() {
        if manifest.fields.iter().any(|f| f.key == k && f.secret) {
            secret.insert(k.clone(), v.clone());
        } else {
            plain.insert(k.clone(), v.clone());
        }
    }
    let sealed = (!secret.is_empty()).then(|| secrets.seal(&Value::Object(secret).to_string(), &context(tenant, manifest.name)));
    sqlx::query(
        "INSERT INTO tenant_plugins (tenant_id, plugin, enabled, config, secrets, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, plugin) DO UPDATE SET enabled = excluded.enabled, config = excluded.config, secrets = excluded.secrets,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(tenant.as_str())
    .bind(manifest.name)
    .bind(i64::from(enabled))
    .bind(Value::Object(plain).to_string())
    .bind(sealed)
    .bind(now_ms)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
