//! Plugins per tenant: list them with their (masked) settings, health and delivery counts;
//! switch and configure them (checked against the plugin's schema, secrets sealed, the change
//! published); run a plugin's test. A health check or test that hangs or panics is reported,
//! never propagated.

use std::time::Duration;

use serde_json::Map;

use crate::{
    domain::{
        dto::List,
        events::{payloads::PluginChanged, DomainEvent},
        plugins::{PluginFieldOut, PluginHealthOut, PluginOut, PluginStatsOut, PluginTestOut, PluginUpdate},
        Action, PrefixedId, TenantId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::EventContext,
        plugins::{schema, store, FieldKind, Health, PluginCtx, SharedPlugin},
        time_util::from_ms,
        AppState,
    },
};

const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

fn find(state: &AppState, name: &str) -> AppResult<SharedPlugin> {
    state.plugins.find(name).cloned().ok_or_else(|| AppError::NotFound { message: format!("No such plugin: `{name}`.") })
}

pub async fn list(state: &AppState, access: &TenantAccess) -> AppResult<List<PluginOut>> {
    access.require(Action::PluginsRead)?;
    let mut out = Vec::new();
    // Sequential: a handful of plugins, each health check bounded by its timeout.
    for plugin in state.plugins.all() {
        out.push(describe(state, &access.tenant_id, plugin).await?);
    }
    Ok(List::new(out, false))
}

pub async fn get(state: &AppState, access: &TenantAccess, name: &str) -> AppResult<PluginOut> {
    access.require(Action::PluginsRead)?;
    let plugin = find(state, name)?;
    describe(state, &access.tenant_id, &plugin).await
}

pub async fn update(state: &AppState, access: &TenantAccess, name: &str, update: PluginUpdate) -> AppResult<PluginOut> {
    access.require(Action::PluginsManage)?;
    let plugin = find(state, name)?;
    let manifest = plugin.manifest();
    let current = store::load(&state.db, &state.secrets, &access.tenant_id, manifest).await?;
    let enabled = update.enabled.unwrap_or(current.enabled);
    // Turning a plugin on (or changing its settings) needs a configuration that passes the
    // schema; turning it off never does, so a broken plugin can always be switched off.
    let config = if update.config.is_some() || (enabled && !current.enabled) {
        schema::apply_patch(manifest.fields, &current.config, &update.config.clone().unwrap_or_else(Map::new))?
    } else {
        current.config.clone()
    };
    let config_changed = config != current.config;
    let switched = enabled != current.enabled;
    if !config_changed && !switched && current.updated_at.is_some() {
        return describe(state, &access.tenant_id, &plugin).await;
    }
    let ctx = EventContext::for_access(access);
    let mut tx = state.db.begin().await?;
    store::save(&mut tx, &state.secrets, &access.tenant_id, manifest, enabled, &config, ctx.actor.as_deref(), state.bus.now_ms()).await?;
    let payload = || PluginChanged { plugin: manifest.name.to_owned(), enabled };
    if switched {
        let event = if enabled { DomainEvent::PluginEnabled(payload()) } else { DomainEvent::PluginDisabled(payload()) };
        state.bus.publish(&mut tx, &ctx, event).await?;
    }
    if config_changed {
        state.bus.publish(&mut tx, &ctx, DomainEvent::PluginConfigured(payload())).await?;
    }
    state.bus.commit(tx).await?;
    describe(state, &access.tenant_id, &plugin).await
}

pub async fn test(state: &AppState, access: &TenantAccess, name: &str) -> AppResult<PluginTestOut> {
    access.require(Action::PluginsManage)?;
    let plugin = find(state, name)?;
    let tenant_plugin = store::load(&state.db, &state.secrets, &access.tenant_id, plugin.manifest()).await?;
    let (deps, tenant) = (state.plugin_deps.clone(), access.tenant_id.clone());
    let task = tokio::spawn(async move {
        let ctx = PluginCtx { tenant: Some(&tenant), config: &tenant_plugin.config, deps: &deps };
        tokio::time::timeout(TEST_TIMEOUT, plugin.test(&ctx)).await
    });
    let (ok, message) = match task.await {
        Ok(Ok(Ok(message))) => (true, message),
        Ok(Ok(Err(AppError::Internal))) => (false, "the test failed; see the server log".to_owned()),
        Ok(Ok(Err(e))) => (false, e.to_string()),
        Ok(Err(_)) => (false, format!("the test did not finish within {} s", TEST_TIMEOUT.as_secs())),
        Err(_) => (false, "the test crashed; see the server log".to_owned()),
    };
    Ok(PluginTestOut { object: "plugin_test".into(), plugin: name.to_owned(), ok, message })
}

