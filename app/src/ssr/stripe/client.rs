//! Calling Stripe: requests are built with async-stripe's typed builders and sent by its client
//! (auth, `Stripe-Version`, `Stripe-Account`, `Idempotency-Key`, timeouts); responses are read
//! as raw JSON and picked apart by [`super::objects`].
//!
//! Why raw responses: async-stripe deserializes strictly into the pinned API version's types. If
//! Stripe returns a field shape the crate does not expect, a refund that Stripe already made
//! would surface as a deserialization error — we would tell the client "failed" about money that
//! moved. Reading only the fields we need keeps that failure mode away from money-moving calls.

use std::time::Duration;

use stripe::{Client, ClientBuilder, RequestStrategy, StripeError};
use stripe_client_core::{IdempotencyKey, RequestBuilder, StripeMethod};
use stripe_client_core::StripeRequest;

use crate::{error::AppError, ssr::config::Secret};

/// The API version every request pins (async-stripe's generated types follow it).
pub fn api_version() -> &'static str {
    static PINNED: stripe_shared::ApiVersion = stripe_shared::version::VERSION;
    PINNED.as_str()
}

/// A Stripe client for one credential.
#[derive(Clone, Debug)]
pub struct StripeGateway {
    client: Client,
}

/// Where a call acts: the platform itself, or a connected account (`Stripe-Account`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnBehalfOf {
    Platform,
    Account(String),
}

impl StripeGateway {
    pub fn new(secret_key: &Secret, api_base: &str, timeout: Duration) -> Result<Self, AppError> {
        // async-stripe appends `v1/…` to the base, so it must end with a slash.
        let base = if api_base.ends_with('/') { api_base.to_owned() } else { format!("{api_base}/") };
        let client = ClientBuilder::new(secret_key.expose())
            .url(base)
            .timeout(timeout)
            .app_info("paybus", Some(env!("CARGO_PKG_VERSION").to_owned()), None)
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "invalid Stripe client configuration");
                AppError::unprocessable("stripe_not_configured", "The Stripe secret key is not usable as a header value.", None)
            })?;
        Ok(Self { client })
    }

    /// Sends one request and returns the response body as JSON. `idempotency_key` makes a POST
    /// safe to repeat: Stripe answers a repeat with the first response instead of acting twice.
    pub async fn send(
        &self,
        request: RequestBuilder,
        on_behalf_of: &OnBehalfOf,
        idempotency_key: Option<&str>,
    ) -> Result<serde_json::Value, AppError> {
        let mut customized = request.customize::<miniserde::json::Value>();
        if let OnBehalfOf::Account(account) = on_behalf_of {
            let account: stripe_shared::AccountId = account.as_str().into();
            customized = customized.account_id(account);
        }
        if let Some(key) = idempotency_key {
            let key = IdempotencyKey::new(key)
                .map_err(|_| AppError::invalid("idempotency_key_invalid", "The Idempotency-Key is not usable with Stripe.", None))?;
            customized = customized.request_strategy(RequestStrategy::Idempotent(key));
        }
        let value = customized.send(&self.client).await.map_err(upstream_error)?;
        serde_json::from_str(&miniserde::json::to_string(&value)).map_err(|e| {
            tracing::error!(error = %e, "Stripe response is not JSON");
            AppError::Upstream { code: "stripe_response_invalid".into(), message: "Stripe's response could not be read.".into() }
        })
    }

    /// Builds a request from one of async-stripe's typed request structs.
    pub fn request(typed: &impl StripeRequest) -> RequestBuilder {
        typed.build()
    }

    /// A GET whose typed builder does not expose what we need (raw event lists).
    pub fn get(path: &str, query: &impl serde::Serialize) -> RequestBuilder {
        RequestBuilder::new(StripeMethod::Get, path).query(query)
    }
}

/// Stripe's own error, passed through: its `code` (or `type` when there is no code) and message.
/// Every failure is a 502: the request was fine, the upstream said no or did not answer.
fn upstream_error(err: StripeError) -> AppError {
    match err {
        StripeError::Stripe(api, status) => {
            let code = api
                .code
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| api.type_.as_str().to_owned());
            let message = api.message.clone().unwrap_or_else(|| format!("Stripe answered {status}."));
            tracing::warn!(status, code = %code, "Stripe refused the request");
            AppError::Upstream { code, message }
        }
        StripeError::Timeout => {
            tracing::warn!("Stripe timed out");
            AppError::Upstream { code: "stripe_timeout".into(), message: "Stripe did not answer in time; nothing was changed here. Retry with the same Idempotency-Key.".into() }
        }
        StripeError::ClientError(e) => {
            tracing::warn!(error = %e, "Stripe unreachable");
            AppError::Upstream { code: "stripe_unreachable".into(), message: "Stripe could not be reached; retry with the same Idempotency-Key.".into() }
        }
        StripeError::JSONDeserialize(e) => {
            tracing::error!(error = %e, "Stripe response unreadable");
            AppError::Upstream { code: "stripe_response_invalid".into(), message: "Stripe's response could not be read.".into() }
        }
        StripeError::ConfigError(e) => {
            tracing::error!(error = %e, "Stripe client misconfigured");
            AppError::unprocessable("stripe_not_configured", "The Stripe client configuration is invalid.", None)
        }
    }
}
