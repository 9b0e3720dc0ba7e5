//! paybus: the shared crate. Domain types compile for both the server and the browser; everything
//! that touches the database, secrets or the network lives under [`ssr`], gated once.

pub mod components;
pub mod domain;
pub mod error;
pub mod pages;
pub mod server_fns;

#[cfg(feature = "ssr")]
pub mod ssr;

pub use error::AppError;
pub use pages::{shell, App};
