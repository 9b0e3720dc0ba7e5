//! Customers by email (what the crm-activity plugin recorded): the searchable list, and one
//! customer's timeline of payments, refunds and disputes.

use leptos::prelude::*;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
};

use super::short_time;
use crate::{
    components::{EmptyState, ErrorNote, Loading, TableWrap},
    domain::{
        customer_activity::{AmountOut, CustomerActivityOut, CustomerActivitySummaryOut},
        Currency,
    },
    error::AppError,
    server_fns::customers::{customer_timeline, list_customers},
};

const LOADING: fn() -> AnyView = || view! { <Loading/> }.into_any();

fn money(amount: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| c.format(amount)).unwrap_or_else(|_| format!("{amount} {}", currency.to_uppercase()))
}

fn totals(amounts: &[AmountOut]) -> String {
    if amounts.is_empty() {
        return "—".into();
    }
    amounts.iter().map(|a| money(a.amount, &a.currency)).collect::<Vec<_>>().join(", ")
}

/// Percent-encodes everything but the characters an email address usually consists of, the
/// same on the server and in the browser.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' | b'+' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Undoes [`encode`] (and any other `%XX`); malformed escapes stay as they are.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() {
            if let Ok(b) = u8::from_str_radix(&value[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| value.to_owned())
}

pub(crate) fn customer_href(email: &str) -> String {
    format!("/customers/{}", encode(email))
}

