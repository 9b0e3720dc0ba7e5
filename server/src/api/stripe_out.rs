//! Stripe out over HTTP: Connect onboarding, hosted checkout and products, capture / cancel /
//! refund, and the reconciliation sweeper's runs. Every POST that creates something at Stripe or
//! moves money takes an `Idempotency-Key` and is in [`money_router`].

use app::{
    domain::{dto::List, stripe_out::*},
    ssr::{
        db::PageParams,
        ledger::reconcile,
        services::{checkout, connect, payment_actions, products},
        AppState,
    },
    AppError,
};
use axum::{
    extract::State,
    http::{request::Parts, StatusCode},
    routing::{get, post},
    Router,
};

use super::extractors::{ClientIp, Json, Path, Query, Tenant};

/// Reads of Stripe-out state, and POSTs that neither create at Stripe nor move money.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connect/account", get(connect_account))
        .route("/connect/express-login-link", get(express_login_link))
        .route("/checkout-sessions", get(list_checkout_sessions))
        .route("/products", get(list_products).post(create_product))
        .route("/products/{id}", get(product))
        .route("/webhook-events/reconciliations", get(reconciliation_runs).post(reconcile_now))
}

/// POSTs that create objects at Stripe or move money: `Idempotency-Key` required, and repeats
/// answered from the idempotency records.
pub fn money_router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/connect/accounts", post(create_connect_account))
        .route("/connect/account-links", post(create_account_link))
        .route("/checkout-sessions", post(create_checkout_session))
        .route("/payments/{id}/capture", post(capture))
        .route("/payments/{id}/cancel", post(cancel))
        .route("/refunds", post(create_refund))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::middleware::idempotency::enforce))
}

/// The client's `Idempotency-Key`: required, visible ASCII, at most 255 characters.
pub struct IdempotencyKey(pub String);

impl axum::extract::FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, AppError> {
        crate::middleware::idempotency::key_of(&parts.headers).map(IdempotencyKey)
    }
}

/// A JSON body that may be left out entirely (all its fields are optional).
pub struct OptionalJson<T>(pub T);

impl<T: serde::de::DeserializeOwned + Default> axum::extract::FromRequest<AppState> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, AppError> {
        let has_body = req.headers().get(axum::http::header::CONTENT_LENGTH).is_some_and(|v| v != "0")
            || req.headers().get(axum::http::header::TRANSFER_ENCODING).is_some();
        if !has_body {
            return Ok(OptionalJson(T::default()));
        }
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(OptionalJson(value))
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

impl PageQuery {
    fn page(self) -> PageParams {
        PageParams { limit: self.limit, starting_after: self.starting_after, ending_before: self.ending_before }
    }
}

/// Creates the tenant's Stripe Express account (201), or returns the one it has (200).
#[utoipa::path(post, path = "/api/v1/connect/accounts", tag = "connect", request_body = CreateConnectAccountIn,
    responses((status = 201, body = ConnectAccountOut), (status = 200, body = ConnectAccountOut), (status = 502)))]
pub async fn create_connect_account(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    _key: IdempotencyKey,
    OptionalJson(input): OptionalJson<CreateConnectAccountIn>,
) -> Result<(StatusCode, axum::Json<ConnectAccountOut>), AppError> {
    let (account, created) = connect::create_account(&state, &access, input).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, axum::Json(account)))
}

/// Charges and payouts enabled, details submitted, and what Stripe still requires.
#[utoipa::path(get, path = "/api/v1/connect/account", tag = "connect", responses((status = 200, body = ConnectAccountOut), (status = 404)))]
pub async fn connect_account(State(state): State<AppState>, Tenant(access): Tenant) -> Result<axum::Json<ConnectAccountOut>, AppError> {
    Ok(axum::Json(connect::get_account(&state, &access).await?))
}

/// A Stripe-hosted onboarding link (single use, expires in minutes).
#[utoipa::path(post, path = "/api/v1/connect/account-links", tag = "connect", request_body = AccountLinkIn, responses((status = 201, body = LinkOut)))]
pub async fn create_account_link(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    _key: IdempotencyKey,
    OptionalJson(input): OptionalJson<AccountLinkIn>,
) -> Result<(StatusCode, axum::Json<LinkOut>), AppError> {
    Ok((StatusCode::CREATED, axum::Json(connect::account_link(&state, &access, input).await?)))
}

/// A login link to the merchant's Express dashboard.
#[utoipa::path(get, path = "/api/v1/connect/express-login-link", tag = "connect", responses((status = 200, body = LinkOut)))]
pub async fn express_login_link(State(state): State<AppState>, Tenant(access): Tenant) -> Result<axum::Json<LinkOut>, AppError> {
    Ok(axum::Json(connect::express_login_link(&state, &access).await?))
}

