//! placeholder
#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
