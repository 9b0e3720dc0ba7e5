//! Cross-cutting request handling.

pub mod body_limit;
pub mod csrf;
pub mod event_meta;
pub mod idempotency;
pub mod request_id;
pub mod server_fn_status;
