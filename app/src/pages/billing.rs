//! Recurring billing mirrored from Stripe: subscriptions and invoices with a status filter kept
//! in the URL (`?status=overdue`), overdue badges, cursors and CSV exports. Read-only; Stripe's
//! webhooks and the overdue job write these tables.

use leptos::prelude::*;
use leptos_router::{hooks::use_query_map, params::ParamsMap};

use crate::{
    components::{EmptyState, ErrorNote, Loading, MeResource, TableWrap},
    domain::{
        billing::{InvoiceOut, SubscriptionOut, INVOICE_STATUSES, SUBSCRIPTION_STATUSES},
        Action,
    },
    server_fns::billing::{list_invoices, list_subscriptions},
};

use super::{short_time, StatusFilter};

/// Currencies without a minor unit: Stripe counts them in whole units.
const ZERO_DECIMAL: [&str; 8] = ["jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"];

/// `23.80 EUR` from minor units, `1200 JPY` for zero-decimal currencies.
fn format_money(amount: i64, currency: &str) -> String {
    let code = currency.to_uppercase();
    if ZERO_DECIMAL.contains(&currency.to_lowercase().as_str()) {
        return format!("{amount} {code}");
    }
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}{}.{:02} {code}", abs / 100, abs % 100)
}

const LOADING: fn() -> AnyView = || view! { <Loading/> }.into_any();

#[component]
fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let class = format!("badge badge-{}", status.replace(|c: char| !c.is_ascii_lowercase() && c != '_', ""));
    view! { <span class=class>{status}</span> }
}

/// `?status=…&starting_after=…`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Filters {
    status: Option<String>,
    starting_after: Option<String>,
}

fn field(query: &ParamsMap, key: &str) -> Option<String> {
    query.get_str(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Percent-encodes a query value (ids and statuses are plain, but a hand-typed URL may not be).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Filters {
    fn href(&self, path: &str, starting_after: Option<&str>) -> String {
        let pairs: Vec<String> = [("status", self.status.as_deref()), ("starting_after", starting_after)]
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
            .collect();
        if pairs.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", pairs.join("&"))
        }
    }

    fn pager(&self, path: &str, has_more: bool, last: Option<&str>, next_id: &'static str) -> impl IntoView {
        let next = has_more.then(|| last.map(|id| self.href(path, Some(id)))).flatten();
        let first = self.starting_after.is_some().then(|| self.href(path, None));
        view! {
            <nav class="pager" aria-label="Pages">
                {first.map(|href| view! { <a href=href>"First page"</a> })}
                {next.map(|href| view! { <a href=href rel="next" id=next_id>"Next page"</a> })}
            </nav>
        }
    }
}

fn filters() -> Memo<Filters> {
    let query = use_query_map();
    Memo::new(move |_| {
        let q = query.read();
        Filters { status: field(&q, "status"), starting_after: field(&q, "starting_after") }
    })
}

/// The export link, for roles that may export (the API refuses the others); it carries the filter.
#[component]
fn ExportLink(href: Signal<String>) -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let allowed = matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::BillingExport)));
                allowed.then(|| view! { <p class="export"><a href=move || href.get() class="export-link" download>"Export CSV"</a></p> })
            })}
        </Suspense>
    }
}

fn day(t: &Option<time::OffsetDateTime>) -> String {
    t.as_ref().map(|t| format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day())).unwrap_or_else(|| "—".into())
}

// ---------------------------------------------------------------------------------------------
// /subscriptions

