//! Domain events: the catalog, the envelope they travel in, and subscription patterns. Shared by
//! the server (which publishes and delivers them) and the dashboard (which filters and shows them).

mod catalog;
mod envelope;
pub mod pattern;
pub mod payloads;
pub mod views;

pub use catalog::{DomainEvent, EventType};
pub use envelope::{ActorType, EventEnvelope, EventMetadata, EventSource};
pub use pattern::{EventPattern, PatternError};
