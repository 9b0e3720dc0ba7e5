//! The one error type of the service layer. It crosses every edge: the JSON API renders it as a
//! Stripe-style error object, server functions send it to the dashboard, which shows `message`.

use serde::{Deserialize, Serialize};

use leptos::server_fn::{codec::JsonEncoding, error::{FromServerFnError, ServerFnErrorErr}};

pub type AppResult<T, E = AppError> = std::result::Result<T, E>;

/// Each variant is one HTTP status; `code` is the machine-readable reason within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    /// 400: the request is malformed (bad JSON, a bad parameter).
    #[error("{message}")]
    InvalidRequest { code: String, message: String, param: Option<String> },
    /// 401: no valid credentials.
    #[error("{message}")]
    Unauthenticated { code: String, message: String },
    /// 403: authenticated, but this role or tenant may not do that.
    #[error("{message}")]
    Forbidden { code: String, message: String },
    /// 404: missing, or another tenant's (never said which).
    #[error("{message}")]
    NotFound { message: String },
    /// 405: the path exists, the method does not.
    #[error("{method} is not allowed on this endpoint")]
    MethodNotAllowed { method: String },
    /// 409: a duplicate resource or a request still in flight.
    #[error("{message}")]
    Conflict { code: String, message: String, param: Option<String> },
    /// 413: the body is larger than the configured limit.
    #[error("request body is larger than {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    /// 422: well-formed but semantically wrong.
    #[error("{message}")]
    Unprocessable { code: String, message: String, param: Option<String> },
    /// 429: slow down; retry after this many seconds.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// 502: an upstream (Stripe, the mail API) failed.
    #[error("{message}")]
    Upstream { code: String, message: String },
    /// 503: the database is unreachable.
    #[error("{message}")]
    Unavailable { message: String },
    /// 500: a bug or an unexpected failure; details are logged, never sent.
    #[error("an internal error occurred")]
    Internal,
    /// The dashboard could not reach its server function at all.
    #[error("the server could not be reached: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(code: &str, message: impl Into<String>, param: Option<&str>) -> Self {
        Self::InvalidRequest { code: code.into(), message: message.into(), param: param.map(Into::into) }
    }

    pub fn unprocessable(code: &str, message: impl Into<String>, param: Option<&str>) -> Self {
        Self::Unprocessable { code: code.into(), message: message.into(), param: param.map(Into::into) }
    }

    pub fn unauthenticated(code: &str, message: impl Into<String>) -> Self {
        Self::Unauthenticated { code: code.into(), message: message.into() }
    }

    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::Forbidden { code: code.into(), message: message.into() }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound { message: format!("No such {what}") }
    }

    pub fn conflict(code: &str, message: impl Into<String>, param: Option<&str>) -> Self {
        Self::Conflict { code: code.into(), message: message.into(), param: param.map(Into::into) }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest { .. } => 400,
            Self::Unauthenticated { .. } => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Conflict { .. } => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::Unprocessable { .. } => 422,
            Self::RateLimited { .. } => 429,
            Self::Upstream { .. } => 502,
            Self::Unavailable { .. } => 503,
            Self::Internal | Self::Transport(_) => 500,
        }
    }

    /// Stripe's `error.type`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest { .. }
            | Self::NotFound { .. }
            | Self::MethodNotAllowed { .. }
            | Self::Conflict { .. }
            | Self::PayloadTooLarge { .. }
            | Self::Unprocessable { .. } => "invalid_request_error",
            Self::Unauthenticated { .. } => "authentication_error",
            Self::Forbidden { .. } => "permission_error",
            Self::RateLimited { .. } => "rate_limit_error",
            Self::Upstream { .. } | Self::Unavailable { .. } | Self::Internal | Self::Transport(_) => "api_error",
        }
    }

    /// Stripe's `error.code`.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidRequest { code, .. }
            | Self::Unauthenticated { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Upstream { code, .. } => code,
            Self::NotFound { .. } => "resource_missing",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "database_unavailable",
            Self::Internal => "internal_error",
            Self::Transport(_) => "transport_error",
        }
    }

    pub fn param(&self) -> Option<&str> {
        match self {
            Self::InvalidRequest { param, .. } | Self::Conflict { param, .. } | Self::Unprocessable { param, .. } => {
                param.as_deref()
            }
            _ => None,
        }
    }

    /// The Stripe-style body: `{ "error": { "type", "code", "message", "param"? } }`.
    pub fn to_body(&self) -> serde_json::Value {
        let mut error = serde_json::json!({
            "type": self.error_type(),
            "code": self.code(),
            "message": self.to_string(),
        });
        if let Some(param) = self.param() {
            error["param"] = param.into();
        }
        serde_json::json!({ "error": error })
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                AppError::invalid("parameter_invalid", msg, None)
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

impl From<crate::domain::email::EmailError> for AppError {
    fn from(e: crate::domain::email::EmailError) -> Self {
        AppError::invalid("email_invalid", e.to_string(), Some("email"))
    }
}

impl From<crate::domain::password::PasswordError> for AppError {
    fn from(e: crate::domain::password::PasswordError) -> Self {
        AppError::unprocessable("password_too_weak", e.to_string(), Some("password"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_a_stripe_style_error_object() {
        let body = AppError::invalid("email_invalid", "bad", Some("email")).to_body();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "email_invalid");
        assert_eq!(body["error"]["param"], "email");
    }

    #[test]
    fn internal_errors_say_nothing_about_their_cause() {
        assert_eq!(AppError::Internal.to_body()["error"]["message"], "an internal error occurred");
    }
}
