//! Recurring billing over HTTP: subscriptions and invoices mirrored from Stripe (filters, cursors,
//! one of each) and their streamed CSV exports.

use app::{
    domain::{
        billing::{InvoiceOut, SubscriptionOut},
        dto::List,
    },
    ssr::{
        auth::TenantAccess,
        services::{
            billing::{self, InvoiceQuery, SubscriptionQuery, INVOICES_CSV_HEADER, SUBSCRIPTIONS_CSV_HEADER},
            payments::CsvPage,
        },
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

#[derive(utoipa::OpenApi)]
#[openapi(paths(subscriptions, subscription, export_subscriptions, invoices, invoice, export_invoices))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(subscriptions))
        .route("/subscriptions/export.csv", get(export_subscriptions))
        .route("/subscriptions/{id}", get(subscription))
        .route("/invoices", get(invoices))
        .route("/invoices/export.csv", get(export_invoices))
        .route("/invoices/{id}", get(invoice))
}

/// Subscriptions mirrored from Stripe, newest first, filtered by status and customer.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "billing", params(SubscriptionQuery), responses((status = 200, body = List<SubscriptionOut>)))]
pub async fn subscriptions(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Query(q): Query<SubscriptionQuery>,
) -> Result<Json<List<SubscriptionOut>>, AppError> {
    Ok(Json(billing::subscriptions(&state, &access, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", tag = "billing", responses((status = 200, body = SubscriptionOut), (status = 404)))]
pub async fn subscription(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<Json<SubscriptionOut>, AppError> {
    Ok(Json(billing::subscription(&state, &access, &id).await?))
}

/// Invoices mirrored from Stripe, newest first; `status=overdue` lists open invoices past due.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "billing", params(InvoiceQuery), responses((status = 200, body = List<InvoiceOut>)))]
pub async fn invoices(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<InvoiceQuery>) -> Result<Json<List<InvoiceOut>>, AppError> {
    Ok(Json(billing::invoices(&state, &access, &q).await?))
}

/// One invoice, with the paybus payment that paid it.
#[utoipa::path(get, path = "/api/v1/invoices/{id}", tag = "billing", responses((status = 200, body = InvoiceOut), (status = 404)))]
pub async fn invoice(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<Json<InvoiceOut>, AppError> {
    Ok(Json(billing::invoice(&state, &access, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/subscriptions/export.csv", tag = "billing", params(SubscriptionQuery), responses((status = 200, content_type = "text/csv")))]
pub async fn export_subscriptions(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<SubscriptionQuery>) -> Result<Response, AppError> {
    stream_csv(state, access, Export::Subscriptions(q), SUBSCRIPTIONS_CSV_HEADER, "subscriptions.csv").await
}

#[utoipa::path(get, path = "/api/v1/invoices/export.csv", tag = "billing", params(InvoiceQuery), responses((status = 200, content_type = "text/csv")))]
pub async fn export_invoices(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<InvoiceQuery>) -> Result<Response, AppError> {
    stream_csv(state, access, Export::Invoices(q), INVOICES_CSV_HEADER, "invoices.csv").await
}

#[derive(Clone)]
enum Export {
    Subscriptions(SubscriptionQuery),
    Invoices(InvoiceQuery),
}

async fn export_page(state: &AppState, access: &TenantAccess, kind: &Export, after: Option<String>) -> Result<CsvPage, AppError> {
    match kind {
        Export::Subscriptions(q) => billing::export_subscriptions(state, access, q, after).await,
        Export::Invoices(q) => billing::export_invoices(state, access, q, after).await,
    }
}

fn lines_of(page: &CsvPage) -> String {
    let mut chunk = String::new();
    for line in &page.lines {
        chunk.push_str(line);
        chunk.push('\n');
    }
    chunk
}

/// Streams an export page by page; the first page is read before answering, so a bad filter or
/// a missing permission is a proper error response rather than a truncated file.
async fn stream_csv(state: AppState, access: TenantAccess, kind: Export, header_line: &'static str, filename: &'static str) -> Result<Response, AppError> {
    let first = export_page(&state, &access, &kind, None).await?;
    let head = format!("{header_line}\n{}", lines_of(&first));
    let start = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(head)) });
    let rest = futures_util::stream::unfold(first.next, move |cursor| {
        let (state, access, kind) = (state.clone(), access.clone(), kind.clone());
        async move {
            let after = cursor?;
            match export_page(&state, &access, &kind, Some(after)).await {
                Ok(page) => Some((Ok(Bytes::from(lines_of(&page))), page.next)),
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    use futures_util::StreamExt;
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))],
        Body::from_stream(start.chain(rest)),
    )
        .into_response())
}
