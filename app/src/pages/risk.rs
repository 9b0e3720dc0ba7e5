//! /risk: the review queue of payments the `risk` plugin flagged, with their score and reasons.
//! Each open review has "Mark safe…" and "Mark fraudulent…" behind a disclosure that says what
//! will happen and asks for an optional note: the confirmation works before hydration too.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{ActionError, Confirm, EmptyState, ErrorNote, Loading, MeResource, TableWrap, Toast},
    domain::{risk::RiskReviewOut, Action, Currency},
    server_fns::risk::{list_risk_reviews, ReviewPayment},
};

use super::short_time;

const FILTERS: [(&str, &str); 5] = [("open", "Open"), ("closed", "Closed"), ("safe", "Marked safe"), ("fraudulent", "Fraudulent"), ("", "All")];

fn money(amount: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| c.format(amount)).unwrap_or_else(|_| format!("{amount} {}", currency.to_uppercase()))
}

fn href(status: &str, starting_after: Option<&str>) -> String {
    let mut q: Vec<String> = vec![format!("status={status}")];
    if let Some(id) = starting_after {
        q.push(format!("starting_after={id}"));
    }
    format!("/risk?{}", q.join("&"))
}

#[component]
pub fn RiskReviewPage() -> impl IntoView {
    let query = use_query_map();
    // The queue by default: what still needs a decision.
    let filters = Memo::new(move |_| {
        let q = query.read();
        (q.get("status").unwrap_or_else(|| "open".into()), q.get("starting_after").filter(|s| !s.is_empty()))
    });
    let review = ServerAction::<ReviewPayment>::new();
    let reviews = Resource::new(
        move || (filters.get(), review.version().get()),
        |((status, after), _)| async move { (status.clone(), after.clone(), list_risk_reviews(Some(status), after).await) },
    );
    let MeResource(me) = expect_context::<MeResource>();

    view! {
        <h1>"Risk review"</h1>
        <p class="meta">"Payments the risk plugin scored above your flag threshold (configure it under Plugins → Risk review). A verdict is final."</p>
        <nav class="tabs" aria-label="Review status" id="risk-filters">
            {move || {
                let current = filters.get().0;
                FILTERS
                    .iter()
                    .map(|(value, label)| {
                        let active = current == *value;
                        view! { <a href=href(value, None) class:active=active aria-current=active.then_some("page")>{*label}</a> }
                    })
                    .collect_view()
            }}
        </nav>
        {move || review.value().get().and_then(|r| r.ok()).map(|done| view! {
            <p class="notice" role="status" id="review-done">{format!("Payment {} marked {}.", done.payment_id, done.status)}</p>
        })}
        <ActionError value=review.value()/>
        <Toast value=super::succeeded(review.value()) message=|d: &crate::domain::risk::RiskReviewOut| format!("Payment {} marked {}.", d.payment_id, d.status)/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let role = match me.await { Ok(Some(ref me)) => MeResource::role_in_active(me), _ => None };
                let may_review = role.is_some_and(|r| r.can(Action::RiskReview));
                match reviews.await {
                    (status, _, Ok(page)) if page.data.is_empty() => view! {
                        <div id="risk-empty">
                            <EmptyState
                                title=if status == "open" { "No flagged payments wait for a review" } else { "No flagged payments here" }
                                hint="The Risk review plugin flags payments that score above your threshold; they queue here."
                            >
                                <a href="/plugins">"Risk review plugin settings"</a>
                            </EmptyState>
                        </div>
                    }.into_any(),
                    (status, after, Ok(page)) => {
                        let next = page.has_more.then(|| page.data.last().map(|r| href(&status, Some(&r.id)))).flatten();
                        let first = after.is_some().then(|| href(&status, None));
                        let rows = page.data.into_iter().map(|r| view! { <ReviewRow r may_review review/> }).collect_view();
                        view! {
                            <TableWrap label="Risk reviews">
                            <table class="table" id="risk-reviews">
                                <thead><tr><th>"Flagged (UTC)"</th><th>"Payment"</th><th class="num">"Amount"</th><th>"Customer"</th><th class="num">"Score"</th><th>"Reasons"</th><th>"Review"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            </TableWrap>
                            <nav class="pager" aria-label="Pages">
                                {first.map(|href| view! { <a href=href>"First page"</a> })}
                                {next.map(|href| view! { <a href=href rel="next" id="risk-next">"Next page"</a> })}
                            </nav>
                        }
                        .into_any()
                    }
                    (_, _, Err(error)) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ReviewRow(r: RiskReviewOut, may_review: bool, review: ServerAction<ReviewPayment>) -> impl IntoView {
    let reasons = r
        .reasons
        .iter()
        .map(|x| view! { <li data-code=x.code.clone()>{x.message.clone()}" "<span class="meta">{format!("+{}", x.points)}</span></li> })
        .collect_view();
    let open = r.status == "open";
    let verdict = (!open).then(|| {
        let who = r.reviewed_by.clone().map(|w| format!(" by {w}")).unwrap_or_default();
        let when = r.reviewed_at.as_ref().map(|t| format!(" on {}", short_time(t))).unwrap_or_default();
        let note = r.note.clone().map(|n| format!(": {n}")).unwrap_or_default();
        view! { <span class=format!("badge badge-{}", r.status)>{r.status.clone()}</span><span class="meta">{format!("{who}{when}{note}")}</span> }
    });
    let actions = (open && may_review).then(|| {
        let amount = money(r.amount, &r.currency);
        let confirm = |verdict: &'static str, summary: &'static str, text: String, button: &'static str, class: &'static str| {
            let id = r.payment_id.clone();
            let note_id = format!("note-{verdict}-{id}");
            view! {
                <Confirm summary=summary danger={verdict == "fraudulent"}>
                    <ActionForm action=review attr:class="form" attr:data-verdict=verdict>
                        <input type="hidden" name="payment_id" value=id/>
                        <input type="hidden" name="verdict" value=verdict/>
                        <p>{text}</p>
                        <label for=note_id.clone()>"Note (optional)"</label>
                        <input id=note_id name="note" maxlength="500"/>
                        <button type="submit" class=class>{button}</button>
                    </ActionForm>
                </Confirm>
            }
        };
        view! {
            {confirm("safe", "Mark safe…", format!("Close the review of {amount}: the payment is legitimate."), "Confirm safe", "secondary")}
            {confirm("fraudulent", "Mark fraudulent…", format!("Report {amount} as fraudulent: payment.reported_fraudulent is published to your alerts and integrations. The verdict is final; refund it separately if needed."), "Confirm fraudulent", "danger solid")}
        }
    });
    view! {
        <tr data-payment=r.payment_id.clone() data-status=r.status.clone()>
            <td>{short_time(&r.flagged_at)}</td>
            <td><a href=format!("/payments/{}", r.payment_id) class="mono">{r.payment_id.clone()}</a></td>
            <td class="num">{money(r.amount, &r.currency)}</td>
            <td>{r.customer_email.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="num"><strong>{r.score}</strong>" / "{r.threshold}</td>
            <td><ul class="reasons">{reasons}</ul></td>
            <td>{verdict}{actions}</td>
        </tr>
    }
}
