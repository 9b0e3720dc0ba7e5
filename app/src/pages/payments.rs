//! The payment ledger: payments with filters kept in the URL, one payment with its timeline,
//! disputes, refunds and the webhook audit. Read-only; the ledger is written by Stripe's webhooks.

use leptos::prelude::*;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
    params::ParamsMap,
};
use time::{Date, Month, OffsetDateTime};

use crate::{
    components::{EmptyState, ErrorNote, Loading, MeResource, TableWrap, Toast},
    domain::{
        ledger::{PaymentOut, RefundOut, TimelineEntryOut, WebhookEventOut},
        Action,
    },
    error::AppError,
    server_fns::payments::{get_dispute, get_payment, list_disputes, list_payments, list_refunds, list_webhook_events, DisputeRowOut},
};

use super::{events::drop_empty_fields, short_time, StatusFilter};

/// The services' `PAYMENT_STATUSES`, which live behind the `ssr` feature: the browser needs
/// them for the select too.
const PAYMENT_STATUSES: [&str; 13] = [
    "requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture", "succeeded", "failed",
    "canceled", "partially_refunded", "refunded", "disputed", "dispute_lost", "unknown",
];

/// The services' `DISPUTE_STATUSES` and `REFUND_STATUSES`, for the filters.
const DISPUTE_STATUSES: [&str; 7] =
    ["warning_needs_response", "warning_under_review", "warning_closed", "needs_response", "under_review", "won", "lost"];
const REFUND_STATUSES: [&str; 5] = ["pending", "requires_action", "succeeded", "failed", "canceled"];

/// The statuses the webhook receiver records (see `WebhookEventOut::status`).
const WEBHOOK_STATUSES: [&str; 6] = ["processed", "duplicate", "ignored", "unassigned", "unparsed", "rejected"];

/// Currencies without a minor unit: Stripe counts them in whole units.
const ZERO_DECIMAL: [&str; 8] = ["jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"];

/// `12.34 EUR` from minor units, `1200 JPY` for zero-decimal currencies.
fn format_money(amount: i64, currency: &str) -> String {
    let code = currency.to_uppercase();
    if ZERO_DECIMAL.contains(&currency.to_lowercase().as_str()) {
        return format!("{amount} {code}");
    }
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}{}.{:02} {code}", abs / 100, abs % 100)
}

/// Minor units from what a person types in major units (`12`, `12.5`, `12.50`), assuming two
/// decimals: the filter spans currencies, so it cannot know better.
fn to_minor(raw: &str) -> Option<i64> {
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 2 {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    whole.checked_mul(100)?.checked_add(frac)
}

/// A `date` input's `2026-11-23`.
fn parse_date(raw: &str) -> Option<Date> {
    let mut parts = raw.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = Month::try_from(parts.next()?.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year, month, parts.next()?.parse().ok()?).ok()
}

fn midnight_utc(date: Date) -> String {
    format!("{date}T00:00:00Z")
}

/// Percent-encodes a query value, the same on the server and in the browser (as in events).
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

/// `path?k=v&…` from the pairs that have a value.
fn with_query(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = pairs.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v)))).collect();
    if query.is_empty() {
        path.into()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn query_field(query: &ParamsMap, key: &str) -> Option<String> {
    query.get_str(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// A status from one of the ledger's vocabularies, as a coloured badge.
#[component]
fn StatusBadge(#[prop(into)] status: String) -> impl IntoView {
    let class = format!("badge badge-{}", status.replace(|c: char| !c.is_ascii_lowercase() && c != '_', ""));
    view! { <span class=class>{status}</span> }
}

/// "First page" and "Next page" links; `next` is the URL after the last row, if there is more.
#[component]
fn Pager(first: Option<String>, next: Option<String>, #[prop(into)] next_id: String) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <a href=href>"First page"</a> })}
            {next.map(|href| view! { <a href=href rel="next" id=next_id>"Next page"</a> })}
        </nav>
    }
}

/// A CSV export link, shown only to roles that may export: the API would refuse the others.
/// A plain link, so the browser downloads it with the session cookie.
#[component]
fn ExportLink(href: String) -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let href = href.clone();
                Suspend::new(async move {
                    let allowed = matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::PaymentsExport)));
                    allowed.then(|| view! { <p class="export"><a href=href class="export-link" download>"Export CSV"</a></p> })
                })
            }}
        </Suspense>
    }
}

