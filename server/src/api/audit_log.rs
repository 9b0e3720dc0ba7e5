//! The tenant's audit trail (written by the `audit-log` plugin): search and CSV export.

use app::{
    domain::{audit_log::AuditLogEntryOut, dto::List},
    ssr::{
        services::audit_log::{self, AuditLogQuery},
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

use super::extractors::{Query, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_audit_log, export_audit_log))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit-log", get(list_audit_log)).route("/audit-log/export.csv", get(export_audit_log))
}

/// Who did what in the tenant, newest first: one entry per event, with the actor, where the
/// request came from, a summary and the object. Filter by text (`q`), event type pattern
/// (`type=payment.*`), `actor` and time (`from`, `to`).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit-log", params(AuditLogQuery),
    responses((status = 200, body = List<AuditLogEntryOut>), (status = 400), (status = 403)))]
pub async fn list_audit_log(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<AuditLogQuery>) -> Result<axum::Json<List<AuditLogEntryOut>>, AppError> {
    Ok(axum::Json(audit_log::list(&state, &access, &q).await?))
}

/// The filtered trail as CSV (all pages).
#[utoipa::path(get, path = "/api/v1/audit-log/export.csv", tag = "audit-log", params(AuditLogQuery),
    responses((status = 200, content_type = "text/csv"), (status = 400), (status = 403)))]
pub async fn export_audit_log(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<AuditLogQuery>) -> Result<Response, AppError> {
    let csv = audit_log::export(&state, &access, &q).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"audit-log.csv\"")], csv).into_response())
}
