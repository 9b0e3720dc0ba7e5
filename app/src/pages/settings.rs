//! Settings (secrets masked; sending a mask back keeps the secret), webhook secret rotation,
//! the settings audit, and the payment audit log.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::ops_ui::TableWrap;
use crate::{
    components::{ActionError, Confirm, EmptyState, ErrorNote, Loading, Toast},
    domain::{settings::SettingsOut, Currency},
    server_fns::settings::{get_settings, payment_audit_log, settings_audit, AddWebhookSecret, RemoveWebhookSecret, SaveSettings},
};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveSettings>::new();
    let add = ServerAction::<AddWebhookSecret>::new();
    let remove = ServerAction::<RemoveWebhookSecret>::new();
    let settings = Resource::new(move || (save.version().get(), add.version().get(), remove.version().get()), |_| get_settings());
    let audit = Resource::new(move || (save.version().get(), add.version().get(), remove.version().get()), |_| settings_audit());

    view! {
        <h1>"Settings"</h1>
        <p class="hint">"Secrets are never shown in full: a saved key appears masked, and sending the mask back keeps it."</p>
        {move || save.value().get().and_then(|r| r.ok()).map(|_| view! { <p class="notice" role="status" id="settings-saved">"Settings saved."</p> })}
        <ActionError value=save.value()/>
        <div class="toast-stack">
            <Toast value=add.value() message=|s: &SettingsOut| format!("Webhook secret added: {} active.", super::ops_ui::plural(s.webhook_secrets.len() as u64, "secret", "secrets"))/>
            <Toast value=remove.value() message=|s: &SettingsOut| format!("Webhook secret removed: {} left.", super::ops_ui::plural(s.webhook_secrets.len() as u64, "secret", "secrets"))/>
        </div>
        <Suspense fallback=|| view! { <Loading label="Loading settings…"/> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <SettingsForms s save add remove/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
        <h2>"Changes"</h2>
        <Suspense fallback=|| view! { <Loading label="Loading changes…"/> }>
            {move || Suspend::new(async move {
                match audit.await {
                    Ok(list) if list.data.is_empty() => view! {
                        <EmptyState title="No changes yet." hint="Every change to these settings is recorded here: who, when and which fields (never the secret values)."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <TableWrap label="Settings changes">
                        <table class="table" id="settings-audit">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"Fields"</th></tr></thead>
                            <tbody>
                                {list.data.into_iter().map(|e| view! {
                                    <tr>
                                        <td>{super::short_time(&e.created_at)}</td>
                                        <td class="mono">{e.actor.unwrap_or_default()}</td>
                                        <td>{e.fields.join(", ")}</td>
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
    }
}

#[component]
fn SettingsForms(s: SettingsOut, save: ServerAction<SaveSettings>, add: ServerAction<AddWebhookSecret>, remove: ServerAction<RemoveWebhookSecret>) -> impl IntoView {
    view! {
        <ActionForm action=save attr:class="card form" attr:id="settings-form">
            <div class="checkbox-field">
                <input type="checkbox" id="settings-payments-enabled" name="payments_enabled" value="on" checked=s.payments_enabled/>
                <label for="settings-payments-enabled" class="checkbox">" Payments enabled (checkout is refused while off)"</label>
            </div>
            <div class="row">
                <div>
                    <label for="settings-currency">"Default currency"</label>
                    <input id="settings-currency" name="default_currency" value=s.default_currency.clone() maxlength="3" size="4" autocomplete="off"/>
                </div>
                <div>
                    <label for="settings-emails">"Notification addresses (comma-separated)"</label>
                    <input id="settings-emails" name="notification_emails" value=s.notification_emails.join(", ") size="40" autocomplete="off"/>
                </div>
            </div>
            <div>
                <label for="settings-stripe-key">"Own Stripe secret key (optional; otherwise the platform's Connect account is used)"</label>
                <input id="settings-stripe-key" name="stripe_secret_key" autocomplete="off" size="40" aria-describedby="settings-stripe-key-hint"
                    value=s.stripe_secret_key.clone().unwrap_or_default() placeholder="sk_live_…"/>
                <p class="hint" id="settings-stripe-key-hint">"Shown masked. Leave the mask to keep the key; clear the field to remove it."</p>
            </div>
            <p class="hint">"Stripe API version: "<code>{s.stripe_api_version.clone()}</code></p>
            <button type="submit">"Save settings"</button>
        </ActionForm>
        <section class="card" id="webhook-secrets">
            <h2>"Webhook signing secrets"</h2>
            <p class="hint">"For a Connect endpoint of your own. To rotate: add the new secret, update Stripe, then remove the old one."</p>
            {if s.webhook_secrets.is_empty() {
                view! { <EmptyState title="No webhook secrets of your own." hint="Only needed when Stripe signs to an endpoint of your own; add its whsec_… secret below."/> }.into_any()
            } else {
                let last = s.webhook_secrets.len() == 1;
                view! {
                    <ul class="secret-list">
                        {s.webhook_secrets.clone().into_iter().map(|m| {
                            let mask = m.clone();
                            let form = view! {
                                <ActionForm action=remove attr:class="inline">
                                    <input type="hidden" name="mask" value=mask/>
                                    <button type="submit" class="danger small">"Remove"</button>
                                </ActionForm>
                            };
                            // Removing one of several is the last step of a rotation; removing the
                            // only one stops every signed webhook, so that one asks first.
                            let control = if last {
                                view! {
                                    <Confirm summary="Remove…" danger=true testid="remove-last-webhook-secret">
                                        <p>"This is your only webhook secret: once removed, Stripe's webhooks to your own endpoint fail their signature check until you add a new one."</p>
                                        {form}
                                    </Confirm>
                                }.into_any()
                            } else {
                                form.into_any()
                            };
                            view! { <li><code class="wrap-anywhere">{m.clone()}</code>" "{control}</li> }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ActionForm action=add attr:class="form row" attr:id="add-webhook-secret-form">
                <div>
                    <label for="new-webhook-secret">"New secret"</label>
                    <input id="new-webhook-secret" name="secret" autocomplete="off" placeholder="whsec_…" size="40" required/>
                </div>
                <button type="submit">"Add secret"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn PaymentAuditPage() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| {
        let q = query.read();
        (q.get("action"), q.get("starting_after"))
    });
    let log = Resource::new(move || filters.get(), |(action, after)| payment_audit_log(action, after));
    let export = move || {
        let action = filters.get().0.unwrap_or_default();
        if action.is_empty() { "/api/v1/payment-audit-log/export.csv".to_owned() } else { format!("/api/v1/payment-audit-log/export.csv?action={}", action.replace('*', "%2A")) }
    };
    view! {
        <h1>"Payment audit log"</h1>
        <p class="hint">"Every money-moving action (who, what, how much, what came of it) and every webhook that moved money."</p>
        <form method="get" action="/audit" class="card form row" id="audit-filter">
            <div>
                <label for="audit-action">"Action"</label>
                <select id="audit-action" name="action">
                    <option value="">"Any"</option>
                    {["refund.*", "payment.*", "checkout.*", "webhook.*"].into_iter().map(|a| view! {
                        <option value=a selected=move || filters.get().0.as_deref() == Some(a)>{a}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit">"Filter"</button>
            <a href=export id="audit-export">"Export CSV"</a>
        </form>
        <Transition fallback=|| view! { <Loading label="Loading the audit log…"/> }>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(list) if list.data.is_empty() => view! {
                        <EmptyState title="Nothing recorded yet." hint="Refunds, captures, cancellations, checkouts and webhooks that move money are recorded here as they happen.">
                            <a href="/payments">"Go to the payments"</a>
                        </EmptyState>
                    }.into_any(),
                    Ok(list) => {
                        // The next page keeps the action filter.
                        let action = filters.get_untracked().0.filter(|a| !a.is_empty()).map(|a| format!("action={}&", a.replace('*', "%2A"))).unwrap_or_default();
                        let next = list.has_more.then(|| list.data.last().map(|e| format!("/audit?{action}starting_after={}", e.id))).flatten();
                        view! {
                            <TableWrap label="Payment audit log">
                            <table class="table" id="audit-table">
                                <thead><tr><th>"When"</th><th>"Action"</th><th>"By"</th><th>"Payment"</th><th class="num">"Amount"</th><th>"Result"</th></tr></thead>
                                <tbody>
                                    {list.data.into_iter().map(|e| {
                                        let amount = match (e.amount, e.currency.as_deref().and_then(|c| Currency::parse(c).ok())) {
                                            (Some(a), Some(c)) => c.format(a),
                                            (Some(a), None) => a.to_string(),
                                            _ => "—".into(),
                                        };
                                        view! {
                                            <tr>
                                                <td>{super::short_time(&e.created_at)}</td>
                                                <td class="mono">{e.action.clone()}</td>
                                                <td>{format!("{} {}", e.actor_type, e.actor.unwrap_or_default())}</td>
                                                <td>{e.payment_id.clone().map(|p| view! { <a class="mono" href=format!("/payments/{p}")>{p.clone()}</a> })}</td>
                                                <td class="num">{amount}</td>
                                                <td><span class="badge">{e.result.clone()}</span></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </TableWrap>
                            {next.map(|href| view! { <p><a id="audit-next" href=href>"Older →"</a></p> })}
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Transition>
    }
}
