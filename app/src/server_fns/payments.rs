//! The payment ledger of the active tenant, read-only: payments with filters, one payment with
//! its timeline, refunds, disputes and the webhook audit. The page turns its form fields into
//! the API's own filter values (minor units, RFC 3339), so the CSV export links can carry the
//! very same values.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        dto::List,
        ledger::{DisputeOut, PaymentOut, RefundOut, TimelineEntryOut, WebhookEventOut},
    },
    error::AppError,
};

/// One payment and everything that happened to it, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PaymentDetailOut {
    pub payment: PaymentOut,
    pub timeline: Vec<TimelineEntryOut>,
}

/// A dispute with whether its evidence is due soon. Decided on the server, where the clock is,
/// so the server's HTML and the hydrated page agree on the highlight.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DisputeRowOut {
    pub dispute: DisputeOut,
    pub due_soon: bool,
}

/// Payments newest first. `from` and `to` are RFC 3339, the amounts minor units, as in the API.
#[server(prefix = "/sfn")]
pub async fn list_payments(
    status: Option<String>,
    email: Option<String>,
    amount_gte: Option<i64>,
    amount_lte: Option<i64>,
    from: Option<String>,
    to: Option<String>,
    starting_after: Option<String>,
) -> Result<List<PaymentOut>, AppError> {
    use crate::ssr::services::payments::{self, PaymentQuery};
    use form::{given, PAGE_SIZE};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let query = PaymentQuery {
        status: given(status),
        email: given(email),
        amount_gte,
        amount_lte,
        from: given(from),
        to: given(to),
        starting_after: given(starting_after),
        limit: Some(PAGE_SIZE),
        ..Default::default()
    };
    payments::list(&caller.state, &access, &query).await
}

#[server(prefix = "/sfn")]
pub async fn get_payment(id: String) -> Result<PaymentDetailOut, AppError> {
    use crate::ssr::services::payments;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let id = id.trim();
    let payment = payments::get(&caller.state, &access, id).await?;
    let timeline = payments::timeline(&caller.state, &access, id).await?.data;
    Ok(PaymentDetailOut { payment, timeline })
}

#[server(prefix = "/sfn")]
pub async fn list_refunds(status: Option<String>, starting_after: Option<String>) -> Result<List<RefundOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::payments::refunds(&caller.state, &access, &form::child_query(status, starting_after)).await
}

#[server(prefix = "/sfn")]
pub async fn list_disputes(status: Option<String>, starting_after: Option<String>) -> Result<List<DisputeRowOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::services::payments::disputes(&caller.state, &access, &form::child_query(status, starting_after)).await?;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    let data = page
        .data
        .into_iter()
        .map(|dispute| {
            // Only a dispute still waiting on us has a deadline that matters.
            let due_soon = dispute.status == "needs_response" && dispute.evidence_due_by.is_some_and(|due| due <= soon);
            DisputeRowOut { dispute, due_soon }
        })
        .collect();
    Ok(List::new(data, page.has_more))
}

/// The webhook audit, newest first, optionally of one status.
#[server(prefix = "/sfn")]
pub async fn list_webhook_events(status: Option<String>, starting_after: Option<String>) -> Result<List<WebhookEventOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::payments::webhook_events(&caller.state, &access, &form::child_query(status, starting_after)).await
}

/// Reading form fields into what the services take.
#[cfg(feature = "ssr")]
mod form {
    use crate::ssr::services::payments::ChildQuery;

    pub const PAGE_SIZE: i64 = 50;

    pub(crate) use crate::server_fns::given;

    pub fn child_query(status: Option<String>, starting_after: Option<String>) -> ChildQuery {
        ChildQuery { status: given(status), starting_after: given(starting_after), limit: Some(PAGE_SIZE), ..Default::default() }
    }
}

/// One dispute, with whether its evidence is due within a week.
#[server(prefix = "/sfn")]
pub async fn get_dispute(id: String) -> Result<DisputeRowOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let dispute = crate::ssr::services::payments::dispute(&caller.state, &access, &id).await?;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(7);
    let due_soon = dispute.status == "needs_response" && dispute.evidence_due_by.is_some_and(|due| due <= soon);
    Ok(DisputeRowOut { dispute, due_soon })
}

/// Applies a stored unparsed event again (after an upgrade).
#[server(prefix = "/sfn")]
pub async fn reprocess_webhook_event(id: String) -> Result<crate::domain::ledger::WebhookEventOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::webhook_events::reprocess(&caller.state, &access, &id).await
}
