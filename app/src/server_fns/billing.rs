//! Recurring billing of the active tenant, read-only: subscriptions and invoices mirrored from
//! Stripe, with the API's own status filters.

use leptos::prelude::*;

use crate::{
    domain::{
        billing::{InvoiceOut, SubscriptionOut},
        dto::List,
    },
    error::AppError,
};

#[server(prefix = "/sfn")]
pub async fn list_subscriptions(status: Option<String>, starting_after: Option<String>) -> Result<List<SubscriptionOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let query = crate::ssr::services::billing::SubscriptionQuery { status, starting_after, ..Default::default() };
    crate::ssr::services::billing::subscriptions(&caller.state, &access, &query).await
}

/// `status` may be `overdue`: open invoices past their due date.
#[server(prefix = "/sfn")]
pub async fn list_invoices(status: Option<String>, starting_after: Option<String>) -> Result<List<InvoiceOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let query = crate::ssr::services::billing::InvoiceQuery { status, starting_after, ..Default::default() };
    crate::ssr::services::billing::invoices(&caller.state, &access, &query).await
}
