//! Reaching Stripe for a tenant: which credential, which account, which idempotency key.
//!
//! A tenant normally works through the platform's key on its Connect account (`Stripe-Account`).
//! Keys sent to Stripe on money-moving calls are derived from the client's own `Idempotency-Key`,
//! so a retry after a timeout or a crash asks Stripe for the same object instead of a second one.

use sha2::{Digest, Sha256};

use crate::{
    domain::{PrefixedId, TenantId},
    error::{AppError, AppResult},
    ssr::{
        stripe::client::{OnBehalfOf, StripeGateway},
        AppState,
    },
};

/// The gateway for the platform's own key (`STRIPE_SECRET_KEY`).
pub fn platform_gateway(state: &AppState) -> AppResult<StripeGateway> {
    let key = state.config.stripe.secret_key.as_ref().ok_or_else(|| {
        AppError::unprocessable("stripe_not_configured", "Stripe is not configured on this paybus: set STRIPE_SECRET_KEY.", None)
    })?;
    StripeGateway::new(key, &state.config.stripe.api_base, state.config.stripe.timeout)
}

/// The tenant's Connect account, if it has one.
pub async fn connected_account(state: &AppState, tenant: &TenantId) -> AppResult<Option<String>> {
    Ok(sqlx::query_scalar("SELECT account_id FROM stripe_accounts WHERE tenant_id = $1 ORDER BY created_at LIMIT 1")
        .bind(tenant.as_str())
        .fetch_optional(&state.db.pool)
        .await?)
}

/// The gateway and account to act for `tenant`: its own Stripe key when its settings hold one,
/// else the platform's key on its Connect account. Without either it cannot take payments yet.
pub async fn tenant_gateway(state: &AppState, tenant: &TenantId) -> AppResult<(StripeGateway, OnBehalfOf)> {
    let credentials = super::settings::stripe_credentials(state, tenant).await?;
    if let Some(own) = &credentials.secret_key {
        return Ok((StripeGateway::new(own, &state.config.stripe.api_base, state.config.stripe.timeout)?, OnBehalfOf::Platform));
    }
    let account = connected_account(state, tenant).await?.ok_or_else(|| {
        AppError::unprocessable("connect_account_missing", "This tenant has no Stripe account yet: create one under Connect first.", None)
    })?;
    Ok((platform_gateway(state)?, OnBehalfOf::Account(account)))
}

/// The gateway for an existing payment: the tenant's own key, or the platform's on the
/// connected account the payment was made on.
pub async fn payment_gateway(state: &AppState, tenant: &TenantId, connected_account: Option<&str>) -> AppResult<(StripeGateway, OnBehalfOf)> {
    let credentials = super::settings::stripe_credentials(state, tenant).await?;
    match (&credentials.secret_key, connected_account) {
        (Some(own), None) => Ok((StripeGateway::new(own, &state.config.stripe.api_base, state.config.stripe.timeout)?, OnBehalfOf::Platform)),
        (_, Some(account)) => Ok((platform_gateway(state)?, OnBehalfOf::Account(account.to_owned()))),
        (None, None) => Ok((platform_gateway(state)?, OnBehalfOf::Platform)),
    }
}

/// The idempotency key we send Stripe for one operation of one client request.
pub fn stripe_idempotency_key(tenant: &TenantId, operation: &str, client_key: &str) -> String {
    let digest = Sha256::digest(format!("{}\n{operation}\n{client_key}", tenant.as_str()).as_bytes());
    format!("paybus-{}", hex::encode(&digest[..16]))
}

/// Whether the tenant may take payments now: switched on in its settings, and either its own
/// Stripe key or a Connect account that Stripe lets charge.
pub async fn require_payments_enabled(state: &AppState, tenant: &TenantId) -> AppResult<()> {
    let credentials = super::settings::stripe_credentials(state, tenant).await?;
    if !credentials.payments_enabled {
        return Err(AppError::forbidden("payments_disabled", "Payments are disabled for this tenant in its settings."));
    }
    if credentials.secret_key.is_some() {
        return Ok(());
    }
    let charges: Option<i64> = sqlx::query_scalar("SELECT charges_enabled FROM stripe_accounts WHERE tenant_id = $1 ORDER BY created_at LIMIT 1")
        .bind(tenant.as_str())
        .fetch_optional(&state.db.pool)
        .await?;
    match charges {
        Some(1) => Ok(()),
        Some(_) => Err(AppError::forbidden(
            "payments_disabled",
            "Payments are disabled for this tenant: Stripe has not enabled charges on its account yet (finish Connect onboarding).",
        )),
        None => Err(AppError::forbidden("payments_disabled", "Payments are disabled for this tenant: it has no Stripe account yet.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stripe_key_is_stable_per_tenant_operation_and_client_key() {
        let a = TenantId::from_trusted("ten_a".into());
        let b = TenantId::from_trusted("ten_b".into());
        let key = stripe_idempotency_key(&a, "refund", "k1");
        assert_eq!(key, stripe_idempotency_key(&a, "refund", "k1"));
        assert_ne!(key, stripe_idempotency_key(&b, "refund", "k1"));
        assert_ne!(key, stripe_idempotency_key(&a, "capture", "k1"));
        assert_ne!(key, stripe_idempotency_key(&a, "refund", "k2"));
        assert!(key.len() <= 255);
    }
}
