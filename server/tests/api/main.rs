//! Black-box API tests: the real server, real SQLite and real Postgres, over HTTP.

mod helpers;

mod events;
mod identity;
mod idempotency;
mod rules;
mod plugins;
mod plugins_a;
mod plugins_b;
mod risk;
mod settings;
mod stripe_out;
mod tax;
mod webhook;
mod billing;
// Customer balances and currencies (issue 7).
mod balances;
