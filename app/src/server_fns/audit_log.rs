//! The audit trail from the dashboard: the same search as `GET /api/v1/audit-log`.

use leptos::prelude::*;

use crate::{
    domain::{audit_log::AuditLogEntryOut, dto::List},
    error::AppError,
};

/// The search form's fields, as the page's URL carries them. `from` and `to` are dates
/// (`2026-01-31`, UTC) or RFC 3339 times; `to` takes in its whole day.
#[server(prefix = "/sfn")]
pub async fn audit_log_entries(
    q: Option<String>,
    event_type: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    starting_after: Option<String>,
) -> Result<List<AuditLogEntryOut>, AppError> {
    use crate::ssr::services::audit_log::{self, AuditLogQuery};
    use super::given;
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let query = AuditLogQuery {
        q: given(q),
        event_type: given(event_type),
        actor: given(actor),
        from: given(from).map(|d| crate::domain::audit_log::day_bound(&d, false)),
        to: given(to).map(|d| crate::domain::audit_log::day_bound(&d, true)),
        starting_after: given(starting_after),
        limit: Some(50),
        ..Default::default()
    };
    audit_log::list(&caller.state, &access, &query).await
}
