//! Daily payment analytics (written by the analytics plugin) as the API and the dashboard show
//! them: per UTC day and currency, amounts in minor units.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// One day in one currency. Days without activity have no row.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AnalyticsDayOut {
    /// Always `analytics_day`.
    pub object: String,
    /// `2026-11-23` (UTC).
    pub day: String,
    pub currency: String,
    /// Payments that succeeded (or were captured) that day, each counted once.
    pub payments_count: i64,
    /// What those payments took.
    pub volume: i64,
    pub failed_count: i64,
    /// Refunds that succeeded that day.
    pub refunds_count: i64,
    pub refunds_amount: i64,
    /// Disputes opened that day.
    pub disputes_count: i64,
    pub disputes_amount: i64,
}

/// The totals of a window in one currency.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CurrencyTotalsOut {
    pub currency: String,
    pub volume: i64,
    pub payments_count: i64,
    pub failed_count: i64,
    /// `payments_count / (payments_count + failed_count)`, `null` when there were neither.
    pub success_rate: Option<f64>,
    pub refunds_count: i64,
    pub refunds_amount: i64,
    pub disputes_count: i64,
    pub disputes_amount: i64,
}

/// The last 30 days (today, UTC, and the 29 before), per currency and over all currencies.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AnalyticsSummaryOut {
    /// Always `analytics_summary`.
    pub object: String,
    /// First day of the window (`2026-10-25`).
    pub from: String,
    /// Last day of the window, today (`2026-11-23`).
    pub to: String,
    /// Per currency, largest volume first.
    pub currencies: Vec<CurrencyTotalsOut>,
    /// Counts over every currency (amounts do not add up across currencies).
    pub payments_count: i64,
    pub failed_count: i64,
    pub success_rate: Option<f64>,
    pub refunds_count: i64,
    pub disputes_count: i64,
}

/// What the overview page draws: the summary and the days of its window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AnalyticsOverviewOut {
    pub summary: AnalyticsSummaryOut,
    /// Every day of the window, oldest first (`2026-10-25` …), including days without data.
    pub days: Vec<String>,
    pub daily: Vec<AnalyticsDayOut>,
}

impl AnalyticsSummaryOut {
    /// Nothing counted in the window.
    pub fn is_empty(&self) -> bool {
        self.currencies.is_empty()
    }
}

/// `2026-11-23`, strictly: a four-digit year, two-digit month and day, a real date.
pub fn parse_day(raw: &str) -> Option<time::Date> {
    let b = raw.as_bytes();
    let shape = b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape {
        return None;
    }
    let month = time::Month::try_from(raw[5..7].parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(raw[0..4].parse().ok()?, month, raw[8..10].parse().ok()?).ok()
}

/// The day's `YYYY-MM-DD`.
pub fn day_string(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}
