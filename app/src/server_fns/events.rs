//! The event bus of the active tenant: events and their deliveries, manual retry, replays and
//! statistics. Arguments arrive from HTML forms, where an empty field means "not given".

use leptos::prelude::*;

use crate::{
    domain::{
        dto::List,
        events::views::{BusStatsOut, DeliveryOut, EventDetailOut, EventOut, ReplayOut},
    },
    error::AppError,
};

/// Events newest first, narrowed by an exact type, comma-separated patterns, an actor, a delivery
/// status (`dead`: the events with a dead letter) and listener, and a range of days (`2026-11-23`,
/// UTC).
#[server(prefix = "/sfn")]
pub async fn list_events(
    event_type: Option<String>,
    pattern: Option<String>,
    actor: Option<String>,
    status: Option<String>,
    listener: Option<String>,
    from: Option<String>,
    to: Option<String>,
    starting_after: Option<String>,
) -> Result<List<EventOut>, AppError> {
    use crate::ssr::services::events::{self, EventQuery};
    use crate::domain::audit_log::day_bound;
    use form::{given, PAGE_SIZE};
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let query = EventQuery {
        event_type: given(event_type),
        pattern: given(pattern),
        actor: given(actor),
        status: given(status),
        listener: given(listener),
        // A date field sends a day: from its midnight to the end of the `to` day (UTC).
        from: given(from).map(|d| day_bound(&d, false)),
        to: given(to).map(|d| day_bound(&d, true)),
        starting_after: given(starting_after),
        limit: Some(PAGE_SIZE),
        ..Default::default()
    };
    events::list(&caller.state, &access, &query).await
}

/// One event with every delivery made of it and each delivery's attempts.
#[server(prefix = "/sfn")]
pub async fn get_event(id: String) -> Result<EventDetailOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::events::get(&caller.state, &access, id.trim()).await
}

/// Puts a dead delivery back in the queue.
#[server(prefix = "/sfn")]
pub async fn retry_delivery(id: String) -> Result<DeliveryOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::events::retry(&caller.state, &access, id.trim()).await
}

/// How many events a replay with these fields would re-deliver (the same fields as
/// [`start_replay`]), so the page can say it before the merchant confirms.
#[server(prefix = "/sfn")]
pub async fn count_replay(types: String, from: Option<String>, to: Option<String>, listener: Option<String>) -> Result<u64, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::events::preview_replay(&caller.state, &access, form::replay_filter(&types, from, to, listener)?).await
}

/// Starts a replay. `types` is comma-separated patterns (`payment.*, refund.created`); `from` and
/// `to` are UTC times, as a `datetime-local` input sends them or in RFC 3339.
#[server(prefix = "/sfn")]
pub async fn start_replay(
    types: String,
    from: Option<String>,
    to: Option<String>,
    listener: Option<String>,
) -> Result<ReplayOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::events::start_replay(&caller.state, &access, form::replay_filter(&types, from, to, listener)?).await
}

#[server(prefix = "/sfn")]
pub async fn get_replay(id: String) -> Result<ReplayOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::events::replay(&caller.state, &access, id.trim()).await
}

/// The most recent replays of the tenant, newest first.
#[server(prefix = "/sfn")]
pub async fn list_replays() -> Result<Vec<ReplayOut>, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    let page = crate::ssr::db::PageParams { limit: Some(form::RECENT_REPLAYS), ..Default::default() };
    Ok(crate::ssr::services::events::replays(&caller.state, &access, &page).await?.data)
}

/// Statistics of the tenant's bus over the last `window_minutes` (default 60).
#[server(prefix = "/sfn")]
pub async fn bus_stats(window_minutes: Option<u32>) -> Result<BusStatsOut, AppError> {
    let caller = super::context::caller().await?;
    let access = caller.access().await?;
    crate::ssr::services::events::stats(&caller.state, &access, None, window_minutes).await
}

/// Reading form fields into what the services take.
#[cfg(feature = "ssr")]
mod form {
    use time::{format_description::well_known::Rfc3339, OffsetDateTime, UtcOffset};

    use crate::{
        domain::events::views::ReplayFilter,
        error::{AppError, AppResult},
    };

    pub const PAGE_SIZE: i64 = 50;
    pub const RECENT_REPLAYS: i64 = 10;

    /// The replay form's fields as a filter: `types` comma-separated, times in UTC.
    pub fn replay_filter(types: &str, from: Option<String>, to: Option<String>, listener: Option<String>) -> AppResult<ReplayFilter> {
        Ok(ReplayFilter {
            types: types.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            actor: None,
            from: given(from).map(|t| utc_time(&t, "from")).transpose()?,
            to: given(to).map(|t| utc_time(&t, "to")).transpose()?,
            listener: given(listener),
        })
    }

    pub(crate) use crate::server_fns::given;

    /// A time in UTC, from RFC 3339 or from what a `datetime-local` input sends — no zone, with
    /// or without seconds (`2026-11-23T10:00`), read as UTC as the form's label says.
    pub fn utc_time(raw: &str, param: &str) -> AppResult<OffsetDateTime> {
        let raw = raw.trim();
        let as_rfc3339 = match raw.len() {
            16 => format!("{raw}:00Z"),
            19 => format!("{raw}Z"),
            _ => raw.to_owned(),
        };
        OffsetDateTime::parse(&as_rfc3339, &Rfc3339).map(|t| t.to_offset(UtcOffset::UTC)).map_err(|_| {
            AppError::invalid(
                "parameter_invalid_time",
                format!("{param} must be a time like 2026-11-23T10:00 (UTC) or 2026-11-23T10:00:00+01:00"),
                Some(param),
            )
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use time::macros::datetime;

        #[test]
        fn empty_and_blank_fields_are_not_given() {
            assert_eq!(given(None), None);
            assert_eq!(given(Some(String::new())), None);
            assert_eq!(given(Some("  ".into())), None);
            assert_eq!(given(Some(" usr_1 ".into())), Some("usr_1".into()));
        }

        #[test]
        fn datetime_local_values_are_read_as_utc() {
            assert_eq!(utc_time("2026-11-23T10:00", "from").unwrap(), datetime!(2026-11-23 10:00 UTC));
            assert_eq!(utc_time("2026-11-23T10:00:30", "from").unwrap(), datetime!(2026-11-23 10:00:30 UTC));
            // RFC 3339 allows a space for the `T`; so does the parser.
            assert_eq!(utc_time("2026-11-23 10:00", "from").unwrap(), datetime!(2026-11-23 10:00 UTC));
        }

        #[test]
        fn rfc3339_times_keep_their_instant_and_come_back_in_utc() {
            let t = utc_time("2026-11-23T11:00:00+01:00", "to").unwrap();
            assert_eq!(t, datetime!(2026-11-23 10:00 UTC));
            assert_eq!(t.offset(), UtcOffset::UTC);
            assert_eq!(utc_time("2026-11-23T10:00:00Z", "to").unwrap(), datetime!(2026-11-23 10:00 UTC));
        }

        #[test]
        fn anything_else_names_the_parameter() {
            let err = utc_time("yesterday", "from").unwrap_err();
            assert_eq!(err.param(), Some("from"));
            assert!(utc_time("2026-11-23", "to").is_err());
            assert!(utc_time("2026-11-23T25:00", "to").is_err());
        }
    }
}
