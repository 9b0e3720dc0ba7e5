//! Reusable view pieces.

mod chart;
mod feedback;
mod layout;
mod status;

pub use chart::{AreaChart, Bar, BarListChart, Fold, Series, StackedBarChart, TimeSeries, ValueFormat, PALETTE};
pub use feedback::{Confirm, EmptyState, Loading, Toast};
pub use layout::{DashboardLayout, MeResource, TableWrap, NAV};
pub use status::{ActionError, ErrorNote};
