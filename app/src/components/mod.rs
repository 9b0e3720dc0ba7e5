//! Reusable view pieces.

mod chart;
mod layout;
mod status;

pub use chart::{AreaChart, Fold, Series, StackedBarChart, TimeSeries, ValueFormat, PALETTE};
pub use layout::{DashboardLayout, MeResource};
pub use status::{ActionError, ErrorNote};
