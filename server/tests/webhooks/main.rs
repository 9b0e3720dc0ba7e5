//! Outbound webhooks, black-box: the real server (on SQLite and on Postgres) with a manual bus
//! clock, sending to real HTTP receivers started by the tests, which check every Standard
//! Webhooks signature with the public algorithm written out here.
//!
//! - `delivery`: signing, the retry schedule on 500s and timeouts, Retry-After, 410, disabled
//!   endpoints, secret rotation with overlap, ordering, auto-disable;
//! - `endpoints`: the API (validation, pagination, events, resend, test, payload styles, secrets
//!   at rest, another tenant's ids);
//! - `ssrf`: private, loopback and link-local targets refused at create and at send time;
//!   redirects not followed.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod support;

mod delivery;
mod endpoints;
mod ssrf;
