//! `POST /webhook`: Stripe's events in. Verified against the raw bytes, applied in one
//! transaction, answered 2xx only after it commits. A rejected request is audited with the
//! reason and changes nothing else.

use app::{
    ssr::{
        ledger::ingest::{self, Source},
        stripe::signature,
        time_util::now_ms,
        AppState,
    },
    AppError,
};
use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook", post(receive))
}

pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, AppError> {
    let received_ms = now_ms();
    let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let secrets = &state.config.stripe.platform_webhook_secrets;
    if let Err(e) = signature::verify(header, &body, secrets, state.config.stripe.webhook_tolerance_secs, received_ms / 1000) {
        tracing::warn!(code = e.code(), "webhook rejected");
        ingest::record_rejected(&state.bus, &body, &e.to_string(), received_ms).await?;
        return Err(AppError::invalid(e.code(), e.to_string(), None));
    }
    let outcome = ingest::ingest(&state.bus, &body, Source::Webhook, received_ms).await?;
    Ok(Json(json!({ "received": true, "id": outcome.webhook_event_id, "status": outcome.status })))
}
