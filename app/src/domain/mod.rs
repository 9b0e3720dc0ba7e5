//! Types that name things in the paybus domain. Each parses its input once at the edge, so an
//! invalid value cannot exist past it.

pub mod analytics;
pub mod audit_log;
pub mod billing;
pub mod balances;
pub mod customer_activity;
pub mod dto;
pub mod email;
pub mod events;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod name;
pub mod password;
pub mod plugins;
pub mod risk;
pub mod role;
pub mod rules;
pub mod settings;
pub mod stripe_out;
pub mod tax;
pub mod webhooks;

pub use email::EmailAddress;
pub use money::{Currency, Money};
pub use ids::*;
pub use name::Name;
pub use password::Password;
pub use role::{Action, Role};
