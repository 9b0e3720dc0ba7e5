//! The event explorer: events with filters kept in the URL, one event with its deliveries and
//! attempts, and replays with their progress.

use leptos::prelude::*;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
    params::ParamsMap,
};
use time::OffsetDateTime;

use super::ops_ui::{may, plural, TableWrap};
use crate::{
    components::{Confirm, EmptyState, ErrorNote, Loading, MeResource, Toast},
    domain::{
        events::{
            views::{DeliveryOut, EventOut, ReplayOut},
            EventType,
        },
        Action,
    },
    error::AppError,
    server_fns::events::{count_replay, get_event, get_replay, list_events, list_replays, RetryDelivery, StartReplay},
};

/// The delivery statuses the status filter offers, with what each means.
const STATUSES: [(&str, &str); 5] = [
    ("dead", "dead (dead letters)"),
    ("pending", "pending"),
    ("running", "running"),
    ("succeeded", "succeeded"),
    ("skipped", "skipped"),
];

/// The filters of the events page, as its URL carries them (`?type=…&pattern=…&actor=…`), so a
/// filtered view can be bookmarked and shared. `status` is a delivery status (`dead`: the events
/// with a dead letter); `from` and `to` are days (`2026-11-23`, UTC, both included).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct EventFilters {
    event_type: Option<String>,
    pattern: Option<String>,
    actor: Option<String>,
    status: Option<String>,
    listener: Option<String>,
    from: Option<String>,
    to: Option<String>,
    starting_after: Option<String>,
}

impl EventFilters {
    fn from_query(query: &ParamsMap) -> Self {
        let field = |key: &str| query.get_str(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Self {
            event_type: field("type"),
            pattern: field("pattern"),
            actor: field("actor"),
            status: field("status"),
            listener: field("listener"),
            from: field("from"),
            to: field("to"),
            starting_after: field("starting_after"),
        }
    }

    /// Whether any filter narrows the list (the page cursor is not a filter).
    fn is_filtered(&self) -> bool {
        Self { starting_after: None, ..self.clone() } != Self::default()
    }

    /// These filters on the page after `starting_after`, or on the first page.
    fn href(&self, starting_after: Option<&str>) -> String {
        let pairs = [
            ("type", self.event_type.as_deref()),
            ("pattern", self.pattern.as_deref()),
            ("actor", self.actor.as_deref()),
            ("status", self.status.as_deref()),
            ("listener", self.listener.as_deref()),
            ("from", self.from.as_deref()),
            ("to", self.to.as_deref()),
            ("starting_after", starting_after),
        ];
        let query: Vec<String> = pairs.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v)))).collect();
        if query.is_empty() {
            "/events".into()
        } else {
            format!("/events?{}", query.join("&"))
        }
    }

    /// What a replay started from this page re-delivers unless edited: what the list shows.
    fn replay_types(&self) -> String {
        let parts: Vec<&str> = [self.event_type.as_deref(), self.pattern.as_deref()].into_iter().flatten().collect();
        if parts.is_empty() {
            "*".into()
        } else {
            parts.join(",")
        }
    }

    /// The replay form's `from` / `to` (a `datetime-local` value) for the list's day range: the
    /// `from` day's midnight, and the midnight after the `to` day.
    fn replay_bounds(&self) -> (String, String) {
        let bound = |day: Option<&str>, end: bool| {
            day.map(|d| crate::domain::audit_log::day_bound(d, end))
                .and_then(|t| t.strip_suffix(":00Z").map(str::to_owned))
                .unwrap_or_default()
        };
        (bound(self.from.as_deref(), false), bound(self.to.as_deref(), true))
    }
}

/// Percent-encodes a query value. Written here rather than borrowed from the router, whose
/// encoding differs between the server and the browser: links must be the same on both.
pub(super) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'*' | b',' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// For a GET `<Form>`'s `on_form_data`: leaves the nameless submit button and empty `fields` out
/// of the URL, so a shared link reads `/events?pattern=bus.*`, not
/// `/events?type=&pattern=bus.*&actor=&=`. Only runs in the browser.
pub(super) fn drop_empty_fields(fields: &'static [&'static str]) -> std::sync::Arc<dyn Fn(&leptos::web_sys::FormData)> {
    std::sync::Arc::new(move |form| {
        for key in std::iter::once(&"").chain(fields) {
            if form.get(key).as_string().is_some_and(|v| v.trim().is_empty()) {
                form.delete(key);
            }
        }
    })
}

