//! Payment analytics from the analytics plugin's daily aggregates: days in a range (by currency),
//! the last 30 days' totals, and both together for the overview page.

use serde::Deserialize;
use sqlx::FromRow;
use time::{Date, Duration};

use crate::{
    domain::{
        analytics::{
            self, day_string, AnalyticsDayOut, AnalyticsOverviewOut, AnalyticsSummaryOut, CurrencyTotalsOut, OpenDisputesOut, StatusCountOut,
            OPEN_DISPUTE_STATUSES,
        },
        dto::List,
        Action, Currency, PrefixedId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        time_util::{from_ms, to_ms},
        AppState,
    },
};

/// The longest range `GET /api/v1/analytics/daily` answers, in days (both ends included).
pub const MAX_RANGE_DAYS: i64 = 366;
/// The summary's window: today (UTC) and the days before it.
pub const SUMMARY_DAYS: i64 = 30;

/// Filters of `GET /api/v1/analytics/daily`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct DailyQuery {
    /// First day, `YYYY-MM-DD` (UTC), included. Default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included. Default: today.
    pub to: Option<String>,
    /// Only this currency (ISO code, any case).
    pub currency: Option<String>,
}

/// A `YYYY-MM-DD` query parameter.
pub fn parse_day(raw: &str, param: &str) -> AppResult<Date> {
    analytics::parse_day(raw.trim())
        .ok_or_else(|| AppError::invalid("parameter_invalid_date", format!("{param} must be a date like 2026-11-23"), Some(param)))
}

/// A checked range of days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: Date,
    pub to: Date,
}

impl DayRange {
    /// From the query's `from` / `to`, defaulting to the 30 days ending `today`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> AppResult<Self> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let to = given(to).map(|v| parse_day(v, "to")).transpose()?.unwrap_or(today);
        let from = given(from).map(|v| parse_day(v, "from")).transpose()?.unwrap_or(to - Duration::days(SUMMARY_DAYS - 1));
        if from > to {
            return Err(AppError::invalid("parameter_invalid", "from must not be after to", Some("from")));
        }
        if (to - from).whole_days() + 1 > MAX_RANGE_DAYS {
            return Err(AppError::invalid("range_too_long", format!("from and to may span at most {MAX_RANGE_DAYS} days"), Some("to")));
        }
        Ok(Self { from, to })
    }

    pub fn last_days(today: Date, n: i64) -> Self {
        Self { from: today - Duration::days(n - 1), to: today }
    }

    /// Every day of the range, oldest first.
    pub fn days(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut d = self.from;
        while d <= self.to {
            out.push(day_string(d));
            match d.next_day() {
                Some(next) => d = next,
                None => break,
            }
        }
        out
    }
}

fn today(state: &AppState) -> Date {
    from_ms(state.bus.now_ms()).date()
}

#[derive(FromRow)]
struct DayRow {
    day: String,
    currency: String,
    payments_count: i64,
    volume: i64,
    failed_count: i64,
    refunds_count: i64,
    refunds_amount: i64,
    disputes_count: i64,
    disputes_amount: i64,
}

fn day_out(r: DayRow) -> AnalyticsDayOut {
    AnalyticsDayOut {
        object: "analytics_day".into(),
        day: r.day,
        currency: r.currency,
        payments_count: r.payments_count,
        volume: r.volume,
        failed_count: r.failed_count,
        refunds_count: r.refunds_count,
        refunds_amount: r.refunds_amount,
        disputes_count: r.disputes_count,
        disputes_amount: r.disputes_amount,
    }
}

async fn rows(state: &AppState, access: &TenantAccess, range: DayRange, currency: Option<&Currency>) -> AppResult<Vec<AnalyticsDayOut>> {
    let mut sql = "SELECT day, currency, payments_count, volume, failed_count, refunds_count, refunds_amount, disputes_count, disputes_amount
         FROM analytics_daily WHERE tenant_id = $1 AND day >= $2 AND day <= $3"
        .to_owned();
    if currency.is_some() {
        sql.push_str(" AND currency = $4");
    }
    sql.push_str(" ORDER BY day, currency");
    let mut q = sqlx::query_as::<_, DayRow>(&sql).bind(access.tenant_id.as_str()).bind(day_string(range.from)).bind(day_string(range.to));
    if let Some(c) = currency {
        q = q.bind(c.as_str());
    }
    Ok(q.fetch_all(&state.db.pool).await?.into_iter().map(day_out).collect())
}

