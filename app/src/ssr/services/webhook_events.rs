//! Re-processing stored Stripe events: an `unparsed` one after an upgrade taught paybus its
//! shape, never dropped in between. Tenant-scoped; the platform's operators use the CLI.

use serde::{Deserialize, Serialize};

use crate::{
    domain::{ledger::WebhookEventOut, Action, PrefixedId},
    error::{AppError, AppResult},
    ssr::{auth::TenantAccess, ledger::ingest, time_util::from_ms, AppState},
};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReprocessOut {
    /// Now applied.
    pub processed: u64,
    /// Still not readable (or not assignable) by this version of paybus.
    pub still_pending: u64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    stripe_event_id: Option<String>,
    #[sqlx(rename = "type")]
    event_type: Option<String>,
    account: Option<String>,
    source: String,
    status: String,
    error: Option<String>,
    received_at: i64,
}

async fn load(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<WebhookEventOut> {
    let row: Row = sqlx::query_as("SELECT id, stripe_event_id, type, account, source, status, error, received_at FROM webhook_events WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(access.tenant_id.as_str())
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| AppError::not_found("webhook event"))?;
    Ok(WebhookEventOut {
        id: row.id,
        stripe_event_id: row.stripe_event_id,
        event_type: row.event_type,
        account: row.account,
        source: row.source,
        status: row.status,
        error: row.error,
        received_at: from_ms(row.received_at),
    })
}

/// Applies one stored event again; 409 if it was already applied.
pub async fn reprocess(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<WebhookEventOut> {
    access.require(Action::WebhookEventsReprocess)?;
    load(state, access, id).await?;
    let outcome = ingest::reprocess(&state.bus, id).await?;
    state.bus.wake();
    tracing::info!(webhook_event = id, status = outcome.status, "webhook event re-processed");
    load(state, access, id).await
}

/// Every unparsed event of the tenant, again.
pub async fn reprocess_unparsed(state: &AppState, access: &TenantAccess) -> AppResult<ReprocessOut> {
    access.require(Action::WebhookEventsReprocess)?;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM webhook_events WHERE tenant_id = $1 AND status = 'unparsed' ORDER BY received_at")
        .bind(access.tenant_id.as_str())
        .fetch_all(&state.db.pool)
        .await?;
    let mut out = ReprocessOut { processed: 0, still_pending: 0 };
    for id in ids {
        match ingest::reprocess(&state.bus, &id).await {
            Ok(done) if done.status == "processed" => out.processed += 1,
            Ok(_) => out.still_pending += 1,
            // Someone else got to it first.
            Err(AppError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    state.bus.wake();
    Ok(out)
}
