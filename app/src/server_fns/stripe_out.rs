//! Stripe out from the dashboard: Connect onboarding, checkout and products, and the money
//! actions on a payment. Amounts arrive as people type them (major units) and are converted with
//! the payment's or the form's currency. Each action gets its own idempotency key: a form is
//! one intent, and the button is disabled while it is pending.

use leptos::prelude::*;

use crate::{
    domain::{
        dto::List,
        stripe_out::{CheckoutSessionOut, ConnectAccountOut, PaymentActionOut, ProductOut, ReconciliationRunOut, RefundRequestOut},
    },
    error::AppError,
};

#[cfg(feature = "ssr")]
use super::given;

#[cfg(feature = "ssr")]
fn fresh_key() -> String {
    use rand::Rng;
    format!("dash_{:032x}", rand::thread_rng().gen::<u128>())
}

/// The tenant's Connect account, or `None` before it has one.
#[server(prefix = "/sfn")]
pub async fn get_connect_account() -> Result<Option<ConnectAccountOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    match crate::ssr::services::connect::get_account(&caller.state, &access).await {
        Ok(account) => Ok(Some(account)),
        Err(AppError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

#[server(prefix = "/sfn")]
pub async fn create_connect_account(email: Option<String>) -> Result<ConnectAccountOut, AppError> {
    use crate::domain::stripe_out::CreateConnectAccountIn;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let input = CreateConnectAccountIn { email: given(email), country: None };
    Ok(crate::ssr::services::connect::create_account(&caller.state, &access, input).await?.0)
}

/// Sends the browser to Stripe's hosted onboarding.
#[server(prefix = "/sfn")]
pub async fn continue_onboarding() -> Result<(), AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let link = crate::ssr::services::connect::account_link(&caller.state, &access, Default::default()).await?;
    leptos_axum::redirect(&link.url);
    Ok(())
}

/// Sends the browser to the merchant's Express dashboard.
#[server(prefix = "/sfn")]
pub async fn open_express_dashboard() -> Result<(), AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let link = crate::ssr::services::connect::express_login_link(&caller.state, &access).await?;
    leptos_axum::redirect(&link.url);
    Ok(())
}

#[cfg(feature = "ssr")]
async fn payment_currency(caller: &super::context::Caller, access: &crate::ssr::auth::TenantAccess, id: &str) -> Result<crate::domain::Currency, AppError> {
    let payment = crate::ssr::services::payments::get(&caller.state, access, id).await?;
    crate::domain::Currency::parse(&payment.currency)
}

#[server(prefix = "/sfn")]
pub async fn capture_payment(id: String, amount: Option<String>) -> Result<PaymentActionOut, AppError> {
    use crate::domain::stripe_out::CaptureIn;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let amount = match given(amount) {
        Some(raw) => Some(payment_currency(&caller, &access, &id).await?.parse_major(&raw, "amount")?),
        None => None,
    };
    crate::ssr::services::payment_actions::capture(&caller.state, &access, &id, CaptureIn { amount }, &fresh_key()).await
}

#[server(prefix = "/sfn")]
pub async fn cancel_payment(id: String) -> Result<PaymentActionOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::payment_actions::cancel(&caller.state, &access, &id, &fresh_key()).await
}

#[server(prefix = "/sfn")]
pub async fn refund_payment(id: String, amount: Option<String>, reason: Option<String>) -> Result<RefundRequestOut, AppError> {
    use crate::domain::stripe_out::RefundIn;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let amount = match given(amount) {
        Some(raw) => Some(payment_currency(&caller, &access, &id).await?.parse_major(&raw, "amount")?),
        None => None,
    };
    let input = RefundIn { payment_id: id, amount, reason: given(reason) };
    crate::ssr::services::payment_actions::refund(&caller.state, &access, input, &fresh_key()).await
}

#[server(prefix = "/sfn")]
pub async fn list_checkout_sessions() -> Result<List<CheckoutSessionOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(50), ..Default::default() };
    crate::ssr::services::checkout::list(&caller.state, &access, &page).await
}

/// A checkout for one amount, or one unit of a product.
#[server(prefix = "/sfn")]
pub async fn create_checkout(
    product_id: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    description: Option<String>,
    success_url: String,
    cancel_url: String,
    customer_email: Option<String>,
) -> Result<CheckoutSessionOut, AppError> {
    use crate::domain::{stripe_out::CheckoutSessionIn, Currency};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let (product_id, currency) = (given(product_id), given(currency));
    let amount = match (&product_id, given(amount)) {
        (None, Some(raw)) => {
            let currency = Currency::parse(currency.as_deref().unwrap_or(""))?;
            Some(currency.parse_major(&raw, "amount")?)
        }
        (None, None) => return Err(AppError::invalid("amount_missing", "Enter an amount or choose a product.", Some("amount"))),
        (Some(_), _) => None,
    };
    let input = CheckoutSessionIn {
        line_items: vec![],
        amount,
        description: given(description),
        currency: if product_id.is_some() { None } else { currency },
        product_id,
        success_url,
        cancel_url,
        customer_email: given(customer_email),
        metadata: Default::default(),
        ..Default::default()
    };
    let ip = caller.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next()).and_then(|v| v.trim().parse().ok());
    crate::ssr::services::checkout::guard(&caller.state, &access, ip.filter(|_| caller.state.config.trust_proxy)).await?;
    crate::ssr::services::checkout::create(&caller.state, &access, input, &fresh_key()).await
}

#[server(prefix = "/sfn")]
pub async fn list_products() -> Result<List<ProductOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(100), ..Default::default() };
    crate::ssr::services::products::list(&caller.state, &access, &page).await
}

#[server(prefix = "/sfn")]
pub async fn create_product(name: String, unit_amount: String, currency: String, max_purchases: Option<String>) -> Result<ProductOut, AppError> {
    use crate::domain::{stripe_out::ProductIn, Currency};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let parsed = Currency::parse(&currency)?;
    let max_purchases = match given(max_purchases) {
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| AppError::invalid("max_purchases_invalid", "max purchases must be a whole number", Some("max_purchases")))?),
        None => None,
    };
    let input = ProductIn { name, unit_amount: parsed.parse_major(&unit_amount, "unit_amount")?, currency, max_purchases };
    crate::ssr::services::products::create(&caller.state, &access, input).await
}

#[server(prefix = "/sfn")]
pub async fn list_reconciliation_runs() -> Result<List<ReconciliationRunOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(20), ..Default::default() };
    crate::ssr::ledger::reconcile::runs(&caller.state, &access, &page).await
}

#[server(prefix = "/sfn")]
pub async fn reconcile_now() -> Result<ReconciliationRunOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::ledger::reconcile::sweep_tenant(&caller.state, &access).await
}
