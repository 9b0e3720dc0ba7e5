//! The risk review queue of the active tenant, and the reviewer's verdicts.

use leptos::prelude::*;

use crate::{
    domain::{dto::List, risk::RiskReviewOut},
    error::AppError,
};

/// Reviews newest first; `status` is open, closed, safe or fraudulent (all when empty).
#[server(prefix = "/sfn")]
pub async fn list_risk_reviews(status: Option<String>, starting_after: Option<String>) -> Result<List<RiskReviewOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let query = crate::ssr::services::risk::ReviewQuery {
        status: status.filter(|s| !s.is_empty()),
        starting_after: starting_after.filter(|s| !s.is_empty()),
        limit: Some(50),
        ending_before: None,
    };
    crate::ssr::services::risk::list(&caller.state, &access, &query).await
}

/// `verdict`: `safe` or `fraudulent`.
#[server(prefix = "/sfn")]
pub async fn review_payment(payment_id: String, verdict: String, note: Option<String>) -> Result<RiskReviewOut, AppError> {
    use crate::ssr::services::risk::{decide, Verdict};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let verdict = match verdict.as_str() {
        "safe" => Verdict::Safe,
        "fraudulent" => Verdict::Fraudulent,
        _ => return Err(AppError::invalid("parameter_invalid", "verdict must be safe or fraudulent", Some("verdict"))),
    };
    let input = crate::domain::risk::RiskReviewIn { note: note.filter(|n| !n.trim().is_empty()) };
    decide(&caller.state, &access, payment_id.trim(), verdict, input).await
}
