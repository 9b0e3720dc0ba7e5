//! The landing page of a signed-in user: the active tenant at a glance, with the last 30 days'
//! payment analytics (KPIs and charts drawn as SVG on the server, so they need no script).

use std::sync::Arc;

use leptos::prelude::*;
use time::OffsetDateTime;

use crate::{
    components::{Bar, BarListChart, EmptyState, ErrorNote, Loading, MeResource, Series, StackedBarChart, TimeSeries, ValueFormat},
    domain::{
        analytics::{AnalyticsDayOut, AnalyticsOverviewOut},
        Currency,
    },
    server_fns::analytics::analytics_overview,
};

/// Volume charts drawn at most (the largest currencies); the KPIs list every currency.
const VOLUME_CHARTS: usize = 3;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    // Made with the page, not inside the view that waits for `me`: resources are matched to the
    // server's serialized data in creation order, and one created after an await on the client
    // would not line up with the server's (a hydration panic).
    let overview = Resource::new(|| (), |_| analytics_overview());
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => {
                        let role = MeResource::role_in_active(&me);
                        let active = me.active_tenant.clone();
                        let tenant = me.tenants.iter().find(|t| Some(&t.id) == active.as_ref()).cloned();
                        let Some(tenant) = tenant else {
                            return view! {
                                <h1>"Welcome to paybus"</h1>
                                <EmptyState title="You are not in a tenant yet" hint="A tenant is one business: its payments, team and settings.">
                                    <a href="/tenants/new" class="button-link">"Create a tenant"</a>
                                </EmptyState>
                            }
                            .into_any();
                        };
                        view! {
                            <h1>{tenant.name.clone()}</h1>
                            <p class="meta overview-meta">
                                <span>"Your role: "<strong data-testid="role">{role.map(|r| r.as_str().to_string()).unwrap_or_else(|| "—".to_string())}</strong></span>
                                <span>" · Tenant "<code data-testid="tenant-id">{tenant.id.to_string()}</code></span>
                            </p>
                            <Analytics overview/>
                        }
                        .into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn money(amount: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| c.format(amount)).unwrap_or_else(|_| format!("{amount} {}", currency.to_uppercase()))
}

/// `97.5 %`.
fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => {
            let p = (r * 1000.0).round() / 10.0;
            format!("{p} %")
        }
        None => "—".into(),
    }
}

/// The midnight (UTC) of a `YYYY-MM-DD` day.
fn midnight(day: &str) -> OffsetDateTime {
    crate::domain::analytics::parse_day(day).map(|d| d.midnight().assume_utc()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// One value per day of the window from the rows that match, summed.
fn per_day(data: &AnalyticsOverviewOut, keep: impl Fn(&AnalyticsDayOut) -> bool, value: impl Fn(&AnalyticsDayOut) -> i64) -> Vec<u64> {
    data.days
        .iter()
        .map(|day| data.daily.iter().filter(|d| &d.day == day && keep(d)).map(|d| value(d).max(0) as u64).sum())
        .collect()
}

fn daily_series(data: &AnalyticsOverviewOut, series: Vec<Series>) -> TimeSeries {
    TimeSeries::per_day(data.days.iter().map(|d| midnight(d)).collect(), series)
}

#[component]
fn Analytics(overview: Resource<Result<AnalyticsOverviewOut, crate::AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <Loading label="Loading analytics…"/> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(data) if data.is_empty() => view! {
                        <section id="analytics-empty" aria-labelledby="analytics-empty-title">
                            <h2 id="analytics-empty-title">"Last 30 days"</h2>
                            <EmptyState
                                title="No payments in the last 30 days yet"
                                hint="Volume, payments by status, refunds and disputes show here as Stripe's events arrive."
                            >
                                <p class="empty-actions">
                                    <a href="/connect">"Connect a Stripe account"</a>" · "
                                    <a href="/checkout">"Create a checkout link"</a>" · "
                                    <a href="/webhooks">"See received webhooks"</a>
                                </p>
                            </EmptyState>
                            <GettingStarted/>
                        </section>
                    }.into_any(),
                    Ok(data) => view! { <AnalyticsReport data/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn GettingStarted() -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Getting started"</h2>
            <ol>
                <li><a href="/connect">"Connect your Stripe account"</a>" so payments run through paybus."</li>
                <li><a href="/api-keys">"Create an API key"</a>" to call the paybus API."</li>
                <li><a href="/members">"Invite your team"</a>" with the role each needs."</li>
                <li><a href="/webhook-endpoints">"Add a webhook endpoint"</a>" to hear about payments in your own systems."</li>
            </ol>
        </section>
    }
}

/// Amounts per currency, `—` when there are none: `12.00 USD, 3.50 EUR`.
fn amounts<'a>(items: impl Iterator<Item = (i64, &'a str)>) -> String {
    let parts: Vec<String> = items.map(|(amount, currency)| money(amount, currency)).collect();
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(", ")
    }
}

