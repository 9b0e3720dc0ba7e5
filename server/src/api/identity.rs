//! Accounts: signup, email verification, login, token refresh, logout, `me`.

use app::{
    domain::{dto::*, EmailAddress, Name, Password},
    ssr::{
        db::PageParams,
        services::{identity, mailbox, tenants},
        AppState,
    },
    AppError,
};
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect},
    routing::{get, post},
    Json as JsonOut, Router,
};
use serde::Deserialize;
use tower_sessions::Session;
use utoipa::ToSchema;

use super::extractors::{Caller, ClientIp, Json, Query};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", post(signup))
        .route("/verify-email", post(verify_email))
        .route("/verify-email-code", post(verify_email_code))
        .route("/verify-email/resend", post(resend_verification))
        .route("/login", post(login))
        .route("/token/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/dev/mailbox", get(dev_mailbox))
}

/// Browser-facing routes outside `/api/v1`: the link in the verification email.
pub fn browser_router() -> Router<AppState> {
    Router::new().route("/verify-email", get(verify_email_link))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupIn {
    pub email: String,
    pub password: String,
    /// Name of the tenant created for the new user (default: "<name>'s workspace").
    pub tenant_name: Option<String>,
}

/// Creates an account and its first tenant, and sends a verification link and code.
#[utoipa::path(post, path = "/api/v1/signup", tag = "identity", request_body = SignupIn,
    responses((status = 201, body = SignupOut), (status = 400, description = "Invalid email"),
              (status = 409, description = "Email already registered"), (status = 422, description = "Weak password")))]
pub async fn signup(State(state): State<AppState>, Json(body): Json<SignupIn>) -> Result<impl IntoResponse, AppError> {
    let input = identity::SignupInput {
        email: EmailAddress::parse(&body.email)?,
        password: Password::parse(&body.password)?,
        tenant_name: body.tenant_name.as_deref().map(|n| Name::parse(n, "tenant_name")).transpose()?,
    };
    Ok((StatusCode::CREATED, JsonOut(identity::signup(&state, input).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyTokenIn {
    pub token: String,
}

/// Verifies an email address with the token from the link.
#[utoipa::path(post, path = "/api/v1/verify-email", tag = "identity", request_body = VerifyTokenIn,
    responses((status = 200, body = UserOut), (status = 400, description = "Invalid or expired")))]
pub async fn verify_email(State(state): State<AppState>, Json(body): Json<VerifyTokenIn>) -> Result<JsonOut<UserOut>, AppError> {
    Ok(JsonOut(identity::verify_email_token(&state, &body.token).await?))
}

#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

/// The emailed link: verify, then send the browser to the login page (or to the code form).
async fn verify_email_link(State(state): State<AppState>, axum::extract::Query(q): axum::extract::Query<LinkQuery>) -> Redirect {
    match identity::verify_email_token(&state, q.token.as_deref().unwrap_or_default()).await {
        Ok(_) => Redirect::to("/login?verified=1"),
        Err(_) => Redirect::to("/verify-email-code?link=invalid"),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyCodeIn {
    pub email: String,
    /// The six digits from the email.
    pub code: String,
}

/// Verifies an email address with the six-digit code (five tries per code).
#[utoipa::path(post, path = "/api/v1/verify-email-code", tag = "identity", request_body = VerifyCodeIn,
    responses((status = 200, body = UserOut), (status = 400, description = "Wrong, invalid or expired code")))]
pub async fn verify_email_code(State(state): State<AppState>, Json(body): Json<VerifyCodeIn>) -> Result<JsonOut<UserOut>, AppError> {
    Ok(JsonOut(identity::verify_email_code(&state, &body.email, &body.code).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendIn {
    pub email: String,
}

/// Sends a new link and code to an unverified account. Always 202, whether or not the account
/// exists.
#[utoipa::path(post, path = "/api/v1/verify-email/resend", tag = "identity", request_body = ResendIn,
    responses((status = 202, description = "Accepted")))]
pub async fn resend_verification(State(state): State<AppState>, Json(body): Json<ResendIn>) -> Result<StatusCode, AppError> {
    identity::resend_verification(&state, &body.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub email: String,
    pub password: String,
}

/// Exchanges email and password for an access token (JWT, short-lived) and a refresh token.
#[utoipa::path(post, path = "/api/v1/login", tag = "identity", request_body = LoginIn,
    responses((status = 200, body = TokenPair),
              (status = 401, description = "`invalid_credentials`: wrong password or unknown email (indistinguishable)"),
              (status = 403, description = "`email_not_verified`: right password, email not yet verified"),
              (status = 429, description = "Too many attempts; see Retry-After")))]
pub async fn login(State(state): State<AppState>, ClientIp(ip): ClientIp, Json(body): Json<LoginIn>) -> Result<JsonOut<TokenPair>, AppError> {
    Ok(JsonOut(identity::login(&state, &body.email, &body.password, ip).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    pub refresh_token: String,
}

/// Rotates a refresh token. A token used twice revokes its whole family.
#[utoipa::path(post, path = "/api/v1/token/refresh", tag = "identity", request_body = RefreshIn,
    responses((status = 200, body = TokenPair), (status = 401, description = "Invalid, expired or reused")))]
pub async fn refresh(State(state): State<AppState>, Json(body): Json<RefreshIn>) -> Result<JsonOut<TokenPair>, AppError> {
    Ok(JsonOut(identity::refresh(&state, &body.refresh_token).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutIn {
    pub refresh_token: Option<String>,
}

/// Revokes the refresh token's family and ends the browser session, if any.
#[utoipa::path(post, path = "/api/v1/logout", tag = "identity", request_body = LogoutIn,
    responses((status = 204, description = "Logged out")))]
pub async fn logout(State(state): State<AppState>, session: Session, body: axum::body::Bytes) -> Result<StatusCode, AppError> {
    // The body is optional: a browser logging out has no refresh token to send.
    let body: LogoutIn = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutIn::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| AppError::invalid("parameter_invalid", format!("Invalid request body: {e}"), None))?
    };
    identity::logout(&state, body.refresh_token.as_deref()).await?;
    session.flush().await.map_err(app::ssr::auth::principal::session_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user, their tenants and the active tenant.
#[utoipa::path(get, path = "/api/v1/me", tag = "identity",
    responses((status = 200, body = MeOut), (status = 401, description = "Not signed in")))]
pub async fn me(State(state): State<AppState>, Caller(who): Caller, session: Session, headers: axum::http::HeaderMap) -> Result<JsonOut<MeOut>, AppError> {
    let active = app::ssr::auth::principal::tenant_access(&state, who.clone(), &headers, Some(&session)).await.ok();
    Ok(JsonOut(tenants::me(&state, &who, active.as_ref()).await?))
}

/// Messages captured by the development mail transport (404 under any other transport).
#[utoipa::path(get, path = "/api/v1/dev/mailbox", tag = "identity", params(PageParams),
    responses((status = 200, body = List<MailMessageOut>), (status = 404, description = "Not the dev transport")))]
pub async fn dev_mailbox(State(state): State<AppState>, Query(page): Query<PageParams>) -> Result<JsonOut<List<MailMessageOut>>, AppError> {
    Ok(JsonOut(mailbox::list(&state, &page).await?))
}
