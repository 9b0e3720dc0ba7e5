//! Business rules, shared by the JSON API and the dashboard's server functions. Each function
//! that acts inside a tenant takes a [`TenantAccess`](crate::ssr::auth::TenantAccess) and checks
//! its [`Action`](crate::domain::Action) before touching data.

pub mod analytics;
pub mod api_keys;
pub mod audit_log;
pub mod checkout;
pub mod connect;
pub mod convert;
pub mod customer_activity;
pub mod demo;
pub mod events;
pub mod identity;
pub mod mailbox;
pub mod members;
pub mod payment_actions;
pub mod payment_audit;
pub mod payments;
pub mod plugins;
pub mod products;
pub mod risk;
pub mod rules;
pub mod settings;
pub mod stripe_access;
pub mod tax;
pub mod tenants;
pub mod webhook_endpoints;
pub mod webhook_events;
// Recurring billing (issue 7).
pub mod billing;
// Customer balances and currencies (issue 7).
pub mod balances;
pub mod currencies;
pub mod customers;
