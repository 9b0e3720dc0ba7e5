//! Everything that runs only on the server: configuration, the database, authentication, mail,
//! and the services both front doors (JSON API, server functions) call.

pub mod auth;
pub mod bus;
pub mod config;
pub mod crypto;
pub mod db;
pub mod http_error;
pub mod idempotency;
pub mod ids;
pub mod ledger;
pub mod mail;
pub mod plugins;
pub mod rate_limit;
pub mod rules;
pub mod services;
pub mod session_store;
pub mod stripe;
pub mod state;
pub mod time_util;
pub mod webhooks;

pub use config::Config;
pub use state::AppState;

// Recurring billing mirrored from Stripe (issue 7).
pub mod billing;
