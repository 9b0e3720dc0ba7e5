//! Black-box RBAC specifications: the real server over HTTP, on SQLite and on Postgres.
//!
//! - `user_matrix`: every member role × every tenant action, against a table written out by hand;
//! - `api_key_matrix`: the same for API keys, and what only a user may do;
//! - `cross_tenant`: another tenant's objects are 404 from mine;
//! - `tenant_header`: `X-Tenant-Id` for users and keys, malformed ids;
//! - `api_key_secrets`: secrets shown once, never stored, both headers, revocation;
//! - `invitations`: accepting, revoking, roles granted, and list pagination.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod matrix;
mod support;

mod api_key_matrix;
mod api_key_secrets;
mod cross_tenant;
mod invitations;
mod tax;
mod tenant_header;
mod user_matrix;
// Customer balances and currencies (issue 7).
mod balances_matrix;
