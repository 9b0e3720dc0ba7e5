//! The paybus server: configuration to a running HTTP server, the JSON API under `/api/v1`, and
//! the command line. Business rules live in the `app` crate's services.

pub mod api;
pub mod background;
pub mod bench;
pub mod bench_bus;
pub mod bench_fanout;
pub mod bench_ssr;
pub mod bench_webhook;
pub mod cli;
pub mod cli_bus;
pub mod cli_stripe;
pub mod demo_ledger;
pub mod metrics;
pub mod middleware;
pub mod startup;
pub mod stripe_mock;
