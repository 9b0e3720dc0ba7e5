//! Outbound webhooks to tenants' subscriber endpoints, following the Standard Webhooks
//! specification (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,…`).
//!
//! ```text
//! bus ── `webhooks` listener (fan-out) ──► webhook_messages (one per event per matching endpoint,
//!                                          receipt in the same transaction)
//! sender ── claim per endpoint (lease, SKIP LOCKED) ──► SSRF-guarded POST ──► webhook_attempts
//!        └─ retry schedule · Retry-After · 410 disables · circuit breaker · rate limit · ordering
//! ```
//!
//! Rules (and anything else) can queue one event for one endpoint inside their own transaction
//! with [`enqueue`].

pub mod fanout;
pub mod payload;
pub mod policy;
pub mod sender;
pub mod signing;
pub mod ssrf;
pub mod store;

pub use fanout::{enqueue, FanoutListener, LISTENER_NAME};

use tokio::sync::Notify;

/// Wakes this process's sender when messages were committed (a fan-out, a resend, a test).
/// Other replicas find them at their next poll.
#[derive(Debug, Default)]
pub struct Signals {
    wake: Notify,
}

impl Signals {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// Where a sealed signing secret belongs: it opens only for this tenant's endpoint.
pub fn secret_context(tenant_id: &str, endpoint_id: &str) -> String {
    format!("{tenant_id}/webhook_endpoint/{endpoint_id}")
}

/// How a message came to be, as stored in `origin`.
pub mod origin {
    pub const FANOUT: &str = "fanout";
    pub const DIRECT: &str = "direct";
    pub const TEST: &str = "test";
}

/// What an attempt is recorded as (`trigger_kind`), and what the next one will be (`next_trigger`).
pub mod trigger {
    pub const SCHEDULED: &str = "scheduled";
    pub const MANUAL: &str = "manual";
    pub const TEST: &str = "test";
}