fn list_href(email: Option<&str>, starting_after: Option<&str>) -> String {
    let query: Vec<String> = [("email", email), ("starting_after", starting_after)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
        .collect();
    if query.is_empty() {
        "/customers".into()
    } else {
        format!("/customers?{}", query.join("&"))
    }
}

fn field(query: &leptos_router::params::ParamsMap, key: &str) -> Option<String> {
    query.get_str(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// /customers

#[component]
pub fn CustomersPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| {
        let q = query.read();
        (field(&q, "email"), field(&q, "starting_after"))
    });
    let customers = Resource::new(
        move || filters.get(),
        |(email, starting_after)| async move {
            let page = list_customers(email.clone(), starting_after.clone()).await;
            (email, starting_after, page)
        },
    );
    let search = move || filters.get().0.unwrap_or_default();

    view! {
        <h1>"Customers"</h1>
        <p class="hint">"Customers from Stripe with their balances, and everyone who paid, by email, with their payments, refunds and disputes (recorded by the Customer activity plugin)."</p>
        <Form method="get" action="/customers" on_form_data=super::events::drop_empty_fields(&["email"]) attr:class="card form row" attr:id="customers-filter">
            <div>
                <label for="customer-email">"Email"</label>
                <input id="customer-email" name="email" type="search" placeholder="part of an address" value=search/>
            </div>
            <button type="submit">"Search"</button>
            <a href="/customers" class="clear-filters">"Clear"</a>
        </Form>
        <super::balances::BillingCustomers/>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match customers.await {
                    (email, starting_after, Ok(page)) => view! {
                        <CustomersTable customers=page.data has_more=page.has_more email starting_after/>
                    }.into_any(),
                    (_, _, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CustomersTable(customers: Vec<CustomerActivitySummaryOut>, has_more: bool, email: Option<String>, starting_after: Option<String>) -> impl IntoView {
    if customers.is_empty() {
        let (title, hint) = if email.is_some() {
            ("No customer matches this search", "Search part of the address, or clear the search.")
        } else {
            ("No customer activity yet", "Everyone who pays appears here by email, with their payments, refunds and disputes (the Customer activity plugin records them).")
        };
        return view! {
            <div id="customers-empty">
                <EmptyState title=title hint=hint>
                    {email.is_none().then(|| view! { <a href="/plugins">"Check the Customer activity plugin"</a> })}
                </EmptyState>
            </div>
        }
        .into_any();
    }
    let next = has_more.then(|| customers.last().map(|c| list_href(email.as_deref(), Some(&c.email)))).flatten();
    let first = starting_after.is_some().then(|| list_href(email.as_deref(), None));
    let rows = customers
        .into_iter()
        .map(|c| {
            view! {
                <tr>
                    <td><a href=customer_href(&c.email)>{c.email.clone()}</a></td>
                    <td>{short_time(&c.last_seen)}</td>
                    <td>{short_time(&c.first_seen)}</td>
                    <td class="num">{c.payments_count}</td>
                    <td class="num">{totals(&c.total_paid)}</td>
                    <td class="num">{c.refunds_count}</td>
                    <td class="num">{c.disputes_count}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableWrap label="Customers by email">
        <table class="table" id="customers-table">
            <thead>
                <tr>
                    <th>"Customer"</th><th>"Last seen (UTC)"</th><th>"First seen (UTC)"</th><th class="num">"Payments"</th>
                    <th class="num">"Paid"</th><th class="num">"Refunds"</th><th class="num">"Disputes"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        </TableWrap>
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <a href=href>"First page"</a> })}
            {next.map(|href| view! { <a href=href rel="next" id="customers-next">"Next page"</a> })}
        </nav>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------
// /customers/:email

#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = Memo::new(move |_| (decode(&params.read().get("email").unwrap_or_default()), field(&query.read(), "starting_after")));
    let timeline = Resource::new(
        move || key.get(),
        |(email, starting_after)| async move {
            let page = customer_timeline(email.clone(), starting_after.clone()).await;
            (email, starting_after, page)
        },
    );

    view! {
        <p class="breadcrumb"><a href="/customers">"← Customers"</a></p>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match timeline.await {
                    (email, starting_after, Ok(page)) => view! {
                        <h1>{email.clone()}</h1>
                        <Timeline entries=page.data has_more=page.has_more email starting_after/>
                    }.into_any(),
                    (email, _, Err(AppError::NotFound { .. })) => view! {
                        <h1>{email}</h1>
                        <div id="customer-missing">
                            <EmptyState title="No activity recorded for this customer" hint="Payments, refunds and disputes show here once Stripe reports one for this address.">
                                <a href="/customers">"All customers"</a>
                            </EmptyState>
                        </div>
                    }.into_any(),
                    (_, _, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Timeline(entries: Vec<CustomerActivityOut>, has_more: bool, email: String, starting_after: Option<String>) -> impl IntoView {
    if entries.is_empty() {
        return view! {
            <EmptyState title="Nothing more to show" hint="This is the start of the customer's activity.">
                <a href=customer_href(&email)>"Back to the newest"</a>
            </EmptyState>
        }
        .into_any();
    }
    let base = customer_href(&email);
    let next = has_more.then(|| entries.last().map(|e| format!("{base}?starting_after={}", encode(&e.id)))).flatten();
    let first = starting_after.is_some().then(|| base.clone());
    let rows = entries
        .into_iter()
        .map(|e| {
            let object = e.object_id.clone().map(|id| {
                if id.starts_with("pay_") {
                    view! { <a href=format!("/payments/{id}") class="mono small">{id.clone()}</a> }.into_any()
                } else {
                    view! { <span class="mono small">{id}</span> }.into_any()
                }
            });
            view! {
                <li data-event-type=e.event_type.clone() data-source=e.event_type.split('.').next().unwrap_or_default().to_owned()>
                    <time class="meta">{short_time(&e.occurred_at)}</time>
                    <span class="timeline-title">{e.summary.clone()}</span>
                    <code class="small">{e.event_type.clone()}</code>
                    {object}
                </li>
            }
        })
        .collect_view();
    view! {
        <h2>"Activity"</h2>
        <p class="hint">"Newest first, times in UTC."</p>
        <ol class="timeline" id="customer-timeline">{rows}</ol>
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <a href=href>"Newest"</a> })}
            {next.map(|href| view! { <a href=href rel="next" id="timeline-next">"Older"</a> })}
        </nav>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_survive_the_url() {
        for email in ["jane@example.com", "jane+tag@example.com", "o'neil@example.com", "a b%c@example.com"] {
            assert_eq!(decode(&encode(email)), email);
        }
        assert_eq!(customer_href("jane@example.com"), "/customers/jane@example.com");
        assert_eq!(decode("100%"), "100%");
    }
}