/// `2026-11-22 14:03:07` (UTC): events often share a minute, so rows show seconds.
fn precise_time(t: &OffsetDateTime) -> String {
    format!("{} {:02}:{:02}:{:02}", t.date(), t.hour(), t.minute(), t.second())
}

fn is_active(status: &str) -> bool {
    matches!(status, "queued" | "running")
}

/// Bumps `tick` every second while `active` holds. Effects run only in the browser, after
/// hydration, so the server renders once and never waits on a timer.
fn poll_while(active: Memo<bool>, tick: RwSignal<u32>) {
    Effect::new(move |_| {
        if active.get() {
            if let Ok(handle) = set_interval_with_handle(move || tick.update(|t| *t += 1), std::time::Duration::from_secs(1)) {
                // Runs when `active` turns false (the effect re-runs) or the page goes away.
                on_cleanup(move || handle.clear());
            }
        }
    });
}

/// A status from one of the bus's fixed vocabularies, as a coloured badge.
#[component]
fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let class = format!("badge badge-{}", status.replace(|c: char| !c.is_ascii_lowercase() && c != '_', ""));
    view! { <span class=class>{status}</span> }
}

#[component]
fn ReplayProgress(replay: ReplayOut) -> impl IntoView {
    let percent = (replay.progress * 100.0).round();
    let total = replay.total.map(|t| t.to_string()).unwrap_or_else(|| "?".into());
    view! {
        <div class="replay-progress" data-status=replay.status.clone()>
            <StatusBadge status=replay.status.clone()/>
            <progress max="1" value=format!("{:.3}", replay.progress) aria-label="Replay progress">{percent}"%"</progress>
            <span class="meta">{replay.matched}" / "{total}" events matched · "{replay.enqueued}" deliveries enqueued"</span>
            {replay.error.map(|e| view! { <p class="error">{e}</p> })}
        </div>
    }
}

// ---------------------------------------------------------------------------------------------
// /events

