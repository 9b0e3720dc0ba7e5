//! The JSON API under `/api/v1`: one module per resource, each with its `router()`.

pub mod analytics;
pub mod api_keys;
pub mod audit_log;
pub mod customer_activity;
pub mod events;
pub mod extractors;
pub mod health;
pub mod identity;
pub mod members;
pub mod openapi;
pub mod payments;
pub mod rules;
pub mod plugins;
pub mod risk;
pub mod settings;
pub mod stripe_out;
pub mod tax;
pub mod tenants;
pub mod webhook;
pub mod webhook_endpoints;
// Recurring billing (issue 7).
pub mod billing;
// Customer balances and currencies (issue 7).
pub mod customers;

use app::{ssr::AppState, AppError};
use axum::{
    http::{header, HeaderValue},
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;

pub fn router(state: &AppState) -> Router<AppState> {
    let v1 = Router::new()
        .merge(health::router())
        .merge(identity::router())
        .merge(tenants::router())
        .merge(members::router())
        .merge(api_keys::router())
        .merge(events::router())
        .merge(payments::router())
        .merge(stripe_out::router())
        .merge(settings::router())
        .merge(webhook_endpoints::router())
        .merge(rules::router())
        .merge(plugins::router())
        .merge(audit_log::router())
        .merge(customer_activity::router())
        .merge(analytics::router())
        .merge(risk::router())
        .merge(tax::router())
        .merge(stripe_out::money_router(state))
        .merge(billing::router())
        .merge(customers::router())
        .merge(customers::money_router(state))
        .merge(openapi::router())
        .fallback(|| async { AppError::NotFound { message: "No such endpoint.".into() } })
        .method_not_allowed_fallback(|method: axum::http::Method| async move { AppError::MethodNotAllowed { method: method.to_string() } })
        // Responses carry tokens and account data: never cache them anywhere.
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let observability = Router::new()
        .merge(events::observability_router())
        .fallback(|| async { AppError::NotFound { message: "No such endpoint.".into() } })
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    Router::new()
        .nest("/api/v1", v1)
        .nest("/api/observability", observability)
        .merge(health::liveness_router())
        .merge(identity::browser_router())
        .merge(crate::metrics::router())
        .merge(webhook::router())
}
