//! The tenant's audit trail (written by the `audit-log` plugin) as the API and the dashboard show
//! it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AuditLogEntryOut {
    /// `aud_…`
    pub id: String,
    /// Always `audit_log_entry`.
    pub object: String,
    /// The event this line records (`evt_…`).
    pub event_id: String,
    /// `payment.refunded`, `api_key.created`, …
    pub event_type: String,
    /// Who acted: a user (`usr_…`), an API key (`key_…`), a Stripe event (`evt_…`), or none.
    pub actor: Option<String>,
    /// user, api_key, system or webhook.
    pub actor_type: String,
    /// api, dashboard, webhook or system.
    pub source: Option<String>,
    pub ip: Option<String>,
    /// "usr_… refunded 12.50 USD on pay_…"
    pub summary: String,
    /// The object the event is about (`pay_…`, `key_…`, …).
    pub object_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
}

/// A search bound from what a date field sends: `2026-01-31` → that day's midnight (UTC), or the
/// next midnight for an inclusive end (`end_of_day`); any other text (an RFC 3339 time) as is.
pub fn day_bound(raw: &str, end_of_day: bool) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(raw.trim(), &format) {
        Ok(day) => {
            let day = if end_of_day { day.next_day().unwrap_or(day) } else { day };
            format!("{day}T00:00:00Z")
        }
        Err(_) => raw.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_day_range_covers_whole_days() {
        assert_eq!(super::day_bound("2026-01-31", false), "2026-01-31T00:00:00Z");
        assert_eq!(super::day_bound("2026-01-31", true), "2026-02-01T00:00:00Z");
        assert_eq!(super::day_bound("2026-01-31T10:00:00Z", true), "2026-01-31T10:00:00Z");
    }
}
