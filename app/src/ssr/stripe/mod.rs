//! Stripe: verifying what it sends us, and calling it.

pub mod client;

pub mod signature;
