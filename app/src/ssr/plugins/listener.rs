//! A plugin on the bus: the listener named after it, which asks the tenant's switch before each
//! delivery (a plugin that is off records the delivery as skipped) and hands the plugin the
//! tenant's opened configuration.

use async_trait::async_trait;

use super::{store, PluginCtx, PluginDeps, SharedPlugin};
use crate::{
    domain::{
        events::{EventEnvelope, EventPattern},
        TenantId,
    },
    ssr::{
        bus::{Delivery, Listener, ListenerError},
        db::Db,
    },
};

pub struct PluginListener {
    plugin: SharedPlugin,
    deps: PluginDeps,
}

impl PluginListener {
    pub fn new(plugin: SharedPlugin, deps: PluginDeps) -> Self {
        Self { plugin, deps }
    }

    fn platform_event(&self, event: &EventEnvelope) -> bool {
        self.plugin.manifest().platform_events && self.plugin.is_platform_event(event)
    }
}

#[async_trait]
impl Listener for PluginListener {
    fn name(&self) -> &'static str {
        self.plugin.manifest().name
    }

    fn patterns(&self) -> Vec<EventPattern> {
        self.plugin.manifest().patterns.iter().filter_map(|p| EventPattern::parse(p).ok()).collect()
    }

    async fn enabled_for(&self, db: &Db, tenant: Option<&TenantId>) -> bool {
        let manifest = self.plugin.manifest();
        match tenant {
            None => manifest.platform_events,
            Some(t) => match store::is_enabled(db, t, manifest).await {
                Ok(on) => on,
                // Unknown is not "off": run, and let the handler's own reads fail and retry.
                Err(e) => {
                    tracing::warn!(plugin = manifest.name, error = %e, "could not read a plugin switch");
                    true
                }
            },
        }
    }

    async fn enabled_for_event(&self, db: &Db, event: &EventEnvelope) -> bool {
        if self.platform_event(event) {
            return true;
        }
        self.enabled_for(db, event.tenant_id.as_ref()).await
    }

    async fn handle(&self, delivery: &Delivery) -> Result<(), ListenerError> {
        let manifest = self.plugin.manifest();
        let tenant = if self.platform_event(&delivery.event) { None } else { delivery.event.tenant_id.as_ref() };
        let config = match tenant {
            Some(t) => store::load(&self.deps.db, &self.deps.secrets, t, manifest)
                .await
                .map_err(|e| ListenerError::retryable(format!("plugin configuration unreadable: {e}")))?
                .config,
            None => super::PluginConfig::from_stored(manifest.fields, Default::default()),
        };
        let ctx = PluginCtx { tenant, config: &config, deps: &self.deps };
        self.plugin.handle(&ctx, delivery).await
    }
}
