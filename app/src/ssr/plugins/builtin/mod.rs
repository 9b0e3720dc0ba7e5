//! The plugins every paybus ships with.

pub mod analytics;
pub mod audit_log;
pub mod chat;
pub mod crm;
pub mod email;
pub mod risk;
pub mod tax;

#[allow(unused_imports)]
use std::sync::Arc;

use super::SharedPlugin;

/// In the order the dashboard lists them.
pub fn all() -> Vec<SharedPlugin> {
    vec![
        Arc::new(audit_log::AuditLog),
        Arc::new(email::EmailNotifications),
        Arc::new(chat::ChatAlerts),
        Arc::new(crm::CrmActivity),
        Arc::new(analytics::Analytics),
        Arc::new(risk::Risk),
        Arc::new(tax::Tax),
    ]
}
