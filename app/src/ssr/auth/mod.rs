//! Who is calling: passwords, tokens, JWTs, and the principal every request resolves to.

pub mod jwt;
pub mod keyfile;
pub mod password;
pub mod principal;
pub mod tokens;

pub use principal::{Actor, ActorKind, Principal, TenantAccess};