/// Days with activity in the range, oldest first, one row per (day, currency). Days without
/// activity are left out.
pub async fn daily(state: &AppState, access: &TenantAccess, query: &DailyQuery) -> AppResult<List<AnalyticsDayOut>> {
    access.require(Action::AnalyticsRead)?;
    let range = DayRange::parse(query.from.as_deref(), query.to.as_deref(), today(state))?;
    let currency = query.currency.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(Currency::parse).transpose()?;
    Ok(List::new(rows(state, access, range, currency.as_ref()).await?, false))
}

fn rate(ok: i64, failed: i64) -> Option<f64> {
    let attempts = ok + failed;
    (attempts > 0).then(|| (ok as f64 / attempts as f64 * 10_000.0).round() / 10_000.0)
}

/// Adds days up into the window's summary.
pub fn summarise(range: DayRange, days: &[AnalyticsDayOut]) -> AnalyticsSummaryOut {
    let mut currencies: Vec<CurrencyTotalsOut> = Vec::new();
    for d in days {
        let i = match currencies.iter().position(|c| c.currency == d.currency) {
            Some(i) => i,
            None => {
                currencies.push(CurrencyTotalsOut { currency: d.currency.clone(), ..Default::default() });
                currencies.len() - 1
            }
        };
        let c = &mut currencies[i];
        c.volume += d.volume;
        c.payments_count += d.payments_count;
        c.failed_count += d.failed_count;
        c.refunds_count += d.refunds_count;
        c.refunds_amount += d.refunds_amount;
        c.disputes_count += d.disputes_count;
        c.disputes_amount += d.disputes_amount;
    }
    for c in &mut currencies {
        c.success_rate = rate(c.payments_count, c.failed_count);
    }
    currencies.sort_by(|a, b| b.volume.cmp(&a.volume).then_with(|| a.currency.cmp(&b.currency)));
    let sum = |f: fn(&CurrencyTotalsOut) -> i64| currencies.iter().map(f).sum::<i64>();
    let (payments_count, failed_count) = (sum(|c| c.payments_count), sum(|c| c.failed_count));
    AnalyticsSummaryOut {
        object: "analytics_summary".into(),
        from: day_string(range.from),
        to: day_string(range.to),
        payments_count,
        failed_count,
        success_rate: rate(payments_count, failed_count),
        refunds_count: sum(|c| c.refunds_count),
        disputes_count: sum(|c| c.disputes_count),
        currencies,
    }
}

/// The last 30 days (today, UTC, and the 29 before) per currency and overall.
pub async fn summary(state: &AppState, access: &TenantAccess) -> AppResult<AnalyticsSummaryOut> {
    Ok(overview(state, access).await?.summary)
}

/// The summary with the days it adds up, for the overview page's charts.
pub async fn overview(state: &AppState, access: &TenantAccess) -> AppResult<AnalyticsOverviewOut> {
    access.require(Action::AnalyticsRead)?;
    let range = DayRange::last_days(today(state), SUMMARY_DAYS);
    let daily = rows(state, access, range, None).await?;
    let by_status = status_counts(state, access, range).await?;
    let open_disputes = open_disputes(state, access).await?;
    Ok(AnalyticsOverviewOut { summary: summarise(range, &daily), days: range.days(), daily, by_status, open_disputes })
}

/// Payments created in the range (UTC days) by their current status, most first. Read from the
/// ledger itself: it holds every payment, whether or not the analytics plugin is on.
async fn status_counts(state: &AppState, access: &TenantAccess, range: DayRange) -> AppResult<Vec<StatusCountOut>> {
    let from = to_ms(range.from.midnight().assume_utc());
    let to = to_ms(range.to.next_day().unwrap_or(range.to).midnight().assume_utc());
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM payments WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY status",
    )
    .bind(access.tenant_id.as_str())
    .bind(from)
    .bind(to)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(sort_statuses(rows))
}

