//! Customers mirrored from Stripe (the list on /customers, one customer on /customers/cst_…)
//! with their credit balance and its credit / debit form, and the currencies settings page.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::short_time;
use crate::{
    components::{ActionError, Confirm, EmptyState, ErrorNote, Loading, MeResource, TableWrap, Toast},
    domain::{
        balances::{BalanceTransactionOut, CustomerDetailOut, CustomerOut},
        customer_activity::AmountOut,
        Action, Currency,
    },
    server_fns::balances::{billing_customer, list_billing_customers, list_currencies, AdjustBalance, SetCurrency},
};

const LOADING: fn() -> AnyView = || view! { <Loading/> }.into_any();

/// What recording a balance entry does, in words (amount and currency as typed).
fn balance_consequence(kind: &str, amount: &str, currency: &str, who: &str) -> String {
    let currency = currency.trim();
    let amount = match Currency::parse(currency) {
        Ok(c) => match c.parse_major(amount, "amount") {
            Ok(minor) if minor > 0 => c.format(minor),
            _ => return format!("Enter an amount like 10.00 in {}.", currency.to_uppercase()),
        },
        Err(_) => return "Enter a three-letter currency code such as USD.".into(),
    };
    match kind {
        "debit" => format!("Debit {amount} from {who}'s balance: they owe this much more on their next invoice. The entry is permanent; a credit reverses it."),
        _ => format!("Credit {amount} to {who}'s balance: it pays towards their next invoices. The entry is permanent; a debit reverses it."),
    }
}

fn money(amount: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| c.format(amount)).unwrap_or_else(|_| format!("{amount} {}", currency.to_uppercase()))
}

fn balances_text(balances: &[AmountOut]) -> String {
    if balances.is_empty() {
        return "—".into();
    }
    balances.iter().map(|b| money(b.amount, &b.currency)).collect::<Vec<_>>().join(", ")
}

fn badge(status: &str) -> impl IntoView {
    let class = format!("badge badge-{}", status.replace(|c: char| !c.is_ascii_lowercase() && c != '_', ""));
    view! { <span class=class>{status.to_owned()}</span> }
}

fn query_field(key: &'static str) -> Memo<Option<String>> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get_str(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned))
}

// ---------------------------------------------------------------------------------------------
// On /customers: the customers Stripe knows, above the activity-by-email list.

/// Customers from Stripe, newest first, with their balances. Uses the page's `email` search and
/// its own cursor (`customers_after`).
#[component]
pub fn BillingCustomers() -> impl IntoView {
    let search = query_field("email");
    let after = query_field("customers_after");
    let customers = Resource::new(move || (search.get(), after.get()), |(search, after)| list_billing_customers(search, after));
    view! {
        <section id="billing-customers">
            <h2>"Customers from Stripe"</h2>
            <p class="hint">
                "Mirrored from Stripe, with their credit balances. "
                <a href="/api/v1/customers/export.csv" download="customers.csv" id="customers-export">"Export CSV"</a>
                " · "<a href="/currencies">"Currencies"</a>
            </p>
            <Transition fallback=LOADING>
                {move || Suspend::new(async move {
                    match customers.await {
                        Ok(page) => view! { <BillingCustomersTable customers=page.data has_more=page.has_more search=search.get_untracked()/> }.into_any(),
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                    }
                })}
            </Transition>
            <h2>"Activity by email"</h2>
        </section>
    }
}

