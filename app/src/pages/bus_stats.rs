//! The event bus at a glance: what was emitted, how each listener is doing, and per-minute charts
//! of events, failures and backlog over a chosen window.

use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

use super::ops_ui::TableWrap;
use crate::{
    components::{AreaChart, EmptyState, ErrorNote, Fold, Loading, Series, StackedBarChart, TimeSeries, PALETTE},
    domain::events::views::{BusStatsOut, ListenerStats, TypeCount},
    server_fns::events::bus_stats,
};

/// The windows the selector offers, in minutes, with their labels.
const WINDOWS: [(u32, &str); 4] = [(15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "24 hours")];
const DEFAULT_WINDOW: u32 = 60;
/// Bars per chart at most; longer windows are drawn in coarser slots.
const MAX_BARS: usize = 150;

#[component]
pub fn BusStatsPage() -> impl IntoView {
    let query = use_query_map();
    // Any number goes to the server, which says what is allowed; the selector offers four.
    let window = Memo::new(move |_| query.read().get_str("window").and_then(|w| w.trim().parse::<u32>().ok()));
    let stats = Resource::new(move || window.get(), bus_stats);

    view! {
        <h1>"Event bus"</h1>
        <p class="hint">"How the bus is doing: events emitted, each listener's deliveries and latency, and what is waiting or dead."</p>
        <WindowForm window/>
        <Transition fallback=|| view! { <Loading label="Loading statistics…"/> }>
            {move || Suspend::new(async move {
                match stats.await {
                    Ok(stats) => view! { <Stats stats/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A GET form, so the window is in the URL and a view can be shared.
#[component]
fn WindowForm(window: Memo<Option<u32>>) -> impl IntoView {
    let current = move || window.get().unwrap_or(DEFAULT_WINDOW);
    view! {
        <Form method="get" action="/bus" on_form_data=super::events::drop_empty_fields(&[]) attr:class="card form row" attr:id="window-form">
            <div>
                <label for="window">"Window"</label>
                <select id="window" name="window">
                    {WINDOWS.into_iter().map(|(minutes, label)| view! {
                        <option value=minutes.to_string() selected=move || current() == minutes>{label}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit">"Show"</button>
        </Form>
    }
}

/// `45 s`, `12 min`, `3 h 5 min`.
fn age(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

fn ms(value: Option<i64>) -> String {
    value.map(|v| format!("{v} ms")).unwrap_or_else(|| "—".into())
}

#[component]
fn Stats(stats: BusStatsOut) -> impl IntoView {
    let events = events_chart_data(&stats);
    let failures = single_series(&stats, "failures", |p| p.failures).coarsen(MAX_BARS, Fold::Sum);
    // A backlog is a level, not a count: a merged slot shows its highest point.
    let backlog = single_series(&stats, "backlog", |p| p.backlog).coarsen(MAX_BARS, Fold::Max);
    let window = WINDOWS.iter().find(|(m, _)| *m == stats.window_minutes).map(|(_, l)| l.to_string()).unwrap_or_else(|| format!("{} minutes", stats.window_minutes));
    let (events_title, failures_title) = (format!("Events per {}", events.slot_label()), format!("Failed attempts per {}", failures.slot_label()));

    view! {
        <section id="bus-stats" data-window=stats.window_minutes>
            <p class="hint">"This tenant, the last "{window}". Times are UTC."</p>
            <div class="cards">
                <section class="card stat">
                    <h2>"Backlog"</h2>
                    <p class="value" data-testid="backlog">{stats.backlog}</p>
                </section>
                <section class="card stat">
                    <h2>"Oldest pending"</h2>
                    <p class="value" data-testid="oldest-pending">{stats.oldest_pending_age_seconds.map(age).unwrap_or_else(|| "—".into())}</p>
                </section>
                <section class="card stat" class:alert={stats.dead > 0}>
                    <h2>"Dead"</h2>
                    <p class="value" data-testid="dead">{stats.dead}</p>
                    {(stats.dead > 0).then(|| view! { <p class="meta"><a href="/events?status=dead" id="dead-letters-link">"See the dead letters"</a></p> })}
                </section>
            </div>
            <div class="charts">
                <StackedBarChart kind="events" title=events_title unit="events" data=events/>
                <StackedBarChart kind="failures" title=failures_title unit="failed attempts" data=failures/>
                <AreaChart kind="backlog" title="Backlog (unfinished deliveries)".to_string() unit="deliveries" data=backlog/>
            </div>
            <h2>"Emitted"</h2>
            <EmittedTable emitted=stats.emitted/>
            <h2>"Listeners"</h2>
            <ListenersTable listeners=stats.listeners/>
            {(!stats.rules.is_empty()).then(|| view! {
                <h2>"Rules"</h2>
                <super::rules::RulesWindowTable rules=stats.rules.clone()/>
            })}
        </section>
    }
}

/// Events per minute stacked by type. The busiest types get a colour each; the rest share the
/// palette's last, neutral one, so the legend stays short.
fn events_chart_data(stats: &BusStatsOut) -> TimeSeries {
    let slots = stats.series.len();
    let mut ranked: Vec<&TypeCount> = stats.emitted.iter().collect();
    ranked.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.event_type.cmp(&b.event_type)));
    let shown: Vec<&str> = ranked.iter().take(PALETTE - 1).map(|t| t.event_type.as_str()).collect();
    let mut series: Vec<Series> = shown.iter().map(|name| Series { name: (*name).to_owned(), values: vec![0; slots] }).collect();
    if ranked.len() > shown.len() {
        series.push(Series { name: "other types".into(), values: vec![0; slots] });
    }
    for (slot, point) in stats.series.iter().enumerate() {
        for count in &point.events {
            // A type outside the shown ones lands on "other" (the index past them), if there is one.
            let i = shown.iter().position(|name| *name == count.event_type).unwrap_or(shown.len());
            if let Some(s) = series.get_mut(i) {
                s.values[slot] += count.count;
            }
        }
    }
    TimeSeries::per_minute(stats.series.iter().map(|p| p.minute).collect(), series).coarsen(MAX_BARS, Fold::Sum)
}

fn single_series(stats: &BusStatsOut, name: &str, value: impl Fn(&crate::domain::events::views::MinutePoint) -> u64) -> TimeSeries {
    TimeSeries::per_minute(
        stats.series.iter().map(|p| p.minute).collect(),
        vec![Series { name: name.into(), values: stats.series.iter().map(value).collect() }],
    )
}

#[component]
fn EmittedTable(mut emitted: Vec<TypeCount>) -> impl IntoView {
    if emitted.is_empty() {
        return view! {
            <EmptyState title="No events in this window." hint="Choose a longer window, or look at all events.">
                <a href="/events">"Open the events explorer"</a>
            </EmptyState>
        }
        .into_any();
    }
    emitted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.event_type.cmp(&b.event_type)));
    view! {
        <TableWrap label="Emitted events">
        <table class="table" id="emitted-table">
            <thead><tr><th>"Type"</th><th class="num">"Events"</th></tr></thead>
            <tbody>
                {emitted.into_iter().map(|t| {
                    let href = format!("/events?type={}", t.event_type);
                    view! { <tr><td><a href=href><code>{t.event_type}</code></a></td><td class="num">{t.count}</td></tr> }
                }).collect_view()}
            </tbody>
        </table>
        </TableWrap>
    }
    .into_any()
}

#[component]
fn ListenersTable(listeners: Vec<ListenerStats>) -> impl IntoView {
    if listeners.is_empty() {
        return view! {
            <EmptyState title="No deliveries in this window." hint="Listeners (plugins, rules, webhook endpoints) receive the events they subscribe to; none did in this window."/>
        }
        .into_any();
    }
    view! {
        <TableWrap label="Listeners">
        <table class="table" id="listeners-table">
            <thead>
                <tr>
                    <th>"Listener"</th><th class="num">"OK"</th><th class="num">"Failed"</th><th class="num">"Retried"</th>
                    <th class="num">"Dead"</th><th class="num">"Pending"</th><th class="num">"p50"</th><th class="num">"p95"</th><th class="num">"p99"</th>
                </tr>
            </thead>
            <tbody>
                {listeners.into_iter().map(|l| view! {
                    <tr class:alert={l.dead > 0}>
                        <td><code>{l.listener.clone()}</code></td>
                        <td class="num">{l.ok}</td>
                        <td class="num">{l.failed}</td>
                        <td class="num">{l.retried}</td>
                        <td class="num dead">
                            {if l.dead > 0 {
                                let href = format!("/events?status=dead&listener={}", super::events::encode(&l.listener));
                                view! { <a href=href title="The events whose delivery to this listener is dead">{l.dead}</a> }.into_any()
                            } else {
                                view! { <span>{l.dead}</span> }.into_any()
                            }}
                        </td>
                        <td class="num">{l.pending}</td>
                        <td class="num">{ms(l.p50_ms)}</td>
                        <td class="num">{ms(l.p95_ms)}</td>
                        <td class="num">{ms(l.p99_ms)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </TableWrap>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::views::MinutePoint;
    use time::macros::datetime;

    fn count(t: &str, n: u64) -> TypeCount {
        TypeCount { event_type: t.into(), count: n }
    }

    fn stats_with(emitted: Vec<TypeCount>, per_minute: Vec<Vec<TypeCount>>) -> BusStatsOut {
        BusStatsOut {
            scope: "tenant".into(),
            window_minutes: 15,
            emitted,
            listeners: vec![],
            backlog: 0,
            oldest_pending_age_seconds: None,
            dead: 0,
            rules: vec![],
            series: per_minute
                .into_iter()
                .enumerate()
                .map(|(i, events)| MinutePoint { minute: datetime!(2026-01-01 00:00 UTC) + time::Duration::minutes(i as i64), events, failures: 0, backlog: 0 })
                .collect(),
        }
    }

    #[test]
    fn the_busiest_types_get_colours_and_the_rest_share_other() {
        let types: Vec<String> = (0..10).map(|i| format!("t.{i}")).collect();
        let emitted = types.iter().enumerate().map(|(i, t)| count(t, 100 - i as u64)).collect();
        let minute = types.iter().map(|t| count(t, 1)).collect();
        let data = events_chart_data(&stats_with(emitted, vec![minute, vec![]]));
        assert_eq!(data.series.len(), PALETTE);
        assert_eq!(data.series[0].name, "t.0");
        assert_eq!(data.series[PALETTE - 1].name, "other types");
        assert_eq!(data.series[PALETTE - 1].values, vec![3, 0]);
    }

    #[test]
    fn few_types_need_no_other() {
        let data = events_chart_data(&stats_with(vec![count("a.x", 1)], vec![vec![count("a.x", 1)]]));
        assert_eq!(data.series.len(), 1);
        assert_eq!(data.series[0].values, vec![1]);
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(45), "45 s");
        assert_eq!(age(720), "12 min");
        assert_eq!(age(3 * 3600 + 300), "3 h 5 min");
    }
}
