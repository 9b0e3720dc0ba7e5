//! Customers mirrored from Stripe with their credit balances, and the tenant's currencies.

use leptos::prelude::*;

use crate::{
    domain::{
        balances::{BalanceTransactionOut, CurrencyOut, CustomerDetailOut, CustomerOut},
        dto::List,
    },
    error::AppError,
};

/// Rows per page on the dashboard.
pub const PAGE_SIZE: i64 = 50;

#[cfg(feature = "ssr")]
use super::given;

/// Customers, newest first; `search` matches part of the email or, failing that, of the name.
#[server(prefix = "/sfn")]
pub async fn list_billing_customers(search: Option<String>, starting_after: Option<String>) -> Result<List<CustomerOut>, AppError> {
    use crate::ssr::services::customers::{self, CustomerListQuery};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let search = given(search);
    let query = CustomerListQuery { email: search.clone(), starting_after: given(starting_after.clone()), limit: Some(PAGE_SIZE), ..Default::default() };
    let by_email = customers::list(&caller.state, &access, &query).await?;
    if !by_email.data.is_empty() || search.is_none() {
        return Ok(by_email);
    }
    let query = CustomerListQuery { name: search, starting_after: given(starting_after), limit: Some(PAGE_SIZE), ..Default::default() };
    customers::list(&caller.state, &access, &query).await
}

#[server(prefix = "/sfn")]
pub async fn billing_customer(id: String) -> Result<CustomerDetailOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::customers::detail(&caller.state, &access, &id).await
}

/// Credits or debits a customer's balance; the amount is typed in major units (`12.50`).
#[server(prefix = "/sfn")]
pub async fn adjust_balance(customer_id: String, kind: String, amount: String, currency: String, reason: String) -> Result<BalanceTransactionOut, AppError> {
    use crate::domain::{balances::BalanceTransactionIn, Currency};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let parsed = Currency::parse(&currency)?;
    let input = BalanceTransactionIn { kind, amount: parsed.parse_major(&amount, "amount")?, currency, reason };
    crate::ssr::services::balances::create(&caller.state, &access, &customer_id, input).await
}

#[server(prefix = "/sfn")]
pub async fn list_currencies() -> Result<List<CurrencyOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::currencies::list(&caller.state, &access, None).await
}

/// `enabled` is `"true"` to activate, anything else to deactivate.
#[server(prefix = "/sfn")]
pub async fn set_currency(currency: String, enabled: String) -> Result<CurrencyOut, AppError> {
    use crate::domain::balances::CurrencyIn;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::currencies::set(&caller.state, &access, CurrencyIn { currency, enabled: enabled == "true" }).await
}
