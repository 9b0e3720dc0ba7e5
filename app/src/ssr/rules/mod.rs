//! Rules on the bus: storage, the `rules` listener and the targets it drives. The matching itself
//! is pure domain code (`domain::rules`), shared with the dashboard's editor; the service layer
//! (`services::rules`) validates, stores, tests and dry-runs rules for both front doors.

pub mod listener;
pub mod store;
pub mod targets;

pub use listener::RulesListener;
