//! Stripe: verifying what it sends us.

pub mod signature;
