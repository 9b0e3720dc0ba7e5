//! `Idempotency-Key` on money-moving POSTs (after the IETF draft, and as Stripe does): required;
//! the same key with the same request replays the stored response with `Idempotent-Replayed:
//! true`; with a different request it is a 422; while the first is still running, a 409. Works
//! the same for API keys, JWTs and dashboard sessions, because the tenant is resolved here the
//! way the handlers resolve it. Storage and the rules: `app::ssr::idempotency`.

use app::{
    ssr::{
        auth::principal,
        idempotency::{self, Claim, Policy, StoredResponse},
        time_util::now_ms,
        AppState,
    },
    AppError,
};
use axum::{
    body::{to_bytes, Body},
    extract::{OriginalUri, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tower_sessions::Session;

pub const REPLAYED_HEADER: &str = "idempotent-replayed";

pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match run(&state, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// The key from the request: 1 to 255 visible ASCII characters.
pub fn key_of(headers: &axum::http::HeaderMap) -> Result<String, AppError> {
    let raw = headers.get("idempotency-key").ok_or_else(|| {
        AppError::invalid("idempotency_key_missing", "This request moves money: send an Idempotency-Key header (a UUID works).", Some("Idempotency-Key"))
    })?;
    let key = raw.to_str().ok().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid("idempotency_key_invalid", "Idempotency-Key must be 1 to 255 visible ASCII characters.", Some("Idempotency-Key")));
    }
    Ok(key.to_owned())
}

async fn run(state: &AppState, request: Request, next: Next) -> Result<Response, AppError> {
    // Whose key it is: resolved exactly as the handler will. If that fails, the handler answers
    // with the proper 401/403 (before any complaint about the key) and nothing is recorded.
    let session = request.extensions().get::<Session>().cloned();
    let tenant = match principal::require_principal(state, request.headers(), session.as_ref()).await {
        Ok(who) => principal::tenant_access(state, who, request.headers(), session.as_ref()).await.ok().map(|a| a.tenant_id.to_string()),
        Err(_) => None,
    };
    let Some(tenant) = tenant else { return Ok(next.run(request).await) };
    let key = key_of(request.headers())?;

    // The full path: inside the nested API router the URI has lost its `/api/v1` prefix.
    let path = request.extensions().get::<OriginalUri>().map(|u| u.path().to_owned()).unwrap_or_else(|| request.uri().path().to_owned());
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, state.config.body_limit_bytes).await.map_err(|_| AppError::PayloadTooLarge { limit_bytes: state.config.body_limit_bytes })?;
    let fingerprint = idempotency::fingerprint(parts.method.as_str(), &path, &bytes);
    let policy = Policy { ttl_ms: state.config.idempotency_ttl.as_millis() as i64, lock_ms: state.config.idempotency_lock.as_millis() as i64 };

    match idempotency::claim(&state.db, &tenant, &key, &fingerprint, &policy, now_ms()).await? {
        Claim::Replay(stored) => Ok(replay(stored)),
        Claim::Acquired { locked_until } => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let (parts, body) = response.into_parts();
            let body = match to_bytes(body, usize::MAX).await {
                Ok(body) => body,
                Err(e) => {
                    tracing::error!(error = %e, "response body unreadable");
                    idempotency::release(&state.db, &tenant, &key, locked_until).await?;
                    return Err(AppError::Internal);
                }
            };
            let text = String::from_utf8_lossy(&body).into_owned();
            if keeps_result(parts.status, &text) {
                let stored = StoredResponse {
                    status: parts.status.as_u16(),
                    body: text,
                    content_type: parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
                };
                idempotency::complete(&state.db, &tenant, &key, locked_until, &stored, now_ms()).await?;
            } else {
                idempotency::release(&state.db, &tenant, &key, locked_until).await?;
            }
            Ok(Response::from_parts(parts, Body::from(body)))
        }
    }
}

/// Which outcomes a repeat should get again. Not kept, so the client can simply retry: our own
/// failures (500, 503), Stripe not answering (a 502 timeout or unreachable — the outcome is
/// unknown, and a retry with the same key asks Stripe for the same object), conflicts (409) and
/// rate limits (429). Everything else — success, validation errors, Stripe's own refusals
/// (a declined card) — is the request's result and replays as it was.
fn keeps_result(status: StatusCode, body: &str) -> bool {
    match status.as_u16() {
        409 | 429 | 500 | 503 => false,
        502 => {
            let code = serde_json::from_str::<serde_json::Value>(body).ok().and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
            !matches!(code.as_deref(), Some("stripe_timeout" | "stripe_unreachable"))
        }
        s => s < 500,
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    if let Some(ct) = stored.content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_worth_replaying() {
        assert!(keeps_result(StatusCode::CREATED, "{}"));
        assert!(keeps_result(StatusCode::UNPROCESSABLE_ENTITY, "{}"));
        assert!(keeps_result(StatusCode::BAD_GATEWAY, r#"{"error":{"code":"card_declined"}}"#));
        assert!(!keeps_result(StatusCode::BAD_GATEWAY, r#"{"error":{"code":"stripe_timeout"}}"#));
        assert!(!keeps_result(StatusCode::INTERNAL_SERVER_ERROR, "{}"));
        assert!(!keeps_result(StatusCode::CONFLICT, "{}"));
        assert!(!keeps_result(StatusCode::TOO_MANY_REQUESTS, "{}"));
    }
}
