//! The ledger over HTTP: payments (filters, search, cursors), a payment's timeline, refunds,
//! disputes, the webhook audit, and streamed CSV exports.

use app::{
    domain::{dto::List, ledger::*},
    ssr::{
        auth::TenantAccess,
        services::payments::{self, ChildQuery, Export, PaymentQuery, DISPUTES_CSV_HEADER, PAYMENTS_CSV_HEADER, REFUNDS_CSV_HEADER},
        AppState,
    },
    AppError,
};
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};

use super::extractors::{Path, Query, Tenant};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments", get(list))
        .route("/payments/export.csv", get(export_payments))
        .route("/payments/{id}", get(detail))
        .route("/payments/{id}/timeline", get(timeline))
        .route("/refunds", get(refunds))
        .route("/refunds/export.csv", get(export_refunds))
        .route("/disputes", get(disputes))
        .route("/disputes/export.csv", get(export_disputes))
        .route("/disputes/{id}", get(dispute))
        .route("/webhook-events", get(webhook_events))
}

/// Payments, newest first, filtered by status, creation time, amount and customer email.
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments", params(PaymentQuery), responses((status = 200, body = List<PaymentOut>)))]
pub async fn list(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<PaymentQuery>) -> Result<Json<List<PaymentOut>>, AppError> {
    Ok(Json(payments::list(&state, &access, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments", responses((status = 200, body = PaymentOut), (status = 404)))]
pub async fn detail(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<Json<PaymentOut>, AppError> {
    Ok(Json(payments::get(&state, &access, &id).await?))
}

/// Every webhook and API action on the payment, oldest first.
#[utoipa::path(get, path = "/api/v1/payments/{id}/timeline", tag = "payments", responses((status = 200, body = List<TimelineEntryOut>), (status = 404)))]
pub async fn timeline(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<Json<List<TimelineEntryOut>>, AppError> {
    Ok(Json(payments::timeline(&state, &access, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/refunds", tag = "payments", params(ChildQuery), responses((status = 200, body = List<RefundOut>)))]
pub async fn refunds(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<ChildQuery>) -> Result<Json<List<RefundOut>>, AppError> {
    Ok(Json(payments::refunds(&state, &access, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/disputes", tag = "payments", params(ChildQuery), responses((status = 200, body = List<DisputeOut>)))]
pub async fn disputes(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<ChildQuery>) -> Result<Json<List<DisputeOut>>, AppError> {
    Ok(Json(payments::disputes(&state, &access, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/disputes/{id}", tag = "payments", responses((status = 200, body = DisputeOut), (status = 404)))]
pub async fn dispute(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<Json<DisputeOut>, AppError> {
    Ok(Json(payments::dispute(&state, &access, &id).await?))
}

/// The Stripe webhook audit of the tenant: every event received, with its status and error.
#[utoipa::path(get, path = "/api/v1/webhook-events", tag = "payments", params(ChildQuery), responses((status = 200, body = List<WebhookEventOut>)))]
pub async fn webhook_events(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<ChildQuery>) -> Result<Json<List<WebhookEventOut>>, AppError> {
    Ok(Json(payments::webhook_events(&state, &access, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/payments/export.csv", tag = "payments", params(PaymentQuery), responses((status = 200, content_type = "text/csv")))]
pub async fn export_payments(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<PaymentQuery>) -> Result<Response, AppError> {
    stream_csv(state, access, Export::Payments, q, ChildQuery::default(), PAYMENTS_CSV_HEADER, "payments.csv").await
}

#[utoipa::path(get, path = "/api/v1/refunds/export.csv", tag = "payments", params(ChildQuery), responses((status = 200, content_type = "text/csv")))]
pub async fn export_refunds(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<ChildQuery>) -> Result<Response, AppError> {
    stream_csv(state, access, Export::Refunds, PaymentQuery::default(), q, REFUNDS_CSV_HEADER, "refunds.csv").await
}

#[utoipa::path(get, path = "/api/v1/disputes/export.csv", tag = "payments", params(ChildQuery), responses((status = 200, content_type = "text/csv")))]
pub async fn export_disputes(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<ChildQuery>) -> Result<Response, AppError> {
    stream_csv(state, access, Export::Disputes, PaymentQuery::default(), q, DISPUTES_CSV_HEADER, "disputes.csv").await
}

/// Streams an export page by page: the first page is read before answering, so a bad filter
/// or a missing permission is a proper error response, not a truncated file.
async fn stream_csv(state: AppState, access: TenantAccess, kind: Export, pq: PaymentQuery, cq: ChildQuery, header_line: &'static str, filename: &'static str) -> Result<Response, AppError> {
    let first = payments::export_page(&state, &access, kind, &pq, &cq, None).await?;
    let mut head = format!("{header_line}\n");
    for line in &first.lines {
        head.push_str(line);
        head.push('\n');
    }
    let start = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(head)) });
    let rest = futures_util::stream::unfold(first.next, move |cursor| {
        let (state, access, pq, cq) = (state.clone(), access.clone(), pq.clone(), cq.clone());
        async move {
            let after = cursor?;
            match payments::export_page(&state, &access, kind, &pq, &cq, Some(after)).await {
                Ok(page) => {
                    let mut chunk = String::new();
                    for line in &page.lines {
                        chunk.push_str(line);
                        chunk.push('\n');
                    }
                    Some((Ok(Bytes::from(chunk)), page.next))
                }
                // Mid-stream the status is already sent: end the body with an error so the client
                // sees a broken transfer rather than a silently short file.
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    use futures_util::StreamExt;
    let body = Body::from_stream(start.chain(rest));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response())
}