/// A palette colour per payment status: green went through, red failed or lost, amber disputed,
/// purple refunded, blue waits on capture, grey ended without money moving.
fn status_series(status: &str) -> usize {
    match status {
        "succeeded" => 2,
        "failed" | "dispute_lost" => 4,
        "disputed" => 3,
        "refunded" | "partially_refunded" => 5,
        "requires_capture" => 1,
        "canceled" | "unknown" => 7,
        _ => 0,
    }
}

#[component]
fn AnalyticsReport(data: AnalyticsOverviewOut) -> impl IntoView {
    let s = &data.summary;
    let volumes = if s.currencies.is_empty() {
        view! { <li>"—"</li> }.into_any()
    } else {
        s.currencies.iter().map(|c| view! { <li data-currency=c.currency.clone()>{money(c.volume, &c.currency)}</li> }).collect_view().into_any()
    };
    let refunded = amounts(s.currencies.iter().filter(|c| c.refunds_count > 0).map(|c| (c.refunds_amount, c.currency.as_str())));
    let opened = amounts(s.currencies.iter().filter(|c| c.disputes_count > 0).map(|c| (c.disputes_amount, c.currency.as_str())));
    let open_count = data.open_disputes_count();
    let open_amounts = amounts(data.open_disputes.iter().map(|d| (d.amount, d.currency.as_str())));

    let volume_charts = s
        .currencies
        .iter()
        .take(VOLUME_CHARTS)
        .map(|c| {
            let currency = c.currency.clone();
            let values = per_day(&data, |d| d.currency == currency, |d| d.volume);
            let chart = daily_series(&data, vec![Series { name: currency.to_uppercase(), values }]);
            let code = currency.clone();
            let format: ValueFormat = Arc::new(move |v: u64| money(v as i64, &code));
            view! {
                <StackedBarChart kind="volume" title=format!("Volume per day ({})", currency.to_uppercase()) unit="volume" data=chart format/>
            }
        })
        .collect_view();
    let outcomes = daily_series(
        &data,
        vec![
            Series { name: "succeeded".into(), values: per_day(&data, |_| true, |d| d.payments_count) },
            Series { name: "failed".into(), values: per_day(&data, |_| true, |d| d.failed_count) },
        ],
    );
    let trouble = daily_series(
        &data,
        vec![
            Series { name: "refunds".into(), values: per_day(&data, |_| true, |d| d.refunds_count) },
            Series { name: "disputes opened".into(), values: per_day(&data, |_| true, |d| d.disputes_count) },
        ],
    );
    let statuses: Vec<Bar> =
        data.by_status.iter().map(|b| Bar { label: b.status.replace('_', " "), value: b.count.max(0) as u64, series: status_series(&b.status) }).collect();
    let created = data.payments_created();

    // Type-erased in parts: the whole report as one view type is too deep for the wasm build.
    let kpis = view! {
            <div class="cards kpis">
                <section class="card stat" aria-labelledby="kpi-volume-title">
                    <h3 id="kpi-volume-title">"Gross volume"</h3>
                    <ul class="value plain" data-testid="kpi-volume">{volumes}</ul>
                </section>
                <section class="card stat" aria-labelledby="kpi-payments-title">
                    <h3 id="kpi-payments-title">"Successful payments"</h3>
                    <p class="value" data-testid="kpi-payments">{s.payments_count}</p>
                    <p class="hint">{format!("{} failed · {} created", s.failed_count, created)}</p>
                </section>
                <section class="card stat" aria-labelledby="kpi-rate-title">
                    <h3 id="kpi-rate-title">"Success rate"</h3>
                    <p class="value" data-testid="kpi-success-rate">{percent(s.success_rate)}</p>
                    <p class="hint">"of payments that succeeded or failed"</p>
                </section>
                <section class="card stat" aria-labelledby="kpi-refunds-title">
                    <h3 id="kpi-refunds-title">"Refunded"</h3>
                    <p class="value" data-testid="kpi-refunds">{s.refunds_count}</p>
                    <p class="hint" data-testid="kpi-refunded-amount">{refunded}</p>
                </section>
                <section class="card stat" class:alert={open_count > 0} aria-labelledby="kpi-open-disputes-title">
                    <h3 id="kpi-open-disputes-title">"Open disputes"</h3>
                    <p class="value" data-testid="kpi-open-disputes">{open_count}</p>
                    <p class="hint">
                        {open_amounts}
                        <br/>
                        <span data-testid="kpi-disputes">{s.disputes_count}</span>
                        {format!(" opened in 30 days{}", if s.disputes_count > 0 { format!(" ({opened})") } else { String::new() })}
                        <span>{(open_count > 0).then(|| view! { " · "<a href="/disputes">"Respond"</a> })}</span>
                    </p>
                </section>
            </div>
    }
    .into_any();
    let charts = view! {
            <div class="charts">
                {volume_charts}
                {(!statuses.is_empty()).then(|| view! {
                    <BarListChart kind="by-status" title="Payments by status (created in the last 30 days)".to_string() unit="payments" bars=statuses/>
                })}
                <StackedBarChart kind="payments" title="Payments per day".to_string() unit="payments" data=outcomes/>
                <StackedBarChart kind="refunds-disputes" title="Refunds and disputes per day".to_string() unit="refunds and disputes" data=trouble/>
            </div>
    }
    .into_any();
    view! {
        <section id="analytics" data-from=s.from.clone() data-to=s.to.clone() aria-labelledby="analytics-title">
            <h2 id="analytics-title">"Last 30 days"</h2>
            <p class="hint">{format!("{} to {} (UTC).", s.from, s.to)}</p>
            {kpis}
            {charts}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_percent_with_one_decimal() {
        assert_eq!(percent(Some(0.975)), "97.5 %");
        assert_eq!(percent(Some(1.0)), "100 %");
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7 %");
        assert_eq!(percent(None), "—");
    }

    #[test]
    fn amounts_list_each_currency_or_a_dash() {
        assert_eq!(amounts([(1250, "usd"), (900, "eur")].into_iter()), "12.50 USD, 9.00 EUR");
        assert_eq!(amounts(std::iter::empty()), "—");
    }

    #[test]
    fn days_sum_per_slot_and_missing_days_are_zero() {
        let day = |day: &str, currency: &str, volume| AnalyticsDayOut { day: day.into(), currency: currency.into(), volume, ..Default::default() };
        let data = AnalyticsOverviewOut {
            days: vec!["2026-11-21".into(), "2026-11-22".into(), "2026-11-23".into()],
            daily: vec![day("2026-11-21", "usd", 100), day("2026-11-21", "eur", 50), day("2026-11-23", "usd", 7)],
            ..Default::default()
        };
        assert_eq!(per_day(&data, |_| true, |d| d.volume), vec![150, 0, 7]);
        assert_eq!(per_day(&data, |d| d.currency == "eur", |d| d.volume), vec![50, 0, 0]);
        let series = daily_series(&data, vec![]);
        assert_eq!(series.starts[1], time::macros::datetime!(2026-11-22 00:00 UTC));
    }
}
