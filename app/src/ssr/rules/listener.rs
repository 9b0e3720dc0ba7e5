//! The `rules` listener: every event of a tenant is matched against the tenant's enabled rules
//! (one indexed query), and each match's target acts once per (rule, event).
//!
//! ```text
//! delivery ─► enabled rules of the tenant ─► pattern matches? ─► claim (rule, event)  [tx 1: row + matched++]
//!                                                              ─► target               [tx 2: archive / enqueue + delivered++]
//!                                                                 (plugin: own task, then its outcome recorded)
//!                                                              ─► failed? record it    [tx 3: failures++]
//! ```
//!
//! A failing target does not stop the other rules: they run, and the delivery is then retried by
//! the bus; on the retry, rules already delivered (or skipped) are recognised by their row and
//! not repeated.

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    store::{self, LoadedRule},
    targets::{self, Outcome, TargetFailed},
};
use crate::{
    domain::{events::EventPattern, rules::Target, PrefixedId, TenantId},
    ssr::{
        bus::{Delivery, Listener, ListenerError},
        db::Db,
        plugins::{PluginDeps, PluginRegistry},
        webhooks::Signals,
    },
};

pub const NAME: &str = "rules";

pub struct RulesListener {
    db: Db,
    plugins: Arc<PluginRegistry>,
    deps: PluginDeps,
    /// Wakes the webhook sender after a message was queued for an endpoint.
    webhooks: Arc<Signals>,
}

impl RulesListener {
    pub fn new(db: Db, plugins: Arc<PluginRegistry>, deps: PluginDeps, webhooks: Arc<Signals>) -> Self {
        Self { db, plugins, deps, webhooks }
    }

    fn now(&self) -> i64 {
        self.deps.clock.now_ms()
    }

    /// One rule's target for one event; `Err` when it failed (already recorded).
    async fn run(&self, rule: &LoadedRule, tenant: &TenantId, delivery: &Delivery) -> Result<(), TargetFailed> {
        let event = &delivery.event;
        let (event_id, event_type) = (event.id.as_str(), event.event_type.name());
        let mut tx = self.db.begin().await.map_err(|e| TargetFailed(e.to_string()))?;
        let prior = store::record_match(&mut tx, &rule.id, tenant.as_str(), event_id, event_type, self.now()).await?;
        tx.commit().await?;
        if prior.as_ref().is_some_and(|p| p.status == "delivered" || p.status == "skipped") {
            tracing::debug!(rule = %rule.id, event = event_id, "rule already acted on this event");
            return Ok(());
        }
        let attempt = prior.map(|p| p.attempts).unwrap_or(0) as u32 + 1;

        // Archive and endpoint: the target's write and the rule's record commit together, under
        // the row's lock. A plugin is called outside any transaction (it writes through its own
        // connections; on SQLite an open write transaction would block it), then recorded.
        let now = self.now();
        let outcome = match &rule.target {
            Target::Plugin(name) => targets::call_plugin(&self.plugins, &self.deps, rule, name, tenant, delivery, attempt).await.map(|o| (o, None)),
            target => {
                let mut tx = self.db.begin().await.map_err(|e| TargetFailed(e.to_string()))?;
                if !store::lock_open(&mut *tx, &rule.id, event_id, now).await? {
                    tx.rollback().await?;
                    return Ok(());
                }
                let done = match target {
                    Target::WebhookEndpoint(endpoint) => targets::enqueue_webhook(&mut tx, self.db.dialect, event, endpoint, rule.style, now).await,
                    _ => targets::archive(&mut tx, rule, tenant, event, now).await,
                };
                match done {
                    Ok(o) => Ok((o, Some(tx))),
                    Err(e) => {
                        tx.rollback().await?;
                        Err(e)
                    }
                }
            }
        };
        match outcome {
            Ok((outcome, tx)) => {
                let mut tx = match tx {
                    Some(tx) => tx,
                    None => self.db.begin().await.map_err(|e| TargetFailed(e.to_string()))?,
                };
                let (status, why) = match &outcome {
                    Outcome::Delivered => ("delivered", None),
                    Outcome::Skipped(why) => {
                        tracing::info!(rule = %rule.id, event = event_id, reason = %why, "rule target skipped");
                        ("skipped", Some(why.as_str()))
                    }
                };
                if store::finish(&mut *tx, &rule.id, event_id, status, why, now).await? && status == "delivered" {
                    store::bump(&mut *tx, &rule.id, tenant.as_str(), now, 0, 1, 0).await?;
                }
                tx.commit().await?;
                if status == "delivered" && matches!(rule.target, Target::WebhookEndpoint(_)) {
                    self.webhooks.wake();
                }
                Ok(())
            }
            Err(failed) => {
                tracing::warn!(rule = %rule.id, event = event_id, attempt, error = %failed, "rule target failed");
                let mut tx = self.db.begin().await.map_err(|e| TargetFailed(e.to_string()))?;
                if store::finish(&mut *tx, &rule.id, event_id, "failed", Some(&failed.0), now).await? {
                    store::bump(&mut *tx, &rule.id, tenant.as_str(), now, 0, 0, 1).await?;
                }
                tx.commit().await?;
                Err(failed)
            }
        }
    }
}

#[async_trait]
impl Listener for RulesListener {
    fn name(&self) -> &'static str {
        NAME
    }

    fn patterns(&self) -> Vec<EventPattern> {
        vec![EventPattern::All]
    }

    /// Rules belong to tenants: platform events (a signup before any tenant) are skipped.
    async fn enabled_for(&self, _db: &Db, tenant: Option<&TenantId>) -> bool {
        tenant.is_some()
    }

    async fn handle(&self, delivery: &Delivery) -> Result<(), ListenerError> {
        let Some(tenant) = delivery.event.tenant_id.as_ref() else {
            return Ok(());
        };
        let rows = store::enabled_for_tenant(&self.db.pool, tenant.as_str()).await?;
        if rows.is_empty() {
            return Ok(());
        }
        let doc = serde_json::to_value(&*delivery.event).map_err(|e| ListenerError::permanent(format!("event does not serialise: {e}")))?;
        let mut failures: Vec<String> = Vec::new();
        for row in rows {
            let rule = match row.load() {
                Ok(rule) => rule,
                Err(e) => {
                    tracing::error!(rule = %row.id, error = %e, "stored rule cannot be read; skipped");
                    continue;
                }
            };
            if !rule.pattern.matches(&doc) {
                continue;
            }
            if let Err(e) = self.run(&rule, tenant, delivery).await {
                failures.push(format!("rule {} ({}): {e}", rule.id, rule.name));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ListenerError::retryable(failures.join("; ")))
        }
    }
}
