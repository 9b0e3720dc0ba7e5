//! Makes the request's id, door (API, dashboard, webhook), client IP and user agent available to
//! events published while serving it, without threading them through every service call.

use std::net::{IpAddr, SocketAddr};

use app::{
    domain::events::EventSource,
    ssr::{
        bus::context::{RequestMeta, REQUEST_META},
        AppState,
    },
};
use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::Response,
};

pub async fn scope(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(512).collect::<String>());
    let forwarded: Option<IpAddr> = state
        .config
        .trust_proxy
        .then(|| text("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.split(',').next().and_then(|ip| ip.trim().parse().ok()));
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let path = request.uri().path();
    let source = if path.starts_with("/sfn") || !path.starts_with("/api") && !path.starts_with("/webhook") {
        EventSource::Dashboard
    } else if path.starts_with("/webhook") {
        EventSource::Webhook
    } else {
        EventSource::Api
    };
    let meta = RequestMeta {
        request_id: text("x-request-id"),
        source: Some(source),
        ip: forwarded.or(peer).map(|ip| ip.to_string()),
        user_agent: text("user-agent"),
    };
    REQUEST_META.scope(meta, next.run(request)).await
}