/// A hosted Checkout Session on the tenant's account. Rate limited per client IP; refused while
/// payments are disabled for the tenant.
#[utoipa::path(post, path = "/api/v1/checkout-sessions", tag = "checkout", request_body = CheckoutSessionIn,
    responses((status = 201, body = CheckoutSessionOut), (status = 403), (status = 409), (status = 422), (status = 429), (status = 502)))]
pub async fn create_checkout_session(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    ClientIp(ip): ClientIp,
    IdempotencyKey(key): IdempotencyKey,
    Json(input): Json<CheckoutSessionIn>,
) -> Result<(StatusCode, axum::Json<CheckoutSessionOut>), AppError> {
    checkout::guard(&state, &access, ip).await?;
    Ok((StatusCode::CREATED, axum::Json(checkout::create(&state, &access, input, &key).await?)))
}

#[utoipa::path(get, path = "/api/v1/checkout-sessions", tag = "checkout", params(PageQuery), responses((status = 200, body = List<CheckoutSessionOut>)))]
pub async fn list_checkout_sessions(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<PageQuery>) -> Result<axum::Json<List<CheckoutSessionOut>>, AppError> {
    Ok(axum::Json(checkout::list(&state, &access, &q.page()).await?))
}

#[utoipa::path(post, path = "/api/v1/products", tag = "checkout", request_body = ProductIn, responses((status = 201, body = ProductOut)))]
pub async fn create_product(State(state): State<AppState>, Tenant(access): Tenant, Json(input): Json<ProductIn>) -> Result<(StatusCode, axum::Json<ProductOut>), AppError> {
    Ok((StatusCode::CREATED, axum::Json(products::create(&state, &access, input).await?)))
}

#[utoipa::path(get, path = "/api/v1/products", tag = "checkout", params(PageQuery), responses((status = 200, body = List<ProductOut>)))]
pub async fn list_products(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<PageQuery>) -> Result<axum::Json<List<ProductOut>>, AppError> {
    Ok(axum::Json(products::list(&state, &access, &q.page()).await?))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "checkout", responses((status = 200, body = ProductOut), (status = 404)))]
pub async fn product(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<axum::Json<ProductOut>, AppError> {
    Ok(axum::Json(products::get(&state, &access, &id).await?))
}

/// Captures an authorised payment, in full or up to `amount`.
#[utoipa::path(post, path = "/api/v1/payments/{id}/capture", tag = "payments", request_body = CaptureIn,
    responses((status = 200, body = PaymentActionOut), (status = 404), (status = 422), (status = 502)))]
pub async fn capture(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    OptionalJson(input): OptionalJson<CaptureIn>,
) -> Result<axum::Json<PaymentActionOut>, AppError> {
    Ok(axum::Json(payment_actions::capture(&state, &access, &id, input, &key).await?))
}

/// Cancels a payment that has not been captured.
#[utoipa::path(post, path = "/api/v1/payments/{id}/cancel", tag = "payments", responses((status = 200, body = PaymentActionOut), (status = 404), (status = 422), (status = 502)))]
pub async fn cancel(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    Path(id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
) -> Result<axum::Json<PaymentActionOut>, AppError> {
    Ok(axum::Json(payment_actions::cancel(&state, &access, &id, &key).await?))
}

/// Refunds a payment in full or in part, on the account it was made on.
#[utoipa::path(post, path = "/api/v1/refunds", tag = "payments", request_body = RefundIn,
    responses((status = 201, body = RefundRequestOut), (status = 404), (status = 422), (status = 502)))]
pub async fn create_refund(
    State(state): State<AppState>,
    Tenant(access): Tenant,
    IdempotencyKey(key): IdempotencyKey,
    Json(input): Json<RefundIn>,
) -> Result<(StatusCode, axum::Json<RefundRequestOut>), AppError> {
    Ok((StatusCode::CREATED, axum::Json(payment_actions::refund(&state, &access, input, &key).await?)))
}

/// The reconciliation sweeper's runs for this tenant's account, newest first.
#[utoipa::path(get, path = "/api/v1/webhook-events/reconciliations", tag = "payments", params(PageQuery), responses((status = 200, body = List<ReconciliationRunOut>)))]
pub async fn reconciliation_runs(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<PageQuery>) -> Result<axum::Json<List<ReconciliationRunOut>>, AppError> {
    Ok(axum::Json(reconcile::runs(&state, &access, &q.page()).await?))
}

/// Pulls Stripe's undelivered events for this tenant's account now and ingests what is missing.
#[utoipa::path(post, path = "/api/v1/webhook-events/reconciliations", tag = "payments", responses((status = 201, body = ReconciliationRunOut)))]
pub async fn reconcile_now(State(state): State<AppState>, Tenant(access): Tenant) -> Result<(StatusCode, axum::Json<ReconciliationRunOut>), AppError> {
    Ok((StatusCode::CREATED, axum::Json(reconcile::sweep_tenant(&state, &access).await?)))
}
