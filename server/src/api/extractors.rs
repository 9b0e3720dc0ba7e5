//! What a handler's signature can ask for: a parsed JSON body, the caller, the tenant.

use std::net::{IpAddr, SocketAddr};

use app::{
    ssr::{
        auth::{principal, Principal, TenantAccess},
        AppState,
    },
    AppError,
};
use axum::{
    extract::{rejection::JsonRejection, ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;
use tower_sessions::Session;

/// `axum::Json`, but a bad body becomes our error object: 400 for broken JSON or a bad field,
/// 413 for too large, 415 never (a missing content type is a 400 with a hint).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection, state.config.body_limit_bytes)),
        }
    }
}

fn json_rejection(rejection: JsonRejection, limit_bytes: usize) -> AppError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            let detail = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.body_text());
            AppError::invalid("parameter_invalid", format!("Invalid request body: {detail}"), None)
        }
        JsonRejection::JsonSyntaxError(e) => {
            let detail = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.body_text());
            AppError::invalid("json_invalid", format!("The body is not valid JSON: {detail}"), None)
        }
        JsonRejection::MissingJsonContentType(_) => {
            AppError::invalid("content_type_invalid", "Send the body as JSON with `Content-Type: application/json`.", None)
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge { limit_bytes }
        }
        other => AppError::invalid("body_invalid", other.body_text(), None),
    }
}

/// Query-string parameters, with our error object on failure.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| AppError::invalid("parameter_invalid", e.body_text(), None))
    }
}

async fn optional_session<S: Send + Sync>(parts: &mut Parts, state: &S) -> Option<Session> {
    Session::from_request_parts(parts, state).await.ok()
}

/// An authenticated caller (401 otherwise).
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = optional_session(parts, state).await;
        principal::require_principal(state, &parts.headers, session.as_ref()).await.map(Caller)
    }
}

/// An authenticated caller acting in one tenant (`X-Tenant-Id`, session, or default).
pub struct Tenant(pub TenantAccess);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = optional_session(parts, state).await;
        let who = principal::require_principal(state, &parts.headers, session.as_ref()).await?;
        principal::tenant_access(state, who, &parts.headers, session.as_ref()).await.map(Tenant)
    }
}

/// The client's IP: the socket peer, or the first `X-Forwarded-For` hop when
/// `PAYBUS_TRUST_PROXY` says a proxy sets it.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if state.config.trust_proxy {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|ip| ip.trim().parse().ok());
            if forwarded.is_some() {
                return Ok(ClientIp(forwarded));
            }
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientIp(peer))
    }
}

/// Path parameters. A segment that does not even decode cannot name one of the caller's objects:
/// it is a 404 like any other unknown id, with the error object.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| AppError::NotFound { message: "No such object.".into() })
    }
}