#[component]
pub fn EventsPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| EventFilters::from_query(&query.read()));
    // The page comes back with the filters it was read with, so its "Next page" link never
    // mixes one URL's filters with another's rows.
    let events = Resource::new(
        move || filters.get(),
        |f| async move {
            let page = list_events(
                f.event_type.clone(),
                f.pattern.clone(),
                f.actor.clone(),
                f.status.clone(),
                f.listener.clone(),
                f.from.clone(),
                f.to.clone(),
                f.starting_after.clone(),
            )
            .await;
            (f, page)
        },
    );

    view! {
        <h1>"Events"</h1>
        <p class="hint">"Everything that happens in this tenant, as events on the bus, newest first. Open one to see its deliveries to each listener."</p>
        <FilterForm filters/>
        <Transition fallback=|| view! { <Loading label="Loading events…"/> }>
            {move || Suspend::new(async move {
                match events.await {
                    (filters, Ok(page)) => view! { <EventsTable events=page.data has_more=page.has_more filters/> }.into_any(),
                    (_, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
        <Replays filters/>
    }
}

/// A GET form: submitting it changes the URL, and the list follows the URL.
#[component]
fn FilterForm(filters: Memo<EventFilters>) -> impl IntoView {
    let current_type = move || filters.get().event_type;
    let options = EventType::domains()
        .into_iter()
        .map(|domain| {
            let types = EventType::ALL.iter().filter(|t| t.domain() == domain).map(|t| {
                let name = t.name();
                view! { <option value=name selected=move || current_type().as_deref() == Some(name)>{name}</option> }
            });
            view! { <optgroup label=domain>{types.collect_view()}</optgroup> }
        })
        .collect_view();
    view! {
        <Form method="get" action="/events" on_form_data=drop_empty_fields(&["type", "pattern", "actor", "status", "listener", "from", "to"]) attr:class="card form row" attr:id="events-filter">
            <div>
                <label for="filter-type">"Type"</label>
                <select id="filter-type" name="type">
                    <option value="" selected=move || current_type().is_none()>"Any type"</option>
                    {options}
                </select>
            </div>
            <div>
                <label for="filter-pattern">"Pattern"</label>
                <input id="filter-pattern" name="pattern" placeholder="payment.*, refund.created" value=move || filters.get().pattern.unwrap_or_default()/>
            </div>
            <div>
                <label for="filter-actor">"Actor"</label>
                <input id="filter-actor" name="actor" placeholder="usr_… or key_…" value=move || filters.get().actor.unwrap_or_default()/>
            </div>
            <div>
                <label for="filter-status">"Delivery status"</label>
                <select id="filter-status" name="status">
                    <option value="" selected=move || filters.get().status.is_none()>"Any status"</option>
                    {STATUSES.into_iter().map(|(value, label)| view! {
                        <option value=value selected=move || filters.get().status.as_deref() == Some(value)>{label}</option>
                    }).collect_view()}
                </select>
            </div>
            {move || filters.get().listener.map(|listener| view! {
                <div>
                    <label for="filter-listener">"Listener"</label>
                    <input id="filter-listener" name="listener" value=listener.clone() prop:value=listener.clone()/>
                </div>
            })}
            <div>
                <label for="filter-from">"From (UTC day)"</label>
                <input id="filter-from" name="from" type="date" value=move || filters.get().from.unwrap_or_default()/>
            </div>
            <div>
                <label for="filter-to">"To (UTC day, included)"</label>
                <input id="filter-to" name="to" type="date" value=move || filters.get().to.unwrap_or_default()/>
            </div>
            <button type="submit">"Filter"</button>
            <a href="/events" class="clear-filters">"Clear"</a>
        </Form>
    }
}

#[component]
fn EventsTable(events: Vec<EventOut>, has_more: bool, filters: EventFilters) -> impl IntoView {
    if events.is_empty() {
        return if filters.is_filtered() || filters.starting_after.is_some() {
            view! {
                <EmptyState title="No events match these filters." hint="Widen the date range, try a pattern such as payment.*, or clear the filters.">
                    <a href="/events">"Clear the filters"</a>
                </EmptyState>
            }
            .into_any()
        } else {
            view! {
                <EmptyState title="No events yet." hint="Events are recorded as things happen in this tenant: a payment, a refund, a new API key or member.">
                    <a href="/api-keys">"Create an API key"</a>" · "<a href="/checkout">"Take a test payment"</a>
                </EmptyState>
            }
            .into_any()
        };
    }
    let next = has_more.then(|| events.last().map(|e| filters.href(Some(&e.id)))).flatten();
    let first = filters.starting_after.is_some().then(|| filters.href(None));
    let rows = events
        .into_iter()
        .map(|e| {
            let by_type = EventFilters { event_type: Some(e.event_type.clone()), ..Default::default() }.href(None);
            let actor = e.actor.clone().map(|actor| {
                let href = EventFilters { actor: Some(actor.clone()), ..Default::default() }.href(None);
                view! { <a href=href class="mono">{actor}</a> }
            });
            view! {
                <tr>
                    <td>{precise_time(&e.occurred_at)}</td>
                    <td><a href=by_type><code>{e.event_type.clone()}</code></a></td>
                    <td>{actor}" "<span class="meta">{e.actor_type.as_str()}</span></td>
                    <td><a href=format!("/events/{}", e.id) class="mono">{e.id.clone()}</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableWrap label="Events">
            <table class="table" id="events-table">
                <thead><tr><th>"Time (UTC)"</th><th>"Type"</th><th>"Actor"</th><th>"Id"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </TableWrap>
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <a href=href>"First page"</a> })}
            {next.map(|href| view! { <a href=href rel="next" id="events-next">"Next page"</a> })}
        </nav>
    }
    .into_any()
}

/// Starting a replay, and the recent ones with their progress.
#[component]
fn Replays(filters: Memo<EventFilters>) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let start = ServerAction::<StartReplay>::new();
    let tick = RwSignal::new(0u32);
    let replays = Resource::new(move || (start.version().get(), tick.get()), |_| list_replays());
    // One poll for the whole list: the card of a just-started replay reads from it too.
    let active = Memo::new(move |_| replays.get().and_then(Result::ok).is_some_and(|list| list.iter().any(|r| is_active(&r.status))));
    poll_while(active, tick);
    let fields = ReplayFields::new(filters);

    view! {
        <h2 id="replay">"Replay"</h2>
        <p class="hint">"Re-deliver past events to listeners. Payments are never repeated: listeners see a new delivery marked as a replay."</p>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                may(me, Action::EventsReplay).await.then(|| view! { <ReplayForm start fields/> })
            })}
        </Suspense>
        <Toast value=start.value() message=|r: &ReplayOut| {
            let total = r.total.map(|t| plural(t, "event", "events")).unwrap_or_else(|| "the matching events".into());
            format!("Replay {} started: re-delivering {total}.", r.id)
        }/>
        {move || start.value().get().and_then(Result::ok).map(|started| {
            let latest = replays.get().and_then(Result::ok).and_then(|list| list.into_iter().find(|r| r.id == started.id)).unwrap_or(started);
            view! {
                <section class="card" id="replay-started" role="status">
                    <h3>"Replay "<a href=format!("/events/replays/{}", latest.id) class="mono">{latest.id.clone()}</a></h3>
                    <ReplayProgress replay=latest/>
                </section>
            }
        })}
        <h3>"Recent replays"</h3>
        <Transition fallback=|| view! { <Loading label="Loading replays…"/> }>
            {move || Suspend::new(async move {
                match replays.await {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No replays yet." hint="A replay re-delivers the events a filter matches, for example after fixing a failing endpoint."/>
                    }.into_any(),
                    Ok(list) => view! { <ReplaysTable replays=list/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// What the replay form holds, and how many events it would re-deliver. Made with the page (not
/// inside the role check's suspense) so the count is a resource the server renders and the browser
/// picks up as it hydrates.
#[derive(Clone, Copy)]
struct ReplayFields {
    types: RwSignal<String>,
    from: RwSignal<String>,
    to: RwSignal<String>,
    listener: RwSignal<String>,
    count: Resource<Result<u64, AppError>>,
}

impl ReplayFields {
    /// Fields that start from the list's filters, and follow them when the URL changes.
    fn new(filters: Memo<EventFilters>) -> Self {
        let initial = filters.get_untracked();
        let (initial_from, initial_to) = initial.replay_bounds();
        let types = RwSignal::new(initial.replay_types());
        let from = RwSignal::new(initial_from);
        let to = RwSignal::new(initial_to);
        let listener = RwSignal::new(initial.listener.clone().unwrap_or_default());
        Effect::new(move |previous: Option<()>| {
            let f = filters.get();
            if previous.is_some() {
                let (f_from, f_to) = f.replay_bounds();
                types.set(f.replay_types());
                from.set(f_from);
                to.set(f_to);
                listener.set(f.listener.unwrap_or_default());
            }
        });
        let count = Resource::new(
            move || (types.get(), from.get(), to.get(), listener.get()),
            |(types, from, to, listener)| count_replay(types, Some(from), Some(to), Some(listener)),
        );
        Self { types, from, to, listener, count }
    }
}

/// The replay form. Its fields start from the list's filters; the confirmation says how many
/// events the replay would re-deliver, counted by the server for the fields as they stand.
#[component]
fn ReplayForm(start: ServerAction<StartReplay>, fields: ReplayFields) -> impl IntoView {
    let ReplayFields { types, from, to, listener, count } = fields;
    let consequence = move |n: u64| {
        let types = types.get();
        let range = match (from.get(), to.get()) {
            (f, t) if f.is_empty() && t.is_empty() => "of any time".to_owned(),
            (f, t) if t.is_empty() => format!("from {} UTC on", f.replace('T', " ")),
            (f, t) if f.is_empty() => format!("before {} UTC", t.replace('T', " ")),
            (f, t) => format!("from {} to {} UTC", f.replace('T', " "), t.replace('T', " ")),
        };
        let to_whom = match listener.get() {
            l if l.trim().is_empty() => "every listener subscribed to them".to_owned(),
            l => format!("the listener {}", l.trim()),
        };
        format!(
            "This re-delivers {} matching {types}, {range}, to {to_whom}. Each gets them again as new deliveries marked as a replay (webhook endpoints receive them again too); no payment moves.",
            plural(n, "event", "events")
        )
    };
    view! {
        <ActionForm action=start attr:class="card form" attr:id="replay-form">
            <div class="row">
                <div>
                    <label for="replay-types">"Types or patterns"</label>
                    <input id="replay-types" name="types" required placeholder="payment.*, refund.created"
                        value=types.get_untracked() prop:value=move || types.get() on:change=move |ev| types.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="replay-from">"From (UTC)"</label>
                    <input id="replay-from" name="from" type="datetime-local"
                        value=from.get_untracked() prop:value=move || from.get() on:change=move |ev| from.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="replay-to">"To (UTC)"</label>
                    <input id="replay-to" name="to" type="datetime-local"
                        value=to.get_untracked() prop:value=move || to.get() on:change=move |ev| to.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="replay-listener">"Listener"</label>
                    <input id="replay-listener" name="listener" placeholder="every subscribed listener"
                        value=listener.get_untracked() prop:value=move || listener.get() on:change=move |ev| listener.set(event_target_value(&ev))/>
                </div>
            </div>
            <p class="hint">"The replay covers types, times and a listener; the list's actor and status filters are not part of it."</p>
            <Confirm summary="Start replay…" testid="replay-confirm">
                <Transition fallback=|| view! { <Loading label="Counting the matching events…"/> }>
                    {move || Suspend::new(async move {
                        match count.await {
                            Ok(n) => view! { <p id="replay-consequence" data-count=n>{consequence(n)}</p> }.into_any(),
                            Err(error) => view! { <ErrorNote error/> }.into_any(),
                        }
                    })}
                </Transition>
                <button type="submit" id="replay-submit">"Replay these events"</button>
            </Confirm>
        </ActionForm>
    }
}

#[component]
fn ReplaysTable(replays: Vec<ReplayOut>) -> impl IntoView {
    view! {
        <TableWrap label="Recent replays">
            <table class="table" id="replays-table">
                <thead><tr><th>"Replay"</th><th>"Types"</th><th>"Progress"</th><th>"Created"</th></tr></thead>
                <tbody>
                    {replays.into_iter().map(|r| view! {
                        <tr>
                            <td><a href=format!("/events/replays/{}", r.id) class="mono">{r.id.clone()}</a></td>
                            <td><code>{r.filter.types.join(", ")}</code></td>
                            <td><ReplayProgress replay=r.clone()/></td>
                            <td>{super::short_time(&r.created_at)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </TableWrap>
    }
}

// ---------------------------------------------------------------------------------------------
// /events/:id

#[component]
pub fn EventDetailPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let params = use_params_map();
    let retry = ServerAction::<RetryDelivery>::new();
    // A retry changes the delivery's status and attempts: read the event again after one.
    let event = Resource::new(move || (params.read().get("id").unwrap_or_default(), retry.version().get()), |(id, _)| get_event(id));

    view! {
        <p class="breadcrumb"><a href="/events">"← Events"</a></p>
        <Toast value=retry.value() message=|d: &DeliveryOut| format!("Delivery to {} queued again: it is retried shortly.", d.listener)/>
        <Transition fallback=|| view! { <Loading label="Loading the event…"/> }>
            {move || Suspend::new(async move {
                let can_retry = may(me, Action::DeliveriesRetry).await;
                match event.await {
                    Ok(detail) => view! {
                        <Envelope event=detail.event/>
                        <Deliveries deliveries=detail.deliveries retry=can_retry.then_some(retry)/>
                    }
                    .into_any(),
                    Err(AppError::NotFound { .. }) => view! {
                        <h1>"Event"</h1>
                        <p class="empty" id="event-missing">"No such event in this tenant. "<a href="/events">"Back to the events"</a></p>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn pretty_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[component]
fn Envelope(event: EventOut) -> impl IntoView {
    let occurred = event.occurred_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let by_type = EventFilters { event_type: Some(event.event_type.clone()), ..Default::default() }.href(None);
    let actor = match event.actor.clone() {
        Some(actor) => {
            let href = EventFilters { actor: Some(actor.clone()), ..Default::default() }.href(None);
            view! { <a href=href class="mono">{actor}</a> }.into_any()
        }
        None => "—".into_any(),
    };
    view! {
        <h1><code>{event.event_type.clone()}</code></h1>
        <dl class="envelope" id="event-envelope">
            <dt>"Id"</dt><dd class="mono">{event.id.clone()}</dd>
            <dt>"Type"</dt><dd><a href=by_type><code>{event.event_type.clone()}</code></a></dd>
            <dt>"Version"</dt><dd>{event.version}</dd>
            <dt>"Time"</dt><dd class="mono">{occurred}</dd>
            <dt>"Actor"</dt><dd>{actor}</dd>
            <dt>"Actor type"</dt><dd>{event.actor_type.as_str()}</dd>
            {event.archived.then(|| view! { <dt>"Archived"</dt><dd>"Past retention: kept in the archive, still replayable."</dd> })}
        </dl>
        <h2>"Metadata"</h2>
        <pre class="json" id="event-metadata">{pretty_json(&event.metadata)}</pre>
        <h2>"Payload"</h2>
        <pre class="json" id="event-payload">{pretty_json(&event.payload)}</pre>
    }
}

/// Every delivery of the event, each followed by its attempt log. `retry` is given to users who
/// may retry dead deliveries.
#[component]
fn Deliveries(deliveries: Vec<DeliveryOut>, retry: Option<ServerAction<RetryDelivery>>) -> impl IntoView {
    let body = if deliveries.is_empty() {
        view! { <EmptyState title="No deliveries." hint="No listener is subscribed to this event type: plugins, rules and webhook endpoints subscribe to the types they handle."/> }.into_any()
    } else {
        let rows = deliveries.into_iter().map(|d| view! { <DeliveryRows delivery=d retry/> }).collect_view();
        view! {
            <TableWrap label="Deliveries">
                <table class="table deliveries">
                    <thead><tr><th>"Listener"</th><th>"Status"</th><th>"Attempts"</th><th>"Next attempt"</th><th>"Last error"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </TableWrap>
        }
        .into_any()
    };
    view! {
        <section id="event-deliveries">
            <h2>"Deliveries"</h2>
            {body}
        </section>
    }
}

#[component]
fn DeliveryRows(delivery: DeliveryOut, retry: Option<ServerAction<RetryDelivery>>) -> impl IntoView {
    let d = delivery;
    let (id, status) = (d.id.clone(), d.status.clone());
    let retry_button = retry.filter(|_| status == "dead").map(|action| {
        let id = id.clone();
        view! {
            <ActionForm action attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <button type="submit" class="secondary small" title="Queue this dead delivery again">"Retry"</button>
            </ActionForm>
        }
    });
    let replay = d.replay_id.clone().map(|id| {
        view! { <div class="meta">"replay "<a href=format!("/events/replays/{id}") class="mono">{id.clone()}</a></div> }
    });
    let attempts = if d.attempt_log.is_empty() {
        view! { <p class="meta">"No attempts yet."</p> }.into_any()
    } else {
        view! {
            <table class="attempt-log">
                <thead><tr><th>"Attempt"</th><th>"Started"</th><th>"Outcome"</th><th>"Duration"</th><th>"Error"</th></tr></thead>
                <tbody>
                    {d.attempt_log.into_iter().map(|a| view! {
                        <tr>
                            <td>{a.attempt}</td>
                            <td>{precise_time(&a.started_at)}</td>
                            <td><StatusBadge status=a.outcome/></td>
                            <td>{a.duration_ms}" ms"</td>
                            <td class="error-text">{a.error.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <tr class="delivery" data-delivery=id data-status=status.clone()>
            <td><code>{d.listener}</code>{replay}</td>
            <td><StatusBadge status=d.status/></td>
            <td>{d.attempts}" / "{d.max_attempts}</td>
            <td>{d.next_attempt_at.as_ref().map(precise_time).unwrap_or_else(|| "—".into())}</td>
            <td class="error-text">{d.last_error.unwrap_or_default()}</td>
            <td>{retry_button}</td>
        </tr>
        <tr class="attempts">
            <td colspan="6">{attempts}</td>
        </tr>
    }
}

// ---------------------------------------------------------------------------------------------
// /events/replays/:id

#[component]
pub fn ReplayPage() -> impl IntoView {
    let params = use_params_map();
    let tick = RwSignal::new(0u32);
    let replay = Resource::new(move || (params.read().get("id").unwrap_or_default(), tick.get()), |(id, _)| get_replay(id));
    let active = Memo::new(move |_| replay.get().and_then(Result::ok).is_some_and(|r| is_active(&r.status)));
    poll_while(active, tick);

    view! {
        <p class="breadcrumb"><a href="/events">"← Events"</a></p>
        // A transition keeps the last progress on screen while the next poll is in flight.
        <Transition fallback=|| view! { <Loading label="Loading the replay…"/> }>
            {move || Suspend::new(async move {
                match replay.await {
                    Ok(replay) => view! { <ReplayDetail replay/> }.into_any(),
                    Err(AppError::NotFound { .. }) => view! {
                        <h1>"Replay"</h1>
                        <p class="empty" id="replay-missing">"No such replay."</p>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ReplayDetail(replay: ReplayOut) -> impl IntoView {
    let filter = replay.filter.clone();
    let time_or_dash = |t: Option<OffsetDateTime>| t.as_ref().map(precise_time).unwrap_or_else(|| "—".into());
    let live = is_active(&replay.status);
    view! {
        <h1>"Replay "<span class="mono">{replay.id.clone()}</span></h1>
        <section class="card" id="replay-detail">
            <ReplayProgress replay=replay.clone()/>
            // With script the page polls; without, the link reloads it.
            {live.then(|| view! {
                <p class="hint">"Updating every second. "<a href=format!("/events/replays/{}", replay.id) id="replay-refresh">"Refresh"</a></p>
            })}
        </section>
        <dl class="envelope">
            <dt>"Types"</dt><dd><code>{filter.types.join(", ")}</code></dd>
            <dt>"Actor"</dt><dd>{filter.actor.unwrap_or_else(|| "any".into())}</dd>
            <dt>"From"</dt><dd>{time_or_dash(filter.from)}</dd>
            <dt>"To"</dt><dd>{time_or_dash(filter.to)}</dd>
            <dt>"Listener"</dt><dd>{filter.listener.unwrap_or_else(|| "every subscribed listener".into())}</dd>
            <dt>"Created"</dt><dd>{precise_time(&replay.created_at)}</dd>
            <dt>"Finished"</dt><dd>{time_or_dash(replay.finished_at)}</dd>
        </dl>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_through_the_url() {
        let query: ParamsMap = [("type", "payment.captured"), ("pattern", " "), ("actor", "usr_1")].into_iter().collect();
        let filters = EventFilters::from_query(&query);
        assert_eq!(filters.pattern, None);
        assert_eq!(filters.href(None), "/events?type=payment.captured&actor=usr_1");
        assert_eq!(filters.href(Some("evt_9")), "/events?type=payment.captured&actor=usr_1&starting_after=evt_9");
        assert_eq!(EventFilters::default().href(None), "/events");
    }

    #[test]
    fn query_values_are_encoded_but_patterns_stay_readable() {
        assert_eq!(encode("payment.*,refund.*"), "payment.*,refund.*");
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn status_listener_and_days_are_filters_too() {
        let query: ParamsMap = [("status", "dead"), ("listener", "audit-log"), ("from", "2026-11-01"), ("to", "2026-11-02"), ("starting_after", "evt_1")].into_iter().collect();
        let filters = EventFilters::from_query(&query);
        assert!(filters.is_filtered());
        assert_eq!(filters.href(None), "/events?status=dead&listener=audit-log&from=2026-11-01&to=2026-11-02");
        let only_a_cursor = EventFilters { starting_after: Some("evt_1".into()), ..Default::default() };
        assert!(!only_a_cursor.is_filtered());
    }

    #[test]
    fn a_replay_covers_the_whole_days_the_list_shows() {
        let filters = EventFilters { from: Some("2026-11-01".into()), to: Some("2026-11-30".into()), ..Default::default() };
        assert_eq!(filters.replay_bounds(), ("2026-11-01T00:00".to_owned(), "2026-12-01T00:00".to_owned()));
        assert_eq!(EventFilters::default().replay_bounds(), (String::new(), String::new()));
    }

    #[test]
    fn a_replay_defaults_to_what_the_list_shows() {
        assert_eq!(EventFilters::default().replay_types(), "*");
        let filters = EventFilters { event_type: Some("payment.captured".into()), pattern: Some("refund.*".into()), ..Default::default() };
        assert_eq!(filters.replay_types(), "payment.captured,refund.*");
    }
}
