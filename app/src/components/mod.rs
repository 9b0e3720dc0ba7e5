//! Reusable view pieces.

mod layout;
mod status;

pub use layout::{DashboardLayout, MeResource};
pub use status::{ActionError, ErrorNote};
