//! Tax: the tenant's tax rates, calculations with them, offline VAT / GST number checks, and the
//! tax breakdown of a mirrored invoice.

use app::{
    domain::{dto::List, tax::dto::*},
    ssr::{db::PageParams, services::tax, AppState},
    AppError,
};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json as JsonOut, Router,
};

use super::extractors::{Json, Path, Query, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, detail, update, delete, calculate, validate_number, invoice_tax))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tax-rates", get(list).post(create))
        .route("/tax-rates/{id}", get(detail).patch(update).delete(delete))
        .route("/tax/calculate", post(calculate))
        .route("/tax/validate-number", post(validate_number))
        .route("/invoices/{id}/tax", get(invoice_tax))
}

/// Creates a rate. One active rate per (country, region, tax code): a second is a 409.
#[utoipa::path(post, path = "/api/v1/tax-rates", tag = "tax", request_body = TaxRateIn,
    responses((status = 201, body = TaxRateOut), (status = 400, description = "Invalid country, region, tax code, name or percentage"), (status = 409, description = "An active rate for this scope exists")))]
pub async fn create(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Json(body): Json<TaxRateIn>,
) -> Result<(StatusCode, JsonOut<TaxRateOut>), AppError> {
    Ok((StatusCode::CREATED, JsonOut(tax::create(&state, &access, body).await?)))
}

/// The tenant's rates (active and inactive), newest first.
#[utoipa::path(get, path = "/api/v1/tax-rates", tag = "tax", params(PageParams), responses((status = 200, body = List<TaxRateOut>)))]
pub async fn list(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Query(page): Query<PageParams>,
) -> Result<JsonOut<List<TaxRateOut>>, AppError> {
    Ok(JsonOut(tax::list(&state, &access, &page).await?))
}

#[utoipa::path(get, path = "/api/v1/tax-rates/{id}", tag = "tax", responses((status = 200, body = TaxRateOut), (status = 404)))]
pub async fn detail(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<TaxRateOut>, AppError> {
    Ok(JsonOut(tax::get(&state, &access, &id).await?))
}

/// Changes name, percentage, inclusive or active (`active: false` deactivates the rate).
#[utoipa::path(patch, path = "/api/v1/tax-rates/{id}", tag = "tax", request_body = TaxRatePatch,
    responses((status = 200, body = TaxRateOut), (status = 400), (status = 404), (status = 409)))]
pub async fn update(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(id): Path<String>,
    Json(patch): Json<TaxRatePatch>,
) -> Result<JsonOut<TaxRateOut>, AppError> {
    Ok(JsonOut(tax::update(&state, &access, &id, patch).await?))
}

/// Deletes the rate; answers it as it was.
#[utoipa::path(delete, path = "/api/v1/tax-rates/{id}", tag = "tax", responses((status = 200, body = TaxRateOut), (status = 404)))]
pub async fn delete(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<TaxRateOut>, AppError> {
    Ok(JsonOut(tax::delete(&state, &access, &id).await?))
}

/// Tax on an amount with the most specific active rate (country + region + tax code, then
/// country + region, then country + tax code, then country). Inclusive rates take the amount
/// as gross, exclusive ones as net; tax is rounded half away from zero to the currency's unit.
#[utoipa::path(post, path = "/api/v1/tax/calculate", tag = "tax", request_body = TaxCalculateIn, responses((status = 200, body = TaxResult), (status = 400)))]
pub async fn calculate(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Json(body): Json<TaxCalculateIn>,
) -> Result<JsonOut<TaxResult>, AppError> {
    Ok(JsonOut(tax::calculate(&state, &access, body).await?))
}

/// Checks an EU VAT, UK VAT, Australian ABN or Canadian BN offline: format and, where the
/// country defines one, check digits. 400 `vat_number_invalid` / `vat_country_unsupported`
/// (wrong shape, naming the rule), 422 `vat_check_digit_mismatch`.
#[utoipa::path(post, path = "/api/v1/tax/validate-number", tag = "tax", request_body = TaxNumberIn,
    responses((status = 200, body = TaxNumberOut), (status = 400), (status = 422)))]
pub async fn validate_number(Tenant(access): Tenant, Json(body): Json<TaxNumberIn>) -> Result<JsonOut<TaxNumberOut>, AppError> {
    Ok(JsonOut(tax::validate_number(&access, &body)?))
}

/// The invoice's tax breakdown: Stripe's tax amounts when stored, else the tenant's rate for the
/// customer's country when it reproduces the invoice's tax, else one line with Stripe's total.
#[utoipa::path(get, path = "/api/v1/invoices/{id}/tax", tag = "tax", responses((status = 200, body = TaxResult), (status = 404)))]
pub async fn invoice_tax(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<TaxResult>, AppError> {
    Ok(JsonOut(tax::invoice_breakdown(&state, &access, &id).await?))
}
