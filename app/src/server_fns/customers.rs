//! Customers by email and their activity timelines (the crm-activity plugin's records).

use leptos::prelude::*;

use crate::{
    domain::{
        customer_activity::{CustomerActivityOut, CustomerActivitySummaryOut},
        dto::List,
    },
    error::AppError,
};

/// Rows per page on the dashboard.
pub const PAGE_SIZE: i64 = 50;

#[cfg(feature = "ssr")]
use super::given;

/// Customers, most recently active first; `email` searches part of the address.
#[server(prefix = "/sfn")]
pub async fn list_customers(email: Option<String>, starting_after: Option<String>) -> Result<List<CustomerActivitySummaryOut>, AppError> {
    use crate::ssr::services::customer_activity::{self, CustomerQuery};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let query = CustomerQuery { email: given(email), starting_after: given(starting_after), limit: Some(PAGE_SIZE), ..Default::default() };
    customer_activity::list(&caller.state, &access, &query).await
}

/// One customer's timeline, newest first.
#[server(prefix = "/sfn")]
pub async fn customer_timeline(email: String, starting_after: Option<String>) -> Result<List<CustomerActivityOut>, AppError> {
    use crate::ssr::{db::PageParams, services::customer_activity};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = PageParams { limit: Some(PAGE_SIZE), starting_after: given(starting_after), ending_before: None };
    customer_activity::timeline(&caller.state, &access, &email, &page).await
}
