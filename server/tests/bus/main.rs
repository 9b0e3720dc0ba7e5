//! The event bus against real SQLite and Postgres, driven by a manual clock: atomic publish,
//! retries with backoff, dead letters, containment of failing listeners, leases, replay and
//! retention.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
mod support;

mod atomicity;
mod delivery;
mod replay;

/// Runs an async test body once on SQLite and once on Postgres.
macro_rules! on_both {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($backend: $crate::support::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::support::Backend::Postgres).await
            }
        }
    };
}
pub(crate) use on_both;
