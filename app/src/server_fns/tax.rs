//! Tax rates, the calculator and the VAT number checker of the active tenant. Forms send text;
//! empty fields mean "not given".

use leptos::prelude::*;

use crate::{
    domain::tax::dto::{TaxNumberOut, TaxRateOut, TaxResult},
    error::AppError,
};

#[cfg(feature = "ssr")]
use super::given;

#[server(prefix = "/sfn")]
pub async fn list_tax_rates() -> Result<Vec<TaxRateOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(100), ..Default::default() };
    Ok(crate::ssr::services::tax::list(&caller.state, &access, &page).await?.data)
}

#[server(prefix = "/sfn")]
pub async fn create_tax_rate(
    name: String,
    country: String,
    region: Option<String>,
    tax_code: Option<String>,
    percentage: String,
    inclusive: Option<String>,
) -> Result<TaxRateOut, AppError> {
    use crate::domain::tax::dto::{PercentageIn, TaxRateIn};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let input = TaxRateIn {
        name,
        country,
        region: given(region),
        tax_code: given(tax_code),
        percentage: PercentageIn::Text(percentage),
        inclusive: Some(inclusive.is_some_and(|v| v == "on" || v == "true")),
    };
    crate::ssr::services::tax::create(&caller.state, &access, input).await
}

/// Changes a rate's name, percentage and inclusive flag (the edit form sends all three).
#[server(prefix = "/sfn")]
pub async fn update_tax_rate(id: String, name: String, percentage: String, inclusive: Option<String>) -> Result<TaxRateOut, AppError> {
    use crate::domain::tax::dto::{PercentageIn, TaxRatePatch};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let patch = TaxRatePatch {
        name: Some(name),
        percentage: Some(PercentageIn::Text(percentage)),
        inclusive: Some(inclusive.is_some_and(|v| v == "on" || v == "true")),
        active: None,
    };
    crate::ssr::services::tax::update(&caller.state, &access, &id, patch).await
}

#[server(prefix = "/sfn")]
pub async fn set_tax_rate_active(id: String, active: String) -> Result<TaxRateOut, AppError> {
    use crate::domain::tax::dto::TaxRatePatch;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let patch = TaxRatePatch { active: Some(active == "true"), ..Default::default() };
    crate::ssr::services::tax::update(&caller.state, &access, &id, patch).await
}

/// Deletes a rate; the form's "confirm" box must be ticked (a confirmation that works without
/// JavaScript).
#[server(prefix = "/sfn")]
pub async fn delete_tax_rate(id: String, confirm: Option<String>) -> Result<TaxRateOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    if given(confirm).is_none() {
        return Err(AppError::invalid(
            "confirmation_required",
            "Confirm the deletion (confirm=on) to delete the rate; deactivating keeps it for reference.",
            Some("confirm"),
        ));
    }
    crate::ssr::services::tax::delete(&caller.state, &access, &id).await
}

/// The calculator: the amount in major units as a person types it (`12.50`, `1200` yen).
#[server(prefix = "/sfn")]
pub async fn calculate_tax(
    amount: String,
    currency: String,
    country: String,
    region: Option<String>,
    tax_code: Option<String>,
) -> Result<TaxResult, AppError> {
    use crate::domain::{tax::dto::TaxCalculateIn, Currency};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let parsed = Currency::parse(&currency)?;
    let amount = parsed.parse_major(&amount, "amount")?;
    let input = TaxCalculateIn { amount, currency, country, region: given(region), tax_code: given(tax_code) };
    crate::ssr::services::tax::calculate(&caller.state, &access, input).await
}

#[server(prefix = "/sfn")]
pub async fn check_tax_number(number: String, country: Option<String>) -> Result<TaxNumberOut, AppError> {
    use crate::domain::tax::dto::TaxNumberIn;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::tax::validate_number(&access, &TaxNumberIn { number, country: given(country) })
}

/// A mirrored invoice's tax breakdown (for the invoice page: `pages::tax_rates::InvoiceTaxBreakdown`).
#[server(prefix = "/sfn")]
pub async fn invoice_tax(id: String) -> Result<TaxResult, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::tax::invoice_breakdown(&caller.state, &access, &id).await
}
