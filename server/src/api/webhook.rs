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
    let tolerance = state.config.stripe.webhook_tolerance_secs;
    let platform = signature::verify(header, &body, &state.config.stripe.platform_webhook_secrets, tolerance, received_ms / 1000);
    if let Err(e) = platform {
        // A Connect endpoint of the tenant's own signs with the tenant's secrets. Only the tenant
        // owning the event's account is tried, so a tenant's secret can only vouch for its own
        // account's events — which is exactly where the ledger will apply them.
        let verified_by_tenant = match tenant_secrets_for(&state, &body).await? {
            Some(secrets) => signature::verify(header, &body, &secrets, tolerance, received_ms / 1000).is_ok(),
            None => false,
        };
        if !verified_by_tenant {
            tracing::warn!(code = e.code(), "webhook rejected");
            ingest::record_rejected(&state.bus, &body, &e.to_string(), received_ms).await?;
            return Err(AppError::invalid(e.code(), e.to_string(), None));
        }
    }
    let outcome = ingest::ingest(&state.bus, &body, Source::Webhook, received_ms).await?;
    Ok(Json(json!({ "received": true, "id": outcome.webhook_event_id, "status": outcome.status })))
}

/// The webhook secrets of the tenant owning the (still unverified) event's connected account.
async fn tenant_secrets_for(state: &AppState, body: &[u8]) -> Result<Option<Vec<app::ssr::config::Secret>>, AppError> {
    let account = serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("account").and_then(|a| a.as_str()).map(str::to_owned));
    let Some(account) = account else { return Ok(None) };
    let tenant: Option<String> = sqlx::query_scalar("SELECT tenant_id FROM stripe_accounts WHERE account_id = $1")
        .bind(&account)
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(tenant) = tenant else { return Ok(None) };
    let tenant = <app::domain::TenantId as app::domain::PrefixedId>::from_trusted(tenant);
    let secrets = app::ssr::services::settings::stripe_credentials(state, &tenant).await?.webhook_secrets;
    Ok((!secrets.is_empty()).then_some(secrets))
}