const LOADING: fn() -> AnyView = || view! { <Loading/> }.into_any();

// ---------------------------------------------------------------------------------------------
// /payments

/// The filters of the payments page as its URL carries them, in the units people type
/// (`?status=succeeded&min=12.50&from=2026-11-01`), so a filtered view can be shared.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct PaymentFilters {
    status: Option<String>,
    email: Option<String>,
    min: Option<String>,
    max: Option<String>,
    from: Option<String>,
    to: Option<String>,
    starting_after: Option<String>,
}

/// The same filters as the API takes them: minor units and RFC 3339 times.
#[derive(Debug, Clone, Default, PartialEq)]
struct PaymentApiQuery {
    status: Option<String>,
    email: Option<String>,
    amount_gte: Option<i64>,
    amount_lte: Option<i64>,
    from: Option<String>,
    to: Option<String>,
}

impl PaymentFilters {
    fn from_query(query: &ParamsMap) -> Self {
        let field = |key| query_field(query, key);
        Self {
            status: field("status"),
            email: field("email"),
            min: field("min"),
            max: field("max"),
            from: field("from"),
            to: field("to"),
            starting_after: field("starting_after"),
        }
    }

    fn href(&self, starting_after: Option<&str>) -> String {
        with_query(
            "/payments",
            &[
                ("status", self.status.as_deref()),
                ("email", self.email.as_deref()),
                ("min", self.min.as_deref()),
                ("max", self.max.as_deref()),
                ("from", self.from.as_deref()),
                ("to", self.to.as_deref()),
                ("starting_after", starting_after),
            ],
        )
    }

    /// The API's filters, or what is wrong with a field. The "to" date is inclusive on the page
    /// and exclusive in the API, hence the next day's midnight.
    fn api(&self) -> Result<PaymentApiQuery, AppError> {
        let amount = |raw: &Option<String>, param| {
            raw.as_deref()
                .map(|v| to_minor(v).ok_or_else(|| AppError::invalid("parameter_invalid", "Amounts are numbers like 12 or 12.50", Some(param))))
                .transpose()
        };
        let date = |raw: &Option<String>, param, next_day: bool| {
            raw.as_deref()
                .map(|v| {
                    parse_date(v)
                        .and_then(|d| if next_day { d.next_day() } else { Some(d) })
                        .map(midnight_utc)
                        .ok_or_else(|| AppError::invalid("parameter_invalid_time", "Dates are like 2026-11-23", Some(param)))
                })
                .transpose()
        };
        Ok(PaymentApiQuery {
            status: self.status.clone(),
            email: self.email.clone(),
            amount_gte: amount(&self.min, "min")?,
            amount_lte: amount(&self.max, "max")?,
            from: date(&self.from, "from", false)?,
            to: date(&self.to, "to", true)?,
        })
    }
}

