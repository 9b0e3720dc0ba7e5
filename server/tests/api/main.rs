//! Black-box API tests: the real server, real SQLite and real Postgres, over HTTP.

mod helpers;

mod events;
mod identity;
mod idempotency;
mod settings;
mod stripe_out;
mod webhook;