#[component]
fn BillingCustomersTable(customers: Vec<CustomerOut>, has_more: bool, search: Option<String>) -> impl IntoView {
    if customers.is_empty() {
        let (title, hint) = if search.is_some() {
            ("No customer from Stripe matches this search", "Search part of the name or email address, or clear the search.")
        } else {
            ("No customers from Stripe yet", "Customers created in Stripe (or by a checkout) are mirrored here as Stripe's webhooks arrive.")
        };
        return view! { <div id="billing-customers-empty"><EmptyState title=title hint=hint/></div> }.into_any();
    }
    let next = has_more
        .then(|| {
            customers.last().map(|c| {
                let search = search.as_deref().map(|s| format!("email={}&", encode_query(s))).unwrap_or_default();
                format!("/customers?{search}customers_after={}", c.id)
            })
        })
        .flatten();
    let rows = customers
        .into_iter()
        .map(|c| {
            let label = c.name.clone().filter(|n| !n.is_empty()).or_else(|| c.email.clone()).unwrap_or_else(|| c.id.clone());
            view! {
                <tr>
                    <td><a href=format!("/customers/{}", c.id)>{label}</a>{c.deleted.then(|| view! { " " <span class="badge badge-canceled">"deleted"</span> })}</td>
                    <td>{c.email.clone().unwrap_or_default()}</td>
                    <td class="num">{balances_text(&c.balances)}</td>
                    <td>{short_time(&c.created_at)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableWrap label="Customers from Stripe">
            <table class="table" id="billing-customers-table">
                <thead><tr><th>"Customer"</th><th>"Email"</th><th class="num">"Balance"</th><th>"Created (UTC)"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </TableWrap>
        <nav class="pager" aria-label="Pages">
            {next.map(|href| view! { <a href=href rel="next" id="billing-customers-next">"More customers"</a> })}
        </nav>
    }
    .into_any()
}

fn encode_query(value: &str) -> String {
    value.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~@".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

// ---------------------------------------------------------------------------------------------
// /customers/:id — a Stripe customer (`cst_…`), or the activity of an email address.

#[component]
pub fn CustomerRoute() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("email").unwrap_or_default();
    move || {
        let id = id();
        if id.starts_with("cst_") {
            view! { <BillingCustomerPage id/> }.into_any()
        } else {
            view! { <super::customers::CustomerPage/> }.into_any()
        }
    }
}

#[component]
fn BillingCustomerPage(id: String) -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let adjust = ServerAction::<AdjustBalance>::new();
    let customer_id = id.clone();
    let detail = Resource::new(move || (customer_id.clone(), adjust.version().get()), |(id, _)| billing_customer(id));
    view! {
        <p class="breadcrumb"><a href="/customers">"← Customers"</a></p>
        <Transition fallback=LOADING>
            {move || {
                let id = id.clone();
                Suspend::new(async move {
                    let can_adjust = matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::BalancesManage)));
                    match detail.await {
                        Ok(d) => view! { <CustomerDetail d can_adjust adjust id/> }.into_any(),
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn CustomerDetail(d: CustomerDetailOut, can_adjust: bool, adjust: ServerAction<AdjustBalance>, id: String) -> impl IntoView {
    let c = d.customer;
    let title = c.name.clone().filter(|n| !n.is_empty()).or_else(|| c.email.clone()).unwrap_or_else(|| c.id.clone());
    let default_currency = c.balances.first().map(|b| b.currency.clone()).or_else(|| c.currency.clone()).unwrap_or_else(|| "usd".into());
    let title_for_form = title.clone();
    let activity_href = c.email.clone().map(|e| format!("/customers/{}", encode_query(&e.to_lowercase())));
    view! {
        <h1>{title}</h1>
        <p class="hint">
            {c.email.clone().unwrap_or_default()}
            {c.country.clone().map(|country| format!(" · {country}"))}
            {c.deleted.then(|| view! { " " <span class="badge badge-canceled">"deleted at Stripe"</span> })}
        </p>
        <section class="card" id="customer-balance">
            <h2>"Balance"</h2>
            <p class="kpi" id="customer-balance-value">{balances_text(&c.balances)}</p>
            {can_adjust.then(|| {
                let kind = RwSignal::new("credit".to_string());
                let amount = RwSignal::new(String::new());
                let currency = RwSignal::new(default_currency.clone());
                let who = title_for_form.clone();
                let says = move || balance_consequence(&kind.get(), &amount.get(), &currency.get(), &who);
                view! {
                    <Confirm summary="Credit or debit the balance…" testid="balance-confirm">
                        <ActionForm action=adjust attr:class="form" attr:id="balance-form">
                            <input type="hidden" name="customer_id" value=id.clone()/>
                            <div class="row">
                                <div>
                                    <label for="balance-kind">"Type"</label>
                                    <select id="balance-kind" name="kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                                        <option value="credit">"Credit (customer owes less)"</option>
                                        <option value="debit">"Debit (customer owes more)"</option>
                                    </select>
                                </div>
                                <div>
                                    <label for="balance-amount">"Amount"</label>
                                    <input id="balance-amount" name="amount" required inputmode="decimal" placeholder="10.00" autocomplete="off"
                                        aria-describedby="balance-consequence" on:input=move |ev| amount.set(event_target_value(&ev))/>
                                </div>
                                <div>
                                    <label for="balance-currency">"Currency"</label>
                                    <input id="balance-currency" name="currency" value=default_currency.clone() maxlength="3" size="4"
                                        on:input=move |ev| currency.set(event_target_value(&ev))/>
                                </div>
                            </div>
                            <label for="balance-reason">"Reason (kept in the ledger)"</label>
                            <input id="balance-reason" name="reason" required maxlength="500" placeholder="Goodwill credit"/>
                            <p class="consequence" id="balance-consequence" aria-live="polite">{says}</p>
                            <button type="submit">"Record entry"</button>
                        </ActionForm>
                    </Confirm>
                }
            })}
            <ActionError value=adjust.value()/>
            <Toast value=super::succeeded(adjust.value()) message=|t: &BalanceTransactionOut| {
                let amount = money(t.amount, &t.currency);
                format!("{} of {amount} recorded; balance now {}.", if t.kind == "debit" { "Debit" } else { "Credit" }, money(t.balance_after, &t.currency))
            }/>
            <Ledger entries=d.balance_transactions/>
        </section>
        <h2>"Subscriptions"</h2>
        {if d.subscriptions.is_empty() {
            view! { <EmptyState title="No subscriptions" hint="Subscriptions created in Stripe for this customer appear here."/> }.into_any()
        } else {
            view! {
                <TableWrap label="Subscriptions"><table class="table" id="customer-subscriptions">
                    <thead><tr><th>"Plan"</th><th>"Status"</th><th class="num">"Price"</th><th class="num">"Qty"</th><th>"Period ends"</th></tr></thead>
                    <tbody>{d.subscriptions.into_iter().map(|s| view! {
                        <tr>
                            <td>{s.plan_nickname.clone().unwrap_or_else(|| s.id.clone())}</td>
                            <td>{badge(&s.status)}{s.cancel_at_period_end.then(|| view! { " " <span class="badge badge-pending">"cancels at period end"</span> })}</td>
                            <td class="num">{match (s.unit_amount, s.currency.as_deref()) {
                                (Some(a), Some(cur)) => format!("{}{}", money(a, cur), s.billing_interval.as_deref().map(|i| format!(" / {i}")).unwrap_or_default()),
                                _ => "—".into(),
                            }}</td>
                            <td class="num">{s.quantity}</td>
                            <td>{s.current_period_end.as_ref().map(short_time).unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table></TableWrap>
            }.into_any()
        }}
        <h2>"Invoices"</h2>
        {if d.invoices.is_empty() {
            view! { <EmptyState title="No invoices" hint="Invoices Stripe issues to this customer appear here."/> }.into_any()
        } else {
            view! {
                <TableWrap label="Invoices"><table class="table" id="customer-invoices">
                    <thead><tr><th>"Number"</th><th>"Status"</th><th class="num">"Due"</th><th class="num">"Remaining"</th><th>"Due date"</th></tr></thead>
                    <tbody>{d.invoices.into_iter().map(|i| view! {
                        <tr>
                            <td>{match i.hosted_invoice_url.clone() {
                                Some(url) => view! { <a href=url target="_blank" rel="noopener">{i.number.clone().unwrap_or_else(|| i.id.clone())}</a> }.into_any(),
                                None => view! { <span>{i.number.clone().unwrap_or_else(|| i.id.clone())}</span> }.into_any(),
                            }}</td>
                            <td>{badge(&i.status)}{i.overdue.then(|| view! { " " <span class="badge badge-failed" data-testid="overdue">"overdue"</span> })}</td>
                            <td class="num">{money(i.amount_due, &i.currency)}</td>
                            <td class="num">{money(i.amount_remaining, &i.currency)}</td>
                            <td>{i.due_date.as_ref().map(short_time).unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table></TableWrap>
            }.into_any()
        }}
        <h2>"Payments"</h2>
        {if d.payments.is_empty() {
            view! { <EmptyState title="No payments" hint="Payments by this customer appear here as Stripe reports them."/> }.into_any()
        } else {
            view! {
                <TableWrap label="Payments"><table class="table" id="customer-payments">
                    <thead><tr><th>"Payment"</th><th>"Status"</th><th class="num">"Amount"</th><th>"Created (UTC)"</th></tr></thead>
                    <tbody>{d.payments.into_iter().map(|p| view! {
                        <tr>
                            <td><a class="mono small" href=format!("/payments/{}", p.id)>{p.id.clone()}</a></td>
                            <td>{badge(&p.status)}</td>
                            <td class="num">{money(p.amount, &p.currency)}</td>
                            <td>{short_time(&p.created_at)}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table></TableWrap>
            }.into_any()
        }}
        <h2>"Activity"</h2>
        {match d.activity {
            None => view! { <p class="hint">"Your role does not show customer activity."</p> }.into_any(),
            Some(entries) if entries.is_empty() => view! { <EmptyState title="No activity recorded" hint="The Customer activity plugin records payments, refunds and disputes by email."/> }.into_any(),
            Some(entries) => view! {
                <TableWrap label="Activity"><table class="table" id="customer-activity">
                    <thead><tr><th>"When (UTC)"</th><th>"Event"</th><th>"What happened"</th></tr></thead>
                    <tbody>{entries.into_iter().map(|e| view! {
                        <tr><td>{short_time(&e.occurred_at)}</td><td><code>{e.event_type.clone()}</code></td><td>{e.summary.clone()}</td></tr>
                    }).collect_view()}</tbody>
                </table></TableWrap>
                {activity_href.map(|href| view! { <p><a href=href>"Full timeline"</a></p> })}
            }.into_any(),
        }}
    }
}

#[component]
fn Ledger(entries: Vec<BalanceTransactionOut>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <div id="ledger-empty"><EmptyState title="No balance changes yet" hint="Credits and debits you record show here with the balance after each."/></div> }.into_any();
    }
    view! {
        <TableWrap label="Balance ledger"><table class="table" id="customer-ledger">
            <thead><tr><th>"When (UTC)"</th><th>"Type"</th><th class="num">"Amount"</th><th>"Reason"</th><th>"By"</th><th class="num">"Balance after"</th></tr></thead>
            <tbody>{entries.into_iter().map(|e| view! {
                <tr data-type=e.kind.clone()>
                    <td>{short_time(&e.created_at)}</td>
                    <td>{e.kind.clone()}</td>
                    <td class="num">{money(if e.kind == "debit" { -e.amount } else { e.amount }, &e.currency)}</td>
                    <td>{e.reason.clone()}</td>
                    <td class="mono small">{e.actor.clone().unwrap_or_else(|| e.actor_type.clone())}</td>
                    <td class="num">{money(e.balance_after, &e.currency)}</td>
                </tr>
            }).collect_view()}</tbody>
        </table></TableWrap>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------
// /currencies

#[component]
pub fn CurrenciesPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let set = ServerAction::<SetCurrency>::new();
    let currencies = Resource::new(move || set.version().get(), |_| list_currencies());
    view! {
        <h1>"Currencies"</h1>
        <p class="hint">"Amounts in a currency that is not enabled are refused: balance changes, checkout links and products. The default currency (settings) is always enabled."</p>
        <ActionError value=set.value()/>
        <Toast value=super::succeeded(set.value()) message=|c: &crate::domain::balances::CurrencyOut| {
            format!("{} {}.", c.currency.to_uppercase(), if c.enabled { "activated" } else { "deactivated" })
        }/>
        <Transition fallback=LOADING>
            {move || Suspend::new(async move {
                let can_manage = matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::CurrenciesManage)));
                match currencies.await {
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                    Ok(list) => {
                        let (enabled, disabled): (Vec<_>, Vec<_>) = list.data.into_iter().partition(|c| c.enabled);
                        view! {
                            <TableWrap label="Enabled currencies"><table class="table" id="currencies-enabled">
                                <thead><tr><th>"Enabled currency"</th><th>"Minor unit"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>{enabled.into_iter().map(|c| {
                                    let code = c.currency.clone();
                                    view! {
                                    <tr data-currency=c.currency.clone()>
                                        <td><strong>{c.currency.to_uppercase()}</strong>{c.is_default.then(|| view! { " " <span class="badge">"default"</span> })}</td>
                                        <td>{format!("{} decimals", c.minor_unit_exponent)}</td>
                                        <td>{(can_manage && !c.is_default).then(|| view! {
                                            <ActionForm action=set attr:class="inline">
                                                <input type="hidden" name="currency" value=code.clone()/>
                                                <input type="hidden" name="enabled" value="false"/>
                                                <button type="submit" class="secondary small" aria-label=format!("Deactivate {}", code.to_uppercase())>"Deactivate"</button>
                                            </ActionForm>
                                        })}</td>
                                    </tr>
                                }}).collect_view()}</tbody>
                            </table></TableWrap>
                            {can_manage.then(|| view! {
                                <ActionForm action=set attr:class="card form row" attr:id="currency-activate">
                                    <div>
                                        <label for="currency-code">"Activate a currency"</label>
                                        <select id="currency-code" name="currency">
                                            {disabled.iter().map(|c| view! { <option value=c.currency.clone()>{c.currency.to_uppercase()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <input type="hidden" name="enabled" value="true"/>
                                    <button type="submit">"Activate"</button>
                                </ActionForm>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::balance_consequence;

    #[test]
    fn a_balance_entry_says_which_way_how_much_and_in_what() {
        assert_eq!(
            balance_consequence("credit", "10", "usd", "Jane"),
            "Credit 10.00 USD to Jane's balance: it pays towards their next invoices. The entry is permanent; a debit reverses it."
        );
        assert!(balance_consequence("debit", "2.5", "EUR", "Jane").starts_with("Debit 2.50 EUR from Jane's balance"));
        assert_eq!(balance_consequence("credit", "", "usd", "Jane"), "Enter an amount like 10.00 in USD.");
        assert_eq!(balance_consequence("credit", "0", "usd", "Jane"), "Enter an amount like 10.00 in USD.");
        assert_eq!(balance_consequence("credit", "5", "dollars", "Jane"), "Enter a three-letter currency code such as USD.");
    }
}