#[component]
pub fn SubscriptionsPage() -> impl IntoView {
    let filters = filters();
    let page = Resource::new(move || filters.get(), |f| async move { (f.clone(), list_subscriptions(f.status, f.starting_after).await) });
    let export = Signal::derive(move || Filters { starting_after: None, ..filters.get() }.href("/api/v1/subscriptions/export.csv", None));
    view! {
        <h1>"Subscriptions"</h1>
        <p class="hint">"Mirrored from Stripe as its webhooks arrive."</p>
        <StatusFilter path="/subscriptions" form_id="subscriptions-filter" statuses=&SUBSCRIPTION_STATUSES current=Signal::derive(move || filters.get().status)/>
        <ExportLink href=export/>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match page.await {
                    (f, Ok(list)) if list.data.is_empty() => view! {
                        <EmptyState
                            title=if f.status.is_some() { "No subscriptions with this status" } else { "No subscriptions yet" }
                            hint="Subscriptions you create in Stripe are mirrored here as its webhooks arrive."
                        />
                    }.into_any(),
                    (f, Ok(list)) => {
                        let pager = f.pager("/subscriptions", list.has_more, list.data.last().map(|s| s.id.as_str()), "subscriptions-next");
                        view! { <SubscriptionsTable subscriptions=list.data/>{pager} }.into_any()
                    }
                    (_, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SubscriptionsTable(subscriptions: Vec<SubscriptionOut>) -> impl IntoView {
    let rows = subscriptions
        .into_iter()
        .map(|s| {
            let price = match (s.unit_amount, s.currency.as_deref()) {
                (Some(a), Some(c)) => format!("{} / {}", format_money(a * s.quantity, c), s.interval.clone().unwrap_or_else(|| "period".into())),
                _ => "—".into(),
            };
            let plan = s.plan_nickname.clone().or(s.price_id.clone()).unwrap_or_else(|| "—".into());
            view! {
                <tr data-subscription=s.id.clone()>
                    <td>{short_time(&s.created_at)}</td>
                    <td>
                        <StatusBadge status=s.status.clone()/>
                        {s.cancel_at_period_end.then(|| view! { <span class="badge badge-warning">"cancels at period end"</span> })}
                    </td>
                    <td>{s.customer_email.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{plan}</td>
                    <td class="num">{price}</td>
                    <td>{day(&s.current_period_end)}</td>
                    <td class="mono">{s.id.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableWrap label="Subscriptions"><table class="table" id="subscriptions-table">
            <thead><tr><th>"Created (UTC)"</th><th>"Status"</th><th>"Customer"</th><th>"Plan"</th><th class="num">"Price"</th><th>"Period ends"</th><th>"Id"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table></TableWrap>
    }
}

// ---------------------------------------------------------------------------------------------
// /invoices

#[component]
pub fn InvoicesPage() -> impl IntoView {
    let filters = filters();
    let page = Resource::new(move || filters.get(), |f| async move { (f.clone(), list_invoices(f.status, f.starting_after).await) });
    let export = Signal::derive(move || Filters { starting_after: None, ..filters.get() }.href("/api/v1/invoices/export.csv", None));
    view! {
        <h1>"Invoices"</h1>
        <p class="hint">"Mirrored from Stripe. Open invoices past their due date are marked overdue once, by the overdue job."</p>
        <StatusFilter path="/invoices" form_id="invoices-filter" statuses=&INVOICE_STATUSES current=Signal::derive(move || filters.get().status)/>
        <ExportLink href=export/>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match page.await {
                    (f, Ok(list)) if list.data.is_empty() => view! {
                        <EmptyState
                            title=if f.status.is_some() { "No invoices with this status" } else { "No invoices yet" }
                            hint="Invoices Stripe issues (for subscriptions or one-off) are mirrored here as its webhooks arrive."
                        />
                    }.into_any(),
                    (f, Ok(list)) => {
                        let pager = f.pager("/invoices", list.has_more, list.data.last().map(|i| i.id.as_str()), "invoices-next");
                        view! { <InvoicesTable invoices=list.data/>{pager} }.into_any()
                    }
                    (_, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn InvoicesTable(invoices: Vec<InvoiceOut>) -> impl IntoView {
    let rows = invoices
        .into_iter()
        .map(|i| {
            view! {
                <tr class:overdue=i.overdue data-invoice=i.id.clone()>
                    <td>{short_time(&i.created_at)}</td>
                    <td>{i.number.clone().unwrap_or_else(|| "draft".into())}</td>
                    <td>
                        <StatusBadge status=i.status.clone()/>
                        {i.overdue.then(|| view! { <span class="badge badge-overdue">"overdue"</span> })}
                    </td>
                    <td>{i.customer_email.clone().unwrap_or_else(|| "—".into())}</td>
                    <td class="num">{format_money(i.amount_due, &i.currency)}</td>
                    <td class="num">{format_money(i.amount_remaining, &i.currency)}</td>
                    <td class="num"><a href=format!("/invoices/{}/tax", i.id) title="Tax breakdown" aria-label=format!("Tax {}: breakdown", format_money(i.tax, &i.currency))>{format_money(i.tax, &i.currency)}</a></td>
                    <td>{day(&i.due_date)}</td>
                    <td>{i.payment_id.clone().map(|p| view! { <a href=format!("/payments/{p}") class="mono">{p.clone()}</a> })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableWrap label="Invoices"><table class="table" id="invoices-table">
            <thead><tr><th>"Created (UTC)"</th><th>"Number"</th><th>"Status"</th><th>"Customer"</th><th class="num">"Due"</th><th class="num">"Remaining"</th><th class="num">"Tax"</th><th>"Due date"</th><th>"Payment"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table></TableWrap>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_shows_minor_units_in_major_ones_and_zero_decimal_currencies_whole() {
        assert_eq!(format_money(2380, "eur"), "23.80 EUR");
        assert_eq!(format_money(-5, "usd"), "-0.05 USD");
        assert_eq!(format_money(1200, "jpy"), "1200 JPY");
    }

    #[test]
    fn list_links_keep_the_status_filter_and_drop_empty_values() {
        let f = Filters { status: Some("overdue".into()), starting_after: None };
        assert_eq!(f.href("/invoices", Some("inv_1")), "/invoices?status=overdue&starting_after=inv_1");
        assert_eq!(Filters::default().href("/invoices", None), "/invoices");
    }
}
