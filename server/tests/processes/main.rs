//! Black-box process tests for the event bus: the real `paybus` binary as child processes on a
//! fresh SQLite file or Postgres database, driven over HTTP, killed with SIGKILL, restarted, and
//! checked by reading the database directly.
//!
//! Each test publishes `api_key.created` events by creating API keys (the key and its event are
//! committed together, so each `201` is one acknowledged event), with the `bus-probe` listener
//! enabled: it records every delivery it runs in `listener_receipts`, keyed by delivery id.
//!
//! - `crash_safety`: `kill -9` mid-stream, restart on the same database (SQLite and Postgres).
//! - `scale_out`: two processes on one Postgres database, with and without one of them dying.
//!
//! Postgres comes from `PAYBUS_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! when it is unreachable the Postgres tests are skipped loudly, except with `CI=true`, where they
//! fail. The tests take turns (see `support::one_at_a_time`) and print their figures: run with
//! `cargo test -p server --test processes -- --nocapture` to see them.

mod audit;
mod crash_safety;
mod load;
// The overdue job across replicas (issue 7).
mod overdue;
mod scale_out;
mod support;
