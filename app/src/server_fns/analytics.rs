//! The overview page's analytics: the last 30 days' totals and the days they add up.

use leptos::prelude::*;

use crate::{domain::analytics::AnalyticsOverviewOut, error::AppError};

#[server(prefix = "/sfn")]
pub async fn analytics_overview() -> Result<AnalyticsOverviewOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::analytics::overview(&caller.state, &access).await
}
