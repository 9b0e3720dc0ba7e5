//! Every request's span carries its `x-request-id` (set by `SetRequestIdLayer`, echoed back).

use axum::{body::Body, http::Request};
use tracing::Span;

pub fn span(request: &Request<Body>) -> Span {
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
}
