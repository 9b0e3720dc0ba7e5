//! A tenant's settings (secrets masked, never cached) and the payment audit log.

use app::{
    domain::{
        dto::List,
        settings::{PaymentAuditOut, SettingsAuditOut, SettingsOut, SettingsPatch},
    },
    ssr::{
        db::PageParams,
        services::{payment_audit, payment_audit::AuditQuery, settings},
        AppState,
    },
    AppError,
};
use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::{
    extractors::{Json, Query, Tenant},
    stripe_out::PageQuery,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(get_settings).patch(update_settings).put(update_settings))
        .route("/settings/audit", get(settings_audit))
        .route("/payment-audit-log", get(audit_log))
        .route("/payment-audit-log/export.csv", get(export_audit_log))
        .route("/webhook-events/{id}/reprocess", axum::routing::post(reprocess_event))
        .route("/webhook-events/reprocess", axum::routing::post(reprocess_unparsed))
}

/// Applies a stored `unparsed` (or `unassigned`) Stripe event again; 409 if it was applied.
#[utoipa::path(post, path = "/api/v1/webhook-events/{id}/reprocess", tag = "payments", responses((status = 200, body = app::domain::ledger::WebhookEventOut), (status = 404), (status = 409)))]
pub async fn reprocess_event(State(state): State<AppState>, Tenant(access): Tenant, super::extractors::Path(id): super::extractors::Path<String>) -> Result<axum::Json<app::domain::ledger::WebhookEventOut>, AppError> {
    Ok(axum::Json(app::ssr::services::webhook_events::reprocess(&state, &access, &id).await?))
}

/// Re-processes every unparsed event of the tenant; says how many now applied.
#[utoipa::path(post, path = "/api/v1/webhook-events/reprocess", tag = "payments", responses((status = 200, body = app::ssr::services::webhook_events::ReprocessOut)))]
pub async fn reprocess_unparsed(State(state): State<AppState>, Tenant(access): Tenant) -> Result<axum::Json<app::ssr::services::webhook_events::ReprocessOut>, AppError> {
    Ok(axum::Json(app::ssr::services::webhook_events::reprocess_unparsed(&state, &access).await?))
}

/// The tenant's settings; every secret masked (`sk_live_…abcd`).
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = SettingsOut)))]
pub async fn get_settings(State(state): State<AppState>, Tenant(access): Tenant) -> Result<axum::Json<SettingsOut>, AppError> {
    Ok(axum::Json(settings::get(&state, &access).await?))
}

/// Changes the fields sent. A secret sent back as its mask (or `__unchanged__`) is kept.
#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", request_body = SettingsPatch, responses((status = 200, body = SettingsOut), (status = 400)))]
pub async fn update_settings(State(state): State<AppState>, Tenant(access): Tenant, Json(patch): Json<SettingsPatch>) -> Result<axum::Json<SettingsOut>, AppError> {
    Ok(axum::Json(settings::update(&state, &access, patch).await?))
}

/// Who changed which settings when (field names only, never values).
#[utoipa::path(get, path = "/api/v1/settings/audit", tag = "settings", params(PageQuery), responses((status = 200, body = List<SettingsAuditOut>)))]
pub async fn settings_audit(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<PageQuery>) -> Result<axum::Json<List<SettingsAuditOut>>, AppError> {
    let page = PageParams { limit: q.limit, starting_after: q.starting_after, ending_before: q.ending_before };
    Ok(axum::Json(settings::audit(&state, &access, &page).await?))
}

/// Every money-moving action and webhook effect, newest first.
#[utoipa::path(get, path = "/api/v1/payment-audit-log", tag = "settings", params(AuditQuery), responses((status = 200, body = List<PaymentAuditOut>)))]
pub async fn audit_log(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<AuditQuery>) -> Result<axum::Json<List<PaymentAuditOut>>, AppError> {
    Ok(axum::Json(payment_audit::list(&state, &access, &q).await?))
}

/// The filtered log as CSV (no Stripe ids).
#[utoipa::path(get, path = "/api/v1/payment-audit-log/export.csv", tag = "settings", params(AuditQuery), responses((status = 200, content_type = "text/csv")))]
pub async fn export_audit_log(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<AuditQuery>) -> Result<Response, AppError> {
    let csv = payment_audit::export(&state, &access, &q).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"payment-audit-log.csv\"")],
        csv,
    )
        .into_response())
}
