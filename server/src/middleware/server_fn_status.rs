//! Leptos answers every failed server function with 500. A client mistake (a wrong password, a
//! missing field, a role too low) is not a server failure: read the error the function returned
//! and answer with its own status, as the JSON API does. The body stays as Leptos wrote it, so
//! the dashboard decodes the same error.

use app::AppError;
use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::Response,
};

/// Server function error bodies are a few hundred bytes; anything larger is not one of ours.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn correct(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/sfn/") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.status()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
