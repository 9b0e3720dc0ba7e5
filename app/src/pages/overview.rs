//! The landing page of a signed-in user: the active tenant at a glance, with the last 30 days'
//! payment analytics (KPIs and charts drawn as SVG on the server, so they need no script).

use std::sync::Arc;

use leptos::prelude::*;
use time::OffsetDateTime;

use crate::{
    components::{ErrorNote, MeResource, Series, StackedBarChart, TimeSeries, ValueFormat},
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
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => {
                        let role = MeResource::role_in_active(&me);
                        let active = me.active_tenant.clone();
                        let tenant = me.tenants.iter().find(|t| Some(&t.id) == active.as_ref()).cloned();
                        view! {
                            <h1>{tenant.as_ref().map(|t| t.name.clone()).unwrap_or_else(|| "No tenant yet".into())}</h1>
                            <div class="cards">
                                <section class="card stat">
                                    <h2>"Your role"</h2>
                                    <p class="value" data-testid="role">{role.map(|r| r.as_str()).unwrap_or("—")}</p>
                                </section>
                                <section class="card stat">
                                    <h2>"Tenant id"</h2>
                                    <p class="value mono" data-testid="tenant-id">{active.map(|t| t.to_string()).unwrap_or_default()}</p>
                                </section>
                                <section class="card stat">
                                    <h2>"Your tenants"</h2>
                                    <p class="value">{me.tenants.len()}</p>
                                </section>
                            </div>
                            <Analytics/>
                            <section class="card">
                                <h2>"Getting started"</h2>
                                <ol>
                                    <li><a href="/api-keys">"Create an API key"</a>" to call the paybus API."</li>
                                    <li><a href="/members">"Invite your team"</a>" with the role each needs."</li>
                                    <li>"Payments, disputes and events appear here as Stripe sends them."</li>
                                </ol>
                            </section>
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
fn Analytics() -> impl IntoView {
    let overview = Resource::new(|| (), |_| analytics_overview());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading analytics…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(data) if data.summary.is_empty() => view! {
                        <section class="card" id="analytics-empty">
                            <h2>"Last 30 days"</h2>
                            <p class="empty">"No payments in the last 30 days yet. Volume, payments, refunds and disputes show here as Stripe's events arrive."</p>
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
fn AnalyticsReport(data: AnalyticsOverviewOut) -> impl IntoView {
    let s = &data.summary;
    let volumes = s
        .currencies
        .iter()
        .map(|c| view! { <li data-currency=c.currency.clone()>{money(c.volume, &c.currency)}</li> })
        .collect_view();
    let refunds = s
        .currencies
        .iter()
        .filter(|c| c.refunds_count > 0)
        .map(|c| money(c.refunds_amount, &c.currency))
        .collect::<Vec<_>>()
        .join(", ");
    let disputes = s
        .currencies
        .iter()
        .filter(|c| c.disputes_count > 0)
        .map(|c| money(c.disputes_amount, &c.currency))
        .collect::<Vec<_>>()
        .join(", ");

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
            Series { name: "disputes".into(), values: per_day(&data, |_| true, |d| d.disputes_count) },
        ],
    );

    view! {
        <section id="analytics" data-from=s.from.clone() data-to=s.to.clone()>
            <h2>"Last 30 days"</h2>
            <p class="hint">{format!("{} to {} (UTC).", s.from, s.to)}</p>
            <div class="cards">
                <section class="card stat">
                    <h2>"Volume"</h2>
                    <ul class="value plain" data-testid="kpi-volume">{volumes}</ul>
                </section>
                <section class="card stat">
                    <h2>"Payments"</h2>
                    <p class="value" data-testid="kpi-payments">{s.payments_count}</p>
                    <p class="hint">{format!("{} failed, {} succeeded", s.failed_count, percent(s.success_rate))}</p>
                </section>
                <section class="card stat">
                    <h2>"Refunds"</h2>
                    <p class="value" data-testid="kpi-refunds">{s.refunds_count}</p>
                    <p class="hint">{refunds}</p>
                </section>
                <section class="card stat" class:alert={s.disputes_count > 0}>
                    <h2>"Disputes"</h2>
                    <p class="value" data-testid="kpi-disputes">{s.disputes_count}</p>
                    <p class="hint">{disputes}</p>
                </section>
            </div>
            <div class="charts">
                {volume_charts}
                <StackedBarChart kind="payments" title="Payments per day".to_string() unit="payments" data=outcomes/>
                <StackedBarChart kind="refunds-disputes" title="Refunds and disputes per day".to_string() unit="refunds and disputes" data=trouble/>
            </div>
        </section>
    }
}
