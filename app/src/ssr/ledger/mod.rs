//! The payment ledger: what Stripe told us, merged so that arrival order does not matter.

pub mod model;
pub mod stripe_event;
pub mod ingest;
pub mod refund_requests;
pub mod reconcile;
