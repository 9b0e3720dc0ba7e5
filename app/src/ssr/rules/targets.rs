//! What a matching rule does: archive the event, enqueue it to an outbound endpoint, or hand it
//! to a plugin. Each returns whether it delivered, skipped (with why: the endpoint or plugin is
//! gone or off) or failed (worth a retry).

use std::{sync::Arc, time::Duration};

use crate::{
    domain::{
        events::EventEnvelope,
        webhooks::PayloadStyle,
        DeliveryId, EndpointId, PrefixedId, TenantId,
    },
    ssr::{
        bus::{Delivery, ListenerError},
        db::{Db, Dialect, Tx},
        plugins::{self, PluginCtx, PluginDeps, PluginRegistry},
        webhooks,
        time_util::to_ms,
    },
};

use super::store::{self, LoadedRule};

/// Longest one plugin call may take before it counts as failed (and is retried later).
pub const PLUGIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub enum Outcome {
    Delivered,
    /// Nothing to do, and retrying will not change that (the endpoint or plugin is gone or off).
    Skipped(String),
}

/// A target's failure; retried with the bus delivery.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TargetFailed(pub String);

impl From<sqlx::Error> for TargetFailed {
    fn from(e: sqlx::Error) -> Self {
        TargetFailed(format!("database: {e}"))
    }
}

/// Copies the event into the rule's archive (once per event), in the body an endpoint would
/// receive with the rule's payload style (`webhooks::payload`: one shape for both).
pub async fn archive(tx: &mut Tx, rule: &LoadedRule, tenant: &TenantId, event: &EventEnvelope, now: i64) -> Result<Outcome, TargetFailed> {
    let body = webhooks::payload::build(event, rule.style);
    store::archive(&mut **tx, &rule.id, tenant.as_str(), event.id.as_str(), event.event_type.name(), body.style, &body.json, to_ms(event.occurred_at), now).await?;
    Ok(Outcome::Delivered)
}

// ---- outbound webhook endpoints --------------------------------------------------------------

/// Whether `endpoint` is one of `tenant`'s outbound endpoints (not deleted).
pub async fn endpoint_exists(db: &Db, tenant: &TenantId, endpoint: &str) -> sqlx::Result<bool> {
    Ok(webhooks::store::find_endpoint(&db.pool, tenant.as_str(), endpoint).await?.is_some())
}

/// The tenant's active endpoint ids, for the editor's target select.
pub async fn endpoint_ids(db: &Db, tenant: &TenantId) -> sqlx::Result<Vec<String>> {
    Ok(webhooks::store::active_endpoints(&db.pool, tenant.as_str()).await?.into_iter().map(|e| e.id).collect())
}

/// Queues `event` for `endpoint` in `tx` (so the rule's record and the message commit together).
/// An endpoint deleted, disabled or not the tenant's is skipped, not retried.
pub async fn enqueue_webhook(tx: &mut Tx, dialect: Dialect, event: &EventEnvelope, endpoint: &str, style: PayloadStyle, now: i64) -> Result<Outcome, TargetFailed> {
    let Ok(id) = EndpointId::parse(endpoint) else {
        return Ok(Outcome::Skipped(format!("`{endpoint}` is not an endpoint id")));
    };
    match webhooks::enqueue(tx, dialect, event, &id, style, now).await {
        Ok(Some(_message)) => Ok(Outcome::Delivered),
        Ok(None) => Ok(Outcome::Skipped(format!("endpoint {endpoint} is deleted or disabled"))),
        Err(e) => Err(TargetFailed(format!("could not queue for endpoint {endpoint}: {e}"))),
    }
}

// ---- plugins ---------------------------------------------------------------------------------

/// The delivery id a plugin sees for (rule, event): the same on every retry, so the plugin's
/// own receipts recognise a redelivery; different from the plugin's own bus delivery.
pub fn plugin_delivery_id(rule_id: &str, event_id: &str) -> DeliveryId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("rule/{rule_id}/{event_id}").as_bytes());
    DeliveryId::from_trusted(format!("dlv_r{}", &hex::encode(digest)[..32]))
}

/// Hands the event to the plugin with the tenant's configuration, if the plugin exists and is on
/// for the tenant. Runs in its own task: a panic or a hang stays with this rule.
pub async fn call_plugin(
    registry: &PluginRegistry,
    deps: &PluginDeps,
    rule: &LoadedRule,
    name: &str,
    tenant: &TenantId,
    delivery: &Delivery,
    attempt: u32,
) -> Result<Outcome, TargetFailed> {
    let Some(plugin) = registry.find(name).cloned() else {
        return Ok(Outcome::Skipped(format!("plugin `{name}` is not installed")));
    };
    let state = plugins::store::load(&deps.db, &deps.secrets, tenant, plugin.manifest())
        .await
        .map_err(|e| TargetFailed(format!("plugin configuration unreadable: {e}")))?;
    if !state.enabled {
        return Ok(Outcome::Skipped(format!("plugin `{name}` is disabled for this tenant")));
    }
    let synthetic = Delivery { id: plugin_delivery_id(&rule.id, delivery.event.id.as_str()), attempt, event: Arc::clone(&delivery.event), replay: None };
    let (deps, tenant) = (deps.clone(), tenant.clone());
    let task = tokio::spawn(async move {
        let ctx = PluginCtx { tenant: Some(&tenant), config: &state.config, deps: &deps };
        tokio::time::timeout(PLUGIN_TIMEOUT, plugin.handle(&ctx, &synthetic)).await
    });
    match task.await {
        Ok(Ok(Ok(()))) => Ok(Outcome::Delivered),
        Ok(Ok(Err(ListenerError::Retryable(m)))) => Err(TargetFailed(m)),
        // A permanent failure is still recorded as failed (and counted); the bus's own retries
        // of the delivery are what is bounded.
        Ok(Ok(Err(ListenerError::Permanent(m)))) => Err(TargetFailed(format!("permanent: {m}"))),
        Ok(Err(_)) => Err(TargetFailed(format!("plugin `{name}` timed out after {} s", PLUGIN_TIMEOUT.as_secs()))),
        Err(e) => Err(TargetFailed(format!("plugin `{name}` panicked: {e}"))),
    }
}