impl PaymentApiQuery {
    /// The CSV export of every payment these filters match (no cursor: the export pages itself).
    fn export_href(&self) -> String {
        let (gte, lte) = (self.amount_gte.map(|a| a.to_string()), self.amount_lte.map(|a| a.to_string()));
        with_query(
            "/api/v1/payments/export.csv",
            &[
                ("status", self.status.as_deref()),
                ("email", self.email.as_deref()),
                ("amount_gte", gte.as_deref()),
                ("amount_lte", lte.as_deref()),
                ("from", self.from.as_deref()),
                ("to", self.to.as_deref()),
            ],
        )
    }
}

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| PaymentFilters::from_query(&query.read()));
    // The page comes back with the filters it was read with, so its links never mix one URL's
    // filters with another's rows.
    let payments = Resource::new(
        move || filters.get(),
        |f| async move {
            let page = match f.api() {
                Ok(q) => list_payments(q.status, q.email, q.amount_gte, q.amount_lte, q.from, q.to, f.starting_after.clone()).await,
                Err(e) => Err(e),
            };
            (f, page)
        },
    );

    view! {
        <h1>"Payments"</h1>
        <PaymentFilterForm filters/>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match payments.await {
                    (filters, Ok(page)) => view! { <PaymentsTable payments=page.data has_more=page.has_more filters/> }.into_any(),
                    (_, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A GET form: submitting it changes the URL, and the list follows the URL.
#[component]
fn PaymentFilterForm(filters: Memo<PaymentFilters>) -> impl IntoView {
    let current = move || filters.get().status;
    let options = PAYMENT_STATUSES
        .iter()
        .map(|s| view! { <option value=*s selected=move || current().as_deref() == Some(*s)>{*s}</option> })
        .collect_view();
    let value = move |pick: fn(PaymentFilters) -> Option<String>| move || pick(filters.get()).unwrap_or_default();
    view! {
        <Form method="get" action="/payments" on_form_data=drop_empty_fields(&["status", "email", "min", "max", "from", "to"]) attr:class="card form row" attr:id="payments-filter">
            <div>
                <label for="filter-status">"Status"</label>
                <select id="filter-status" name="status">
                    <option value="" selected=move || current().is_none()>"Any status"</option>
                    {options}
                </select>
            </div>
            <div>
                <label for="filter-email">"Customer email"</label>
                <input id="filter-email" name="email" type="search" placeholder="part of an address" value=value(|f| f.email)/>
            </div>
            <div>
                <label for="filter-min">"Min amount"</label>
                <input id="filter-min" name="min" inputmode="decimal" placeholder="10.00" size="8" value=value(|f| f.min)/>
            </div>
            <div>
                <label for="filter-max">"Max amount"</label>
                <input id="filter-max" name="max" inputmode="decimal" placeholder="500.00" size="8" value=value(|f| f.max)/>
            </div>
            <div>
                <label for="filter-from">"From (UTC)"</label>
                <input id="filter-from" name="from" type="date" value=value(|f| f.from)/>
            </div>
            <div>
                <label for="filter-to">"To (UTC)"</label>
                <input id="filter-to" name="to" type="date" value=value(|f| f.to)/>
            </div>
            <button type="submit">"Filter"</button>
            <a href="/payments" class="clear-filters">"Clear"</a>
        </Form>
    }
}

#[component]
fn PaymentsTable(payments: Vec<PaymentOut>, has_more: bool, filters: PaymentFilters) -> impl IntoView {
    // `api()` succeeded to get here; the export carries the same filters.
    let export = filters.api().map(|q| q.export_href()).unwrap_or_else(|_| "/api/v1/payments/export.csv".into());
    if payments.is_empty() {
        let filtered = filters != PaymentFilters::default();
        return if filtered {
            view! {
                <div id="payments-empty">
                    <EmptyState title="No payments match these filters" hint="Widen the dates or amounts, or search part of the email address.">
                        <a href="/payments">"Clear all filters"</a>
                    </EmptyState>
                </div>
            }
            .into_any()
        } else {
            view! {
                <div id="payments-empty">
                    <EmptyState title="No payments yet" hint="Payments appear here as Stripe's webhooks arrive.">
                        <a href="/checkout">"Create a checkout link"</a>" to take the first one, or "<a href="/connect">"connect your Stripe account"</a>"."
                    </EmptyState>
                </div>
            }
            .into_any()
        };
    }
    let next = has_more.then(|| payments.last().map(|p| filters.href(Some(&p.id)))).flatten();
    let first = filters.starting_after.is_some().then(|| filters.href(None));
    let rows = payments
        .into_iter()
        .map(|p| {
            let href = format!("/payments/{}", p.id);
            view! {
                <tr>
                    <td>{short_time(&p.created_at)}</td>
                    <td><StatusBadge status=p.status.clone()/></td>
                    <td class="num">{format_money(p.amount, &p.currency)}</td>
                    <td class="num">{(p.amount_refunded > 0).then(|| format_money(p.amount_refunded, &p.currency)).unwrap_or_else(|| "—".into())}</td>
                    <td>{p.customer_email.clone().unwrap_or_else(|| "—".into())}</td>
                    <td><a href=href class="mono">{p.id.clone()}</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <ExportLink href=export/>
        <TableWrap label="Payments">
            <table class="table" id="payments-table">
                <thead><tr><th>"Created (UTC)"</th><th>"Status"</th><th class="num">"Amount"</th><th class="num">"Refunded"</th><th>"Customer"</th><th>"Payment"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </TableWrap>
        <Pager first next next_id="payments-next"/>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------
// /payments/:id

#[component]
pub fn PaymentDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(move || params.read().get("id").unwrap_or_default(), get_payment);

    view! {
        <p class="breadcrumb"><a href="/payments">"← Payments"</a></p>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! {
                        <PaymentSummary payment=detail.payment.clone()/>
                        <super::payment_actions::PaymentActions payment=detail.payment/>
                        <Timeline entries=detail.timeline/>
                    }
                    .into_any(),
                    Err(AppError::NotFound { .. }) => view! {
                        <h1>"Payment"</h1>
                        <div id="payment-missing">
                            <EmptyState title="No such payment" hint="It may belong to another tenant: switch tenants at the top, or search the payments list.">
                                <a href="/payments">"All payments"</a>
                            </EmptyState>
                        </div>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PaymentSummary(payment: PaymentOut) -> impl IntoView {
    let p = payment;
    let money = |amount: i64| format_money(amount, &p.currency);
    // Stripe's ids are for looking the payment up in Stripe's dashboard: small, copyable.
    let stripe_ids = [("Payment intent", p.stripe_payment_intent.clone()), ("Charge", p.stripe_charge.clone()), ("Account", p.connected_account.clone())]
        .into_iter()
        .filter_map(|(label, id)| id.map(|id| view! { <dt>{label}</dt><dd class="mono small">{id}</dd> }))
        .collect_view();
    view! {
        <h1>{money(p.amount)}" "<StatusBadge status=p.status.clone()/></h1>
        <dl class="envelope" id="payment-summary">
            <dt>"Id"</dt><dd class="mono">{p.id.clone()}</dd>
            <dt>"Status"</dt><dd><StatusBadge status=p.status.clone()/></dd>
            <dt>"Amount"</dt><dd>{money(p.amount)}</dd>
            <dt>"Captured"</dt><dd>{money(p.amount_captured)}</dd>
            <dt>"Refunded"</dt><dd>{money(p.amount_refunded)}</dd>
            <dt>"Disputed (open)"</dt><dd>{money(p.amount_disputed)}</dd>
            <dt>"Disputed (lost)"</dt><dd>{money(p.amount_disputed_lost)}</dd>
            <dt>"Customer"</dt>
            <dd>{match p.customer_email.clone() {
                Some(email) => {
                    let href = super::customers::customer_href(&email.to_lowercase());
                    view! { <a href=href>{email}</a> }.into_any()
                }
                None => view! { <span>"—"</span> }.into_any(),
            }}</dd>
            {p.failure_message.clone().map(|m| view! { <dt>"Failure"</dt><dd class="error-text">{m}</dd> })}
            <dt>"Created"</dt><dd>{short_time(&p.created_at)}</dd>
            <dt>"Updated"</dt><dd>{short_time(&p.updated_at)}</dd>
            {stripe_ids}
        </dl>
    }
}

/// Every webhook and API action on the payment, oldest first, as the service orders them.
#[component]
fn Timeline(entries: Vec<TimelineEntryOut>) -> impl IntoView {
    let body = if entries.is_empty() {
        view! { <EmptyState title="Nothing has happened to this payment yet" hint="Stripe's webhooks and your actions on it show here, oldest first."/> }.into_any()
    } else {
        let items = entries
            .into_iter()
            .map(|e| {
                view! {
                    <li data-source=e.source.clone()>
                        <time class="meta">{short_time(&e.occurred_at)}</time>
                        <span class="timeline-title">{e.title.clone()}</span>
                        {e.stripe_type.clone().map(|t| view! { <code class="small">{t}</code> })}
                        <StatusBadge status=e.status_after.clone()/>
                    </li>
                }
            })
            .collect_view();
        view! { <ol class="timeline" id="payment-timeline">{items}</ol> }.into_any()
    };
    view! { <h2>"Timeline"</h2>{body} }
}

// ---------------------------------------------------------------------------------------------
// /disputes, /refunds, /webhooks: lists with at most a status filter and a cursor.

/// `?status=…&starting_after=…` of the simple ledger lists.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct ListFilters {
    status: Option<String>,
    starting_after: Option<String>,
}

impl ListFilters {
    fn from_query(query: &ParamsMap) -> Self {
        Self { status: query_field(query, "status"), starting_after: query_field(query, "starting_after") }
    }

    fn href(&self, path: &str, starting_after: Option<&str>) -> String {
        with_query(path, &[("status", self.status.as_deref()), ("starting_after", starting_after)])
    }

    /// The list's CSV export with its status filter (the export pages itself: no cursor).
    fn export(&self, path: &str) -> String {
        with_query(path, &[("status", self.status.as_deref())])
    }

    fn pager(&self, path: &str, has_more: bool, last: Option<&str>, next_id: &str) -> impl IntoView {
        let next = has_more.then(|| last.map(|id| self.href(path, Some(id)))).flatten();
        let first = self.starting_after.is_some().then(|| self.href(path, None));
        view! { <Pager first next next_id=next_id.to_owned()/> }
    }
}

/// The URL's list filters, as a memo pages read their resource from.
fn list_filters() -> Memo<ListFilters> {
    let query = use_query_map();
    Memo::new(move |_| ListFilters::from_query(&query.read()))
}

#[component]
pub fn DisputesPage() -> impl IntoView {
    let filters = list_filters();
    let disputes = Resource::new(move || filters.get(), |f| async move { (f.clone(), list_disputes(f.status.clone(), f.starting_after.clone()).await) });
    view! {
        <h1>"Disputes"</h1>
        <p class="hint">"A customer's bank is taking a payment back. Answer before the evidence deadline; rows due within a week are marked."</p>
        <StatusFilter path="/disputes" form_id="disputes-filter" statuses=&DISPUTE_STATUSES current=Signal::derive(move || filters.get().status) humanize=true/>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match disputes.await {
                    (f, Ok(page)) if page.data.is_empty() => view! {
                        <EmptyState
                            title=if f.status.is_some() { "No disputes with this status" } else { "No disputes" }
                            hint="Good news: no customer's bank is contesting a payment. Disputes appear here as Stripe reports them."
                        />
                    }.into_any(),
                    (filters, Ok(page)) => {
                        let pager = filters.pager("/disputes", page.has_more, page.data.last().map(|d| d.dispute.id.as_str()), "disputes-next");
                        let export = filters.export("/api/v1/disputes/export.csv");
                        view! { <ExportLink href=export/><DisputesTable disputes=page.data/>{pager} }.into_any()
                    }
                    (_, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DisputesTable(disputes: Vec<DisputeRowOut>) -> impl IntoView {
    let rows = disputes
        .into_iter()
        .map(|DisputeRowOut { dispute: d, due_soon }| {
            let due = d.evidence_due_by.as_ref().map(short_time).unwrap_or_else(|| "—".into());
            view! {
                <tr class:due-soon=due_soon data-dispute=d.id.clone()>
                    <td><a href=format!("/disputes/{}", d.id) class="dispute-link">{short_time(&d.created_at)}</a></td>
                    <td><StatusBadge status=d.status.clone()/></td>
                    <td>{d.reason.clone()}</td>
                    <td class="num">{format_money(d.amount, &d.currency)}</td>
                    <td class="due">{due}</td>
                    <td><a href=format!("/payments/{}", d.payment_id) class="mono">{d.payment_id.clone()}</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableWrap label="Disputes">
            <table class="table" id="disputes-table">
                <thead><tr><th>"Created (UTC)"</th><th>"Status"</th><th>"Reason"</th><th class="num">"Amount"</th><th>"Evidence due by"</th><th>"Payment"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </TableWrap>
    }
}

/// One dispute: what, how much, and by when Stripe needs the evidence.
#[component]
pub fn DisputeDetailPage() -> impl IntoView {
    let params = use_params_map();
    let dispute = Resource::new(move || params.read().get("id").unwrap_or_default(), get_dispute);
    view! {
        <p class="breadcrumb"><a href="/disputes">"← Disputes"</a></p>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match dispute.await {
                    Ok(DisputeRowOut { dispute: d, due_soon }) => view! {
                        <h1>{format!("Dispute {}", format_money(d.amount, &d.currency))}" "<StatusBadge status=d.status.clone()/></h1>
                        <dl class="envelope" id="dispute-detail">
                            <dt>"Id"</dt><dd class="mono">{d.id.clone()}</dd>
                            <dt>"Reason"</dt><dd>{d.reason.clone()}</dd>
                            <dt>"Amount"</dt><dd>{format_money(d.amount, &d.currency)}</dd>
                            <dt>"Evidence due by"</dt>
                            <dd class:due-soon=due_soon id="evidence-due">
                                {d.evidence_due_by.as_ref().map(|t| format!("{} UTC", short_time(t))).unwrap_or_else(|| "—".into())}
                                {due_soon.then(|| " — due within a week")}
                            </dd>
                            <dt>"Payment"</dt><dd><a href=format!("/payments/{}", d.payment_id) class="mono">{d.payment_id.clone()}</a></dd>
                            <dt>"Opened"</dt><dd>{short_time(&d.created_at)}</dd>
                            <dt>"Stripe dispute"</dt><dd class="mono small">{d.stripe_dispute_id.clone()}</dd>
                        </dl>
                    }.into_any(),
                    Err(AppError::NotFound { .. }) => view! {
                        <h1>"Dispute"</h1>
                        <EmptyState title="No such dispute" hint="It may belong to another tenant: switch tenants at the top.">
                            <a href="/disputes">"All disputes"</a>
                        </EmptyState>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn RefundsPage() -> impl IntoView {
    let filters = list_filters();
    let refunds = Resource::new(move || filters.get(), |f| async move { (f.clone(), list_refunds(f.status.clone(), f.starting_after.clone()).await) });
    view! {
        <h1>"Refunds"</h1>
        <p class="hint">"Money sent back to customers, as Stripe confirms it. Refund a payment from its page."</p>
        <StatusFilter path="/refunds" form_id="refunds-filter" statuses=&REFUND_STATUSES current=Signal::derive(move || filters.get().status) humanize=true/>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match refunds.await {
                    (f, Ok(page)) if page.data.is_empty() => view! {
                        <EmptyState
                            title=if f.status.is_some() { "No refunds with this status" } else { "No refunds yet" }
                            hint="To refund a payment, open it from the payments list and choose Refund."
                        >
                            <a href="/payments">"Go to payments"</a>
                        </EmptyState>
                    }.into_any(),
                    (filters, Ok(page)) => {
                        let pager = filters.pager("/refunds", page.has_more, page.data.last().map(|r| r.id.as_str()), "refunds-next");
                        let export = filters.export("/api/v1/refunds/export.csv");
                        view! { <ExportLink href=export/><RefundsTable refunds=page.data/>{pager} }.into_any()
                    }
                    (_, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RefundsTable(refunds: Vec<RefundOut>) -> impl IntoView {
    let rows = refunds
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{short_time(&r.created_at)}</td>
                    <td><StatusBadge status=r.status.clone()/></td>
                    <td class="num">{format_money(r.amount, &r.currency)}</td>
                    <td>{r.reason.clone().unwrap_or_else(|| "—".into())}</td>
                    <td class="error-text">{r.failure_reason.clone().unwrap_or_default()}</td>
                    <td><a href=format!("/payments/{}", r.payment_id) class="mono">{r.payment_id.clone()}</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableWrap label="Refunds">
            <table class="table" id="refunds-table">
                <thead><tr><th>"Created (UTC)"</th><th>"Status"</th><th class="num">"Amount"</th><th>"Reason"</th><th>"Failure"</th><th>"Payment"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </TableWrap>
    }
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let filters = list_filters();
    let events = Resource::new(move || filters.get(), |f| async move { (f.clone(), list_webhook_events(f.status, f.starting_after).await) });
    let current = move || filters.get().status;
    let options = WEBHOOK_STATUSES
        .iter()
        .map(|s| view! { <option value=*s selected=move || current().as_deref() == Some(*s)>{*s}</option> })
        .collect_view();
    view! {
        <h1>"Stripe webhooks"</h1>
        <p class="hint">"Every Stripe webhook received, and what the ledger did with it. Your own endpoints are under "<a href="/webhook-endpoints">"Webhook endpoints"</a>"."</p>
        <Form method="get" action="/webhooks" on_form_data=drop_empty_fields(&["status"]) attr:class="card form row" attr:id="webhooks-filter">
            <div>
                <label for="filter-webhook-status">"Status"</label>
                <select id="filter-webhook-status" name="status">
                    <option value="" selected=move || current().is_none()>"Any status"</option>
                    {options}
                </select>
            </div>
            <button type="submit">"Filter"</button>
            <a href="/webhooks" class="clear-filters">"Clear"</a>
        </Form>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                match events.await {
                    (f, Ok(page)) if page.data.is_empty() => view! {
                        <EmptyState
                            title=if f.status.is_some() { "No webhooks with this status" } else { "No webhooks received yet" }
                            hint="Point Stripe's webhook at /webhook/stripe (or run `paybus stripe trigger payment_intent.succeeded`) and they show here."
                        />
                    }.into_any(),
                    (filters, Ok(page)) => {
                        let pager = filters.pager("/webhooks", page.has_more, page.data.last().map(|e| e.id.as_str()), "webhooks-next");
                        view! { <WebhookEventsTable events=page.data/>{pager} }.into_any()
                    }
                    (_, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn WebhookEventsTable(events: Vec<WebhookEventOut>) -> impl IntoView {
    let reprocess = ServerAction::<crate::server_fns::payments::ReprocessWebhookEvent>::new();
    let rows = events
        .into_iter()
        .map(|e| {
            // Unparsed events wait for an upgrade; once paybus reads them, one click applies them.
            let retry = (e.status == "unparsed").then(|| {
                let id = e.id.clone();
                view! {
                    <ActionForm action=reprocess attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="secondary small">"Reprocess"</button>
                    </ActionForm>
                }
            });
            view! {
                <tr data-status=e.status.clone()>
                    <td>{precise_time(&e.received_at)}</td>
                    <td class="mono small">{e.stripe_event_id.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{e.event_type.clone().map(|t| view! { <code>{t}</code> })}</td>
                    <td><StatusBadge status=e.status.clone()/></td>
                    <td class="error-text">{e.error.clone().unwrap_or_default()}</td>
                    <td>{retry}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Toast value=super::succeeded(reprocess.value()) message=|e: &WebhookEventOut| format!("Webhook re-processed: {}.", e.status)/>
        {move || reprocess.value().get().and_then(|r| r.ok()).map(|e| view! { <p class="notice" role="status" id="reprocessed">{format!("Re-processed: {}", e.status)}</p> })}
        <crate::components::ActionError value=reprocess.value()/>
        <TableWrap label="Stripe webhooks">
            <table class="table" id="webhook-events-table">
                <thead><tr><th>"Received (UTC)"</th><th>"Stripe event"</th><th>"Type"</th><th>"Status"</th><th>"Error"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </TableWrap>
    }
}

/// Webhooks arrive in bursts: rows show seconds.
fn precise_time(t: &OffsetDateTime) -> String {
    format!("{} {:02}:{:02}:{:02}", t.date(), t.hour(), t.minute(), t.second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_in_major_units_unless_zero_decimal() {
        assert_eq!(format_money(1234, "eur"), "12.34 EUR");
        assert_eq!(format_money(5, "usd"), "0.05 USD");
        assert_eq!(format_money(-250, "usd"), "-2.50 USD");
        assert_eq!(format_money(1200, "jpy"), "1200 JPY");
    }

    #[test]
    fn typed_amounts_become_minor_units() {
        assert_eq!(to_minor("12"), Some(1200));
        assert_eq!(to_minor("12.5"), Some(1250));
        assert_eq!(to_minor("12.05"), Some(1205));
        assert_eq!(to_minor(".5"), Some(50));
        assert_eq!(to_minor("1.234"), None);
        assert_eq!(to_minor("-1"), None);
        assert_eq!(to_minor("."), None);
        assert_eq!(to_minor("abc"), None);
    }

    #[test]
    fn the_to_date_is_inclusive() {
        let f = PaymentFilters { from: Some("2026-11-01".into()), to: Some("2026-11-30".into()), min: Some("10".into()), ..Default::default() };
        let q = f.api().unwrap();
        assert_eq!(q.from.as_deref(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(q.to.as_deref(), Some("2026-12-01T00:00:00Z"));
        assert_eq!(q.export_href(), "/api/v1/payments/export.csv?amount_gte=1000&from=2026-11-01T00%3A00%3A00Z&to=2026-12-01T00%3A00%3A00Z");
        assert!(PaymentFilters { to: Some("2026-13-01".into()), ..Default::default() }.api().is_err());
    }
}