/// Runs a plugin's health check in its own task, under a timeout.
pub async fn health(state: &AppState, tenant: &TenantId, plugin: &SharedPlugin, config: &crate::ssr::plugins::PluginConfig) -> Health {
    let (deps, tenant, config, plugin) = (state.plugin_deps.clone(), tenant.clone(), config.clone(), plugin.clone());
    let task = tokio::spawn(async move {
        let ctx = PluginCtx { tenant: Some(&tenant), config: &config, deps: &deps };
        tokio::time::timeout(HEALTH_TIMEOUT, plugin.health(&ctx)).await
    });
    match task.await {
        Ok(Ok(health)) => health,
        Ok(Err(_)) => Health::Unhealthy(format!("the health check did not answer within {} s", HEALTH_TIMEOUT.as_secs())),
        Err(_) => Health::Unhealthy("the health check crashed".into()),
    }
}

async fn describe(state: &AppState, tenant: &TenantId, plugin: &SharedPlugin) -> AppResult<PluginOut> {
    let manifest = plugin.manifest();
    let tenant_plugin = match store::load(&state.db, &state.secrets, tenant, manifest).await {
        Ok(t) => t,
        Err(AppError::Internal) => {
            // A sealed value that no longer opens (master key changed): show it, don't fail the page.
            return Ok(PluginOut {
                health: PluginHealthOut { status: "unhealthy".into(), message: Some("its stored settings cannot be read; configure it again".into()) },
                ..out(manifest, false, Map::new(), PluginStatsOut::default(), None)
            });
        }
        Err(e) => return Err(e),
    };
    let health = health(state, tenant, plugin, &tenant_plugin.config).await;
    let stats = stats(state, tenant, manifest.name).await?;
    let mut o = out(manifest, tenant_plugin.enabled, tenant_plugin.config.masked(manifest.fields), stats, tenant_plugin.updated_at);
    o.health = match health {
        Health::Healthy => PluginHealthOut { status: "healthy".into(), message: None },
        Health::Unconfigured(m) => PluginHealthOut { status: "unconfigured".into(), message: Some(m) },
        Health::Unhealthy(m) => PluginHealthOut { status: "unhealthy".into(), message: Some(m) },
    };
    Ok(o)
}

fn out(manifest: &crate::ssr::plugins::Manifest, enabled: bool, config: Map<String, serde_json::Value>, stats: PluginStatsOut, updated_at: Option<i64>) -> PluginOut {
    PluginOut {
        object: "plugin".into(),
        name: manifest.name.into(),
        version: manifest.version.into(),
        title: manifest.title.into(),
        description: manifest.description.into(),
        enabled,
        default_enabled: manifest.default_enabled,
        events: manifest.patterns.iter().map(|p| (*p).to_owned()).collect(),
        config,
        fields: manifest.fields.iter().map(field_out).collect(),
        health: PluginHealthOut { status: "healthy".into(), message: None },
        stats,
        updated_at: updated_at.map(from_ms),
    }
}

fn field_out(f: &crate::ssr::plugins::Field) -> PluginFieldOut {
    let (kind, options, min, max) = match f.kind {
        FieldKind::Text => ("text", vec![], None, None),
        FieldKind::Url => ("url", vec![], None, None),
        FieldKind::Emails => ("emails", vec![], None, None),
        FieldKind::Patterns => ("patterns", vec![], None, None),
        FieldKind::Integer { min, max } => ("integer", vec![], Some(min), Some(max)),
        FieldKind::Bool => ("bool", vec![], None, None),
        FieldKind::Choice { options } => ("choice", options.iter().map(|o| (*o).to_owned()).collect(), None, None),
    };
    PluginFieldOut { key: f.key.into(), label: f.label.into(), kind: kind.into(), options, min, max, required: f.required, secret: f.secret, help: f.help.into() }
}

async fn stats(state: &AppState, tenant: &TenantId, listener: &str) -> AppResult<PluginStatsOut> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT status, COUNT(*) FROM event_deliveries WHERE tenant_id = $1 AND listener = $2 GROUP BY status")
        .bind(tenant.as_str())
        .bind(listener)
        .fetch_all(&state.db.pool)
        .await?;
    let mut s = PluginStatsOut::default();
    for (status, n) in rows {
        match status.as_str() {
            "succeeded" => s.succeeded += n,
            "pending" | "running" => s.pending += n,
            "skipped" => s.skipped += n,
            "dead" => s.dead += n,
            _ => {}
        }
    }
    let last: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT last_error FROM event_deliveries WHERE tenant_id = $1 AND listener = $2 AND last_error IS NOT NULL AND status <> 'succeeded' ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(tenant.as_str())
    .bind(listener)
    .fetch_optional(&state.db.pool)
    .await?;
    s.last_error = last.and_then(|(e,)| e);
    Ok(s)
}
