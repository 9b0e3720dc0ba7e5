//! Connect onboarding: the tenant's Stripe account, what Stripe still needs, and the way to
//! continue onboarding or open the Express dashboard. Also the reconciliation sweeper's runs.

use leptos::prelude::*;

use crate::{
    components::{ActionError, EmptyState, ErrorNote, Loading, MeResource, TableWrap, Toast},
    domain::{stripe_out::ConnectAccountOut, Action},
    server_fns::stripe_out::{get_connect_account, list_reconciliation_runs, ContinueOnboarding, CreateConnectAccount, OpenExpressDashboard, ReconcileNow},
};

fn flag(on: bool, yes: &'static str, no: &'static str) -> impl IntoView {
    view! { <span class=if on { "badge badge-succeeded" } else { "badge badge-pending" }>{if on { yes } else { no }}</span> }
}

#[component]
pub fn ConnectPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let create = ServerAction::<CreateConnectAccount>::new();
    let onboard = ServerAction::<ContinueOnboarding>::new();
    let express = ServerAction::<OpenExpressDashboard>::new();
    let account = Resource::new(move || create.version().get(), |_| get_connect_account());

    view! {
        <h1>"Stripe Connect"</h1>
        <p class="hint">"Payments run on your own Stripe Express account. Stripe hosts onboarding; paybus shows what it still needs."</p>
        <ActionError value=create.value()/>
        <ActionError value=onboard.value()/>
        <ActionError value=express.value()/>
        <Toast value=super::succeeded(create.value()) message=|a: &ConnectAccountOut| format!("Stripe account {} created: continue onboarding to take payments.", a.account_id)/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let can_manage = matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::ConnectManage)));
                match account.await {
                    Ok(None) => view! {
                        <section class="card" id="connect-empty">
                            <EmptyState
                                title="This tenant has no Stripe account yet"
                                hint=if can_manage { "Create one: Stripe hosts the onboarding (identity, bank account), then payments and payouts are enabled." } else { "An owner or admin can create it." }
                            />
                            {can_manage.then(|| view! {
                                <ActionForm action=create attr:class="form row" attr:id="create-connect-form">
                                    <div>
                                        <label for="connect-email">"Account email (optional)"</label>
                                        <input id="connect-email" name="email" type="email" placeholder="owner@shop.example"/>
                                    </div>
                                    <button type="submit">"Create Stripe account"</button>
                                </ActionForm>
                            })}
                        </section>
                    }.into_any(),
                    Ok(Some(acct)) => view! { <AccountCard acct can_manage onboard express/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
        <ReconciliationRuns/>
    }
}

#[component]
fn AccountCard(
    acct: ConnectAccountOut,
    can_manage: bool,
    onboard: ServerAction<ContinueOnboarding>,
    express: ServerAction<OpenExpressDashboard>,
) -> impl IntoView {
    let due: Vec<String> = acct.requirements.get("currently_due").and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default();
    let disabled_reason = acct.requirements.get("disabled_reason").and_then(|v| v.as_str()).map(str::to_owned);
    view! {
        <section class="card" id="connect-account">
            <dl class="envelope">
                <dt>"Account"</dt><dd class="mono">{acct.account_id.clone()}</dd>
                <dt>"Charges"</dt><dd>{flag(acct.charges_enabled, "enabled", "disabled")}</dd>
                <dt>"Payouts"</dt><dd>{flag(acct.payouts_enabled, "enabled", "disabled")}</dd>
                <dt>"Details"</dt><dd>{flag(acct.details_submitted, "submitted", "incomplete")}</dd>
                {disabled_reason.map(|r| view! { <dt>"Disabled because"</dt><dd class="error-text">{r}</dd> })}
            </dl>
            {(!acct.refreshed).then(|| view! { <p class="hint">"Stripe could not be reached just now; this is the last known state."</p> })}
            {if due.is_empty() {
                view! { <p id="requirements-none">"Stripe needs nothing more right now."</p> }.into_any()
            } else {
                view! {
                    <h2>"Stripe still needs"</h2>
                    <ul id="requirements-due">{due.into_iter().map(|d| view! { <li class="mono">{d}</li> }).collect_view()}</ul>
                }.into_any()
            }}
            {can_manage.then(|| view! {
                <div class="row connect-actions">
                    {(!acct.details_submitted || !acct.charges_enabled).then(|| view! {
                        <ActionForm action=onboard attr:class="inline" attr:id="continue-onboarding-form">
                            <button type="submit">"Continue onboarding"</button>
                        </ActionForm>
                    })}
                    {acct.details_submitted.then(|| view! {
                        <ActionForm action=express attr:class="inline" attr:id="express-dashboard-form">
                            <button type="submit" class="secondary">"Open Express dashboard"</button>
                        </ActionForm>
                    })}
                </div>
            })}
        </section>
    }
}

/// What the reconciliation sweeper pulled from Stripe's undelivered events, newest first.
#[component]
pub fn ReconciliationRuns() -> impl IntoView {
    let run = ServerAction::<ReconcileNow>::new();
    let runs = Resource::new(move || run.version().get(), |_| list_reconciliation_runs());
    view! {
        <section id="reconciliation">
            <h2>"Reconciliation with Stripe"</h2>
            <p class="hint">"Stripe lists events it could not deliver for 30 days. paybus pulls them on a schedule and applies what the ledger lacks."</p>
            <ActionForm action=run attr:class="inline" attr:id="reconcile-form">
                <button type="submit" class="secondary">"Reconcile now"</button>
            </ActionForm>
            <ActionError value=run.value()/>
            <Toast value=super::succeeded(run.value()) message=|r: &crate::domain::stripe_out::ReconciliationRunOut| {
                format!("Reconciled: {} undelivered events, {} recovered.", r.listed, r.ingested)
            }/>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Ok(list) if list.data.is_empty() => view! {
                            <EmptyState title="No reconciliation runs yet" hint="paybus runs one on a schedule; Reconcile now starts one at once."/>
                        }.into_any(),
                        Ok(list) => view! {
                            <TableWrap label="Reconciliation runs">
                            <table class="table" id="reconciliation-runs">
                                <thead><tr><th>"Started"</th><th>"Status"</th><th>"Undelivered"</th><th>"Recovered"</th><th>"Already here"</th><th>"Error"</th></tr></thead>
                                <tbody>
                                    {list.data.into_iter().map(|r| view! {
                                        <tr>
                                            <td>{super::short_time(&r.started_at)}</td>
                                            <td><span class=format!("badge badge-{}", r.status.replace(|c: char| !c.is_ascii_lowercase() && c != '_', ""))>{r.status.clone()}</span></td>
                                            <td>{r.listed}</td>
                                            <td>{r.ingested}</td>
                                            <td>{r.already_present}</td>
                                            <td class="error-text">{r.error.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </TableWrap>
                        }.into_any(),
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
