//! The plugins compiled into this paybus, by name.

use std::sync::Arc;

use super::{listener::PluginListener, PluginDeps, SharedPlugin};
use crate::ssr::bus::SharedListener;

#[derive(Clone, Default)]
pub struct PluginRegistry {
    plugins: Vec<SharedPlugin>,
}

impl PluginRegistry {
    pub fn new(plugins: Vec<SharedPlugin>) -> Self {
        Self { plugins }
    }

    pub fn all(&self) -> &[SharedPlugin] {
        &self.plugins
    }

    pub fn find(&self, name: &str) -> Option<&SharedPlugin> {
        self.plugins.iter().find(|p| p.manifest().name == name)
    }

    /// One bus listener per plugin.
    pub fn listeners(&self, deps: &PluginDeps) -> Vec<SharedListener> {
        self.plugins.iter().map(|p| Arc::new(PluginListener::new(p.clone(), deps.clone())) as SharedListener).collect()
    }
}

impl std::fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins.iter().map(|p| p.manifest().name)).finish()
    }
}