/// Most first; equal counts by name, so the order is stable.
fn sort_statuses(rows: Vec<(String, i64)>) -> Vec<StatusCountOut> {
    let mut out: Vec<StatusCountOut> = rows.into_iter().map(|(status, count)| StatusCountOut { status, count }).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.status.cmp(&b.status)));
    out
}

/// Disputes that still wait on the merchant or the bank, per currency, largest amount first.
async fn open_disputes(state: &AppState, access: &TenantAccess) -> AppResult<Vec<OpenDisputesOut>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT currency, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM disputes
         WHERE tenant_id = $1 AND status IN ($2, $3, $4, $5) GROUP BY currency",
    )
    .bind(access.tenant_id.as_str())
    .bind(OPEN_DISPUTE_STATUSES[0])
    .bind(OPEN_DISPUTE_STATUSES[1])
    .bind(OPEN_DISPUTE_STATUSES[2])
    .bind(OPEN_DISPUTE_STATUSES[3])
    .fetch_all(&state.db.pool)
    .await?;
    let mut out: Vec<OpenDisputesOut> = rows.into_iter().map(|(currency, count, amount)| OpenDisputesOut { currency, count, amount }).collect();
    out.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.currency.cmp(&b.currency)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_parse_strictly() {
        assert_eq!(parse_day("2026-02-28", "from").unwrap(), date!(2026 - 02 - 28));
        for bad in ["2026-02-30", "2026-2-3", "26-02-03", "2026/02/03", "yesterday", "2026-02-03T00:00:00Z", ""] {
            let e = parse_day(bad, "from").unwrap_err();
            assert!(matches!(e, AppError::InvalidRequest { ref code, .. } if code == "parameter_invalid_date"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn ranges_default_to_thirty_days_and_are_bounded() {
        let today = date!(2026 - 11 - 23);
        let r = DayRange::parse(None, None, today).unwrap();
        assert_eq!((r.from, r.to), (date!(2026 - 10 - 25), today));
        assert_eq!(r.days().len(), 30);
        assert!(DayRange::parse(Some("2025-11-23"), Some("2026-11-23"), today).is_ok()); // 366 days
        let long = DayRange::parse(Some("2025-11-22"), Some("2026-11-23"), today).unwrap_err();
        assert!(matches!(long, AppError::InvalidRequest { ref code, .. } if code == "range_too_long"));
        let reversed = DayRange::parse(Some("2026-11-24"), Some("2026-11-23"), today).unwrap_err();
        assert!(matches!(reversed, AppError::InvalidRequest { ref code, .. } if code == "parameter_invalid"));
    }

    #[test]
    fn statuses_are_listed_most_first_then_by_name() {
        let sorted = sort_statuses(vec![("failed".into(), 2), ("succeeded".into(), 9), ("canceled".into(), 2)]);
        assert_eq!(sorted.iter().map(|s| (s.status.as_str(), s.count)).collect::<Vec<_>>(), vec![("succeeded", 9), ("canceled", 2), ("failed", 2)]);
    }

    #[test]
    fn a_summary_adds_days_per_currency_and_rates_success() {
        let day = |day: &str, currency: &str, n: i64, volume: i64, failed: i64| AnalyticsDayOut {
            day: day.into(),
            currency: currency.into(),
            payments_count: n,
            volume,
            failed_count: failed,
            ..Default::default()
        };
        let range = DayRange::last_days(date!(2026 - 11 - 23), 30);
        let s = summarise(range, &[day("2026-11-22", "eur", 2, 5000, 1), day("2026-11-23", "eur", 1, 1000, 0), day("2026-11-23", "usd", 3, 9000, 1)]);
        assert_eq!(s.currencies.iter().map(|c| (c.currency.as_str(), c.volume)).collect::<Vec<_>>(), vec![("usd", 9000), ("eur", 6000)]);
        assert_eq!(s.currencies[1].success_rate, Some(0.75));
        assert_eq!((s.payments_count, s.failed_count, s.success_rate), (6, 2, Some(0.75)));
        assert_eq!(summarise(range, &[]).success_rate, None);
    }
}
