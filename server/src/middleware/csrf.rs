//! CSRF protection for cookie-authenticated writes (JSON API and server functions alike).
//!
//! Browsers attach `Origin` (or at least `Referer`) to cross-site POSTs, and a page on another
//! site cannot remove it. So a state-changing request is refused when:
//! - it names an origin other than ours (this also stops "login CSRF", which has no cookie yet), or
//! - it carries a cookie but names no origin at all.
//!
//! Requests authenticated by `Authorization` or `X-API-Key` carry no ambient credential, and a
//! cross-site page cannot set those headers without a CORS preflight we never grant.

use app::{ssr::AppState, AppError};
use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, Request},
    middleware::Next,
    response::{IntoResponse, Response},
};

pub async fn protect(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    if is_safe(request.method()) || has_explicit_credentials(request.headers()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let claimed = claimed_origin(headers);
    let allowed = match &claimed {
        Some(origin) => is_our_origin(origin, headers, &state.config.public_url),
        None => !headers.contains_key(header::COOKIE),
    };
    if !allowed {
        tracing::warn!(origin = ?claimed, path = %request.uri().path(), "cross-site write refused");
        let mut response = AppError::forbidden("csrf_check_failed", "This request did not come from the paybus dashboard.").into_response();
        // Outside the API router's own `no-store` layer: an error must not be cached either.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    next.run(request).await
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn has_explicit_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key")
}

/// `scheme://host[:port]` from `Origin`, else from `Referer`. `Origin: null` counts as foreign.
fn claimed_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return Some(origin.trim_end_matches('/').to_owned());
    }
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok())?;
    let (scheme, rest) = referer.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{authority}"))
}

fn is_our_origin(origin: &str, headers: &HeaderMap, public_url: &str) -> bool {
    if origin.eq_ignore_ascii_case(public_url) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    origin
        .split_once("://")
        .is_some_and(|(scheme, authority)| matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    #[test]
    fn the_origin_must_match_the_host_or_the_public_url() {
        let h = headers(&[("host", "127.0.0.1:3000")]);
        assert!(is_our_origin("http://127.0.0.1:3000", &h, "https://pay.example.com"));
        assert!(is_our_origin("https://pay.example.com", &h, "https://pay.example.com"));
        assert!(!is_our_origin("https://evil.example", &h, "https://pay.example.com"));
        assert!(!is_our_origin("null", &h, "https://pay.example.com"));
    }

    #[test]
    fn the_referer_stands_in_for_a_missing_origin() {
        let h = headers(&[("referer", "http://127.0.0.1:3000/members?x=1")]);
        assert_eq!(claimed_origin(&h).as_deref(), Some("http://127.0.0.1:3000"));
    }
}
