//! Thin server functions: take the state and the caller from context, call one service. They
//! live under `/sfn/…`, apart from the JSON API under `/api/v1`.

pub mod account;
pub mod analytics;
pub mod api_keys;
pub mod audit_log;
pub mod customers;
pub mod events;
pub mod members;
pub mod payments;
pub mod rules;
pub mod plugins;
pub mod risk;
pub mod settings;
pub mod stripe_out;
pub mod tax;
pub mod tenants;
pub mod webhook_endpoints;
// Recurring billing (issue 7).
pub mod billing;
// Customer balances and currencies (issue 7).
pub mod balances;

/// A form sends an empty field as `""`: that is no value, not an empty one.
#[cfg(feature = "ssr")]
pub(crate) fn given(field: Option<String>) -> Option<String> {
    field.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use crate::{
        error::{AppError, AppResult},
        ssr::{
            auth::{principal, Principal, TenantAccess},
            AppState,
        },
    };
    use http::HeaderMap;
    use leptos::prelude::use_context;
    use tower_sessions::Session;

    pub struct Caller {
        pub state: AppState,
        pub headers: HeaderMap,
        pub session: Session,
    }

    pub async fn caller() -> AppResult<Caller> {
        let state = use_context::<AppState>().ok_or(AppError::Internal)?;
        let (headers, session): (HeaderMap, Session) = leptos_axum::extract().await.map_err(|e| {
            tracing::error!(error = %e, "server function without session layer");
            AppError::Internal
        })?;
        Ok(Caller { state, headers, session })
    }

    impl Caller {
        pub async fn principal(&self) -> AppResult<Principal> {
            principal::require_principal(&self.state, &self.headers, Some(&self.session)).await
        }

        pub async fn access(&self) -> AppResult<TenantAccess> {
            let principal = self.principal().await?;
            principal::tenant_access(&self.state, principal, &self.headers, Some(&self.session)).await
        }
    }
}
