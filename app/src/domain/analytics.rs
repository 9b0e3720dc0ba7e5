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

/// How many of the window's payments are in one status now.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusCountOut {
    pub status: String,
    pub count: i64,
}

/// Disputes still open (waiting on the merchant's evidence or on the bank), in one currency.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenDisputesOut {
    pub currency: String,
    pub count: i64,
    pub amount: i64,
}

/// What the overview page draws: the summary and the days of its window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AnalyticsOverviewOut {
    pub summary: AnalyticsSummaryOut,
    /// Every day of the window, oldest first (`2026-10-25` …), including days without data.
    pub days: Vec<String>,
    pub daily: Vec<AnalyticsDayOut>,
    /// Payments created in the window by their status now, most first.
    #[serde(default)]
    pub by_status: Vec<StatusCountOut>,
    /// Every dispute still open, whenever it was opened, per currency.
    #[serde(default)]
    pub open_disputes: Vec<OpenDisputesOut>,
}

/// The dispute statuses that still wait on someone (Stripe's `needs_response`, `under_review`
/// and their `warning_` inquiries).
pub const OPEN_DISPUTE_STATUSES: [&str; 4] = ["needs_response", "under_review", "warning_needs_response", "warning_under_review"];

impl AnalyticsOverviewOut {
    /// Nothing to show: no payment in the window, nothing counted, no open dispute.
    pub fn is_empty(&self) -> bool {
        self.summary.is_empty() && self.by_status.iter().all(|s| s.count == 0) && self.open_disputes.is_empty()
    }

    /// Open disputes over every currency.
    pub fn open_disputes_count(&self) -> i64 {
        self.open_disputes.iter().map(|d| d.count).sum()
    }

    /// Payments created in the window, whatever their status.
    pub fn payments_created(&self) -> i64 {
        self.by_status.iter().map(|s| s.count).sum()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overview_is_empty_only_without_payments_counts_or_open_disputes() {
        let mut o = AnalyticsOverviewOut::default();
        assert!(o.is_empty());
        o.by_status = vec![StatusCountOut { status: "failed".into(), count: 0 }];
        assert!(o.is_empty());
        o.by_status = vec![StatusCountOut { status: "succeeded".into(), count: 3 }, StatusCountOut { status: "failed".into(), count: 1 }];
        assert!(!o.is_empty());
        assert_eq!(o.payments_created(), 4);
        let disputes_only = AnalyticsOverviewOut {
            open_disputes: vec![OpenDisputesOut { currency: "usd".into(), count: 2, amount: 5000 }, OpenDisputesOut { currency: "eur".into(), count: 1, amount: 900 }],
            ..Default::default()
        };
        assert!(!disputes_only.is_empty());
        assert_eq!(disputes_only.open_disputes_count(), 3);
    }
}
