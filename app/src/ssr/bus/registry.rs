//! Who listens to what: the listeners registered at startup and, per event type, which of them
//! receive it. Routing an event is one index into a table, not a scan of patterns.

use std::sync::Arc;

use crate::domain::events::EventType;

use super::listener::SharedListener;

#[derive(Default, Clone)]
pub struct Registry {
    listeners: Vec<SharedListener>,
    routes: Vec<Vec<usize>>,
}

#[derive(Debug, thiserror::Error)]
#[error("two listeners are named `{0}`")]
pub struct DuplicateListener(pub &'static str);

impl Registry {
    pub fn new() -> Self {
        Self { listeners: Vec::new(), routes: vec![Vec::new(); EventType::ALL.len()] }
    }

    pub fn subscribe(&mut self, listener: SharedListener) -> Result<(), DuplicateListener> {
        if self.find(listener.name()).is_some() {
            return Err(DuplicateListener(listener.name()));
        }
        let index = self.listeners.len();
        let patterns = listener.patterns();
        for event_type in EventType::ALL {
            if patterns.iter().any(|p| p.matches(*event_type)) {
                self.routes[event_type.index()].push(index);
            }
        }
        self.listeners.push(listener);
        Ok(())
    }

    /// The listeners an event of this type goes to.
    pub fn route(&self, event_type: EventType) -> impl Iterator<Item = &SharedListener> {
        self.routes[event_type.index()].iter().map(|i| &self.listeners[*i])
    }

    pub fn find(&self, name: &str) -> Option<&SharedListener> {
        self.listeners.iter().find(|l| l.name() == name)
    }

    pub fn listeners(&self) -> &[SharedListener] {
        &self.listeners
    }

    pub fn into_shared(self) -> Arc<Self> {
        Arc::new(self)
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.listeners.iter().map(|l| l.name())).finish()
    }
}
