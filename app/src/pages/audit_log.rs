//! The audit trail: who did what in the tenant, searchable by text, event type, actor and date,
//! newest first, with a CSV export of what the search shows. The filters live in the URL (a GET
//! form), so a search can be bookmarked and works before the page has hydrated.

use leptos::prelude::*;
use leptos_router::{hooks::use_query_map, params::ParamsMap};

use super::ops_ui::TableWrap;
use crate::{
    components::{EmptyState, ErrorNote, Loading},
    domain::audit_log::{day_bound, AuditLogEntryOut},
    server_fns::audit_log::audit_log_entries,
};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Filters {
    q: Option<String>,
    event_type: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    starting_after: Option<String>,
}

impl Filters {
    fn from_query(query: &ParamsMap) -> Self {
        let field = |key: &str| query.get_str(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Self { q: field("q"), event_type: field("type"), actor: field("actor"), from: field("from"), to: field("to"), starting_after: field("starting_after") }
    }

    fn pairs(&self) -> [(&'static str, Option<&str>); 5] {
        [("q", self.q.as_deref()), ("type", self.event_type.as_deref()), ("actor", self.actor.as_deref()), ("from", self.from.as_deref()), ("to", self.to.as_deref())]
    }

    /// This search on the page after `starting_after`.
    fn href(&self, starting_after: &str) -> String {
        let mut query: Vec<String> = self.pairs().iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v)))).collect();
        query.push(format!("starting_after={}", encode(starting_after)));
        format!("/audit-log?{}", query.join("&"))
    }

    /// The API's export of this search (dates become the times the API takes).
    fn export_href(&self) -> String {
        let query: Vec<String> = self
            .pairs()
            .iter()
            .filter_map(|(k, v)| {
                v.map(|v| {
                    let v = match *k {
                        "from" => day_bound(v, false),
                        "to" => day_bound(v, true),
                        _ => v.to_owned(),
                    };
                    format!("{k}={}", encode(&v))
                })
            })
            .collect();
        if query.is_empty() {
            "/api/v1/audit-log/export.csv".into()
        } else {
            format!("/api/v1/audit-log/export.csv?{}", query.join("&"))
        }
    }

    fn is_empty(&self) -> bool {
        self.pairs().iter().all(|(_, v)| v.is_none())
    }
}

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `2026-11-22 14:03:07` (UTC).
fn precise_time(t: &time::OffsetDateTime) -> String {
    format!("{} {:02}:{:02}:{:02}", t.date(), t.hour(), t.minute(), t.second())
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| Filters::from_query(&query.read()));
    let entries = Resource::new(
        move || filters.get(),
        |f| async move {
            let page = audit_log_entries(f.q.clone(), f.event_type.clone(), f.actor.clone(), f.from.clone(), f.to.clone(), f.starting_after.clone()).await;
            (f, page)
        },
    );
    let value = move |get: fn(&Filters) -> Option<String>| move || get(&filters.get()).unwrap_or_default();

    view! {
        <h1>"Audit trail"</h1>
        <p class="hint">"Everything that happened in this tenant — who did it, from where, and to what. Recorded by the audit-log plugin."</p>
        <form method="get" action="/audit-log" class="card form row" id="audit-log-filter">
            <div>
                <label for="audit-log-q">"Search"</label>
                <input id="audit-log-q" name="q" type="search" placeholder="refunded, pay_…, usr_…" value=value(|f| f.q.clone())/>
            </div>
            <div>
                <label for="audit-log-type">"Event type"</label>
                <input id="audit-log-type" name="type" placeholder="payment.*" size="16" value=value(|f| f.event_type.clone())/>
            </div>
            <div>
                <label for="audit-log-actor">"Actor"</label>
                <input id="audit-log-actor" name="actor" placeholder="usr_… or key_…" size="16" value=value(|f| f.actor.clone())/>
            </div>
            <div>
                <label for="audit-log-from">"From"</label>
                <input id="audit-log-from" name="from" type="date" value=value(|f| f.from.clone())/>
            </div>
            <div>
                <label for="audit-log-to">"To"</label>
                <input id="audit-log-to" name="to" type="date" value=value(|f| f.to.clone())/>
            </div>
            <button type="submit">"Search"</button>
            {move || (!filters.get().is_empty()).then(|| view! { <a href="/audit-log" id="audit-log-clear">"Clear"</a> })}
            <a href=move || filters.get().export_href() id="audit-log-export">"Export CSV"</a>
        </form>
        <Transition fallback=|| view! { <Loading label="Loading the audit trail…"/> }>
            {move || Suspend::new(async move {
                match entries.await {
                    (f, Ok(list)) if list.data.is_empty() => {
                        let state = if f.is_empty() && f.starting_after.is_none() {
                            view! {
                                <EmptyState title="Nothing recorded yet." hint="Actions in this tenant (payments, refunds, API keys, members, settings) appear here as they happen, once the audit-log plugin is on.">
                                    <a href="/plugins">"Check the plugins"</a>
                                </EmptyState>
                            }.into_any()
                        } else {
                            view! {
                                <EmptyState title="No entries match this search." hint="Try fewer words, a wider date range, or a pattern such as payment.*.">
                                    <a href="/audit-log">"Clear the search"</a>
                                </EmptyState>
                            }.into_any()
                        };
                        view! { <div id="audit-log-empty">{state}</div> }.into_any()
                    }
                    (f, Ok(list)) => {
                        let next = list.has_more.then(|| list.data.last().map(|e| f.href(&e.id))).flatten();
                        view! {
                            <AuditTable entries=list.data/>
                            {next.map(|href| view! { <p><a id="audit-log-next" href=href>"Older →"</a></p> })}
                        }
                        .into_any()
                    }
                    (_, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditLogEntryOut>) -> impl IntoView {
    view! {
        <TableWrap label="Audit trail">
        <table class="table" id="audit-log-table">
            <thead><tr><th>"When"</th><th>"What"</th><th>"Event"</th><th>"By"</th><th>"From"</th><th>"Object"</th></tr></thead>
            <tbody>
                {entries.into_iter().map(|e| {
                    let object = e.object_id.clone().map(|o| {
                        let href = if o.starts_with("pay_") {
                            Some(format!("/payments/{o}"))
                        } else if o.starts_with("dsp_") {
                            Some(format!("/disputes/{o}"))
                        } else {
                            None
                        };
                        match href {
                            Some(href) => view! { <a class="mono" href=href>{o}</a> }.into_any(),
                            None => view! { <span class="mono">{o}</span> }.into_any(),
                        }
                    });
                    let from = [e.source.clone(), e.ip.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                    view! {
                        <tr>
                            <td>{precise_time(&e.occurred_at)}</td>
                            <td>{e.summary.clone()}</td>
                            <td><a class="mono" href=format!("/events/{}", e.event_id)>{e.event_type.clone()}</a></td>
                            <td><span class="badge">{e.actor_type.clone()}</span>" "<span class="mono">{e.actor.clone().unwrap_or_default()}</span></td>
                            <td>{from}</td>
                            <td>{object}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </TableWrap>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_link_carries_the_search_with_dates_as_times() {
        let f = Filters { q: Some("refund 12".into()), event_type: Some("payment.*".into()), from: Some("2026-01-01".into()), to: Some("2026-01-31".into()), ..Default::default() };
        assert_eq!(f.export_href(), "/api/v1/audit-log/export.csv?q=refund%2012&type=payment.%2A&from=2026-01-01T00%3A00%3A00Z&to=2026-02-01T00%3A00%3A00Z");
        assert_eq!(Filters::default().export_href(), "/api/v1/audit-log/export.csv");
        assert_eq!(f.href("aud_1"), "/audit-log?q=refund%2012&type=payment.%2A&from=2026-01-01&to=2026-01-31&starting_after=aud_1");
    }
}
