//! Outbound webhook endpoints: the list with a create form (the signing secret shown once), and
//! one endpoint's page — send a test, rotate the secret (shown once), enable or disable, the
//! messages with a resend button each, and the attempts log.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::ops_ui::TableWrap;
use crate::{
    components::{Confirm, EmptyState, ErrorNote, Loading, MeResource, Toast},
    domain::{
        webhooks::{WebhookEndpointOut, WebhookEndpointWithSecret, WebhookMessageOut},
        Action,
    },
    server_fns::webhook_endpoints::{
        get_webhook_endpoint, list_webhook_endpoints, webhook_attempts, webhook_messages, CreateWebhookEndpoint, DeleteWebhookEndpoint,
        ResendWebhookMessage, RotateWebhookSecret, SendWebhookTest, SetWebhookEndpointActive,
    },
};

/// A status word as a coloured badge (`active`, `succeeded`, `failed`…).
fn badge(status: &str) -> impl IntoView {
    let class = match status {
        "active" | "succeeded" | "closed" => "badge badge-succeeded",
        "pending" | "delivering" | "half_open" => "badge badge-pending",
        "failed" | "disabled" | "open" => "badge badge-dead",
        _ => "badge",
    };
    view! { <span class=class>{status.to_owned()}</span> }
}

/// The card that shows a new secret, once.
fn secret_card(created: WebhookEndpointWithSecret, title: &'static str) -> impl IntoView {
    view! {
        <section class="card secret" role="status">
            <h2>{title}": "{created.endpoint.url.clone()}</h2>
            <p>"Copy this signing secret now; it will not be shown again. Verify "<code>"webhook-signature"</code>" with it (Standard Webhooks)."</p>
            <code class="secret-value" data-testid="new-webhook-secret">{created.secret.clone()}</code>
        </section>
    }
}

fn can_manage(me: &MeResource) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let resource = me.0;
    move || matches!(resource.get(), Some(Ok(Some(ref me))) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::WebhookEndpointsManage)))
}

/// Whether the signed-in user may change endpoints (waits for the user to load).
async fn manages(me: Resource<Result<Option<crate::domain::dto::MeOut>, crate::error::AppError>>) -> bool {
    matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::WebhookEndpointsManage)))
}

#[component]
pub fn WebhookEndpointsPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let manage = can_manage(&me);
    let create = ServerAction::<CreateWebhookEndpoint>::new();
    let endpoints = Resource::new(move || create.version().get(), |_| list_webhook_endpoints());

    view! {
        <h1>"Webhook endpoints"</h1>
        <p class="hint">"paybus POSTs your tenant's events to these URLs, signed per the Standard Webhooks specification ("
            <code>"webhook-id"</code>", "<code>"webhook-timestamp"</code>", "<code>"webhook-signature"</code>"). Failed deliveries are retried for about a day."</p>
        <Toast value=create.value() message=|c: &WebhookEndpointWithSecret| format!("Endpoint {} added. Copy its signing secret below.", c.endpoint.url)/>
        {move || create.value().get().and_then(Result::ok).map(|created| secret_card(created, "New endpoint"))}
        <Show when=manage>
            <ActionForm action=create attr:class="card form" attr:id="create-endpoint-form">
                <div class="row">
                    <div>
                        <label for="endpoint-url">"URL"</label>
                        <input id="endpoint-url" name="url" type="url" required size="40" placeholder="https://example.com/webhooks/paybus"/>
                    </div>
                    <div>
                        <label for="endpoint-description">"Description"</label>
                        <input id="endpoint-description" name="description" maxlength="500" placeholder="ERP sync"/>
                    </div>
                </div>
                <div class="row">
                    <div>
                        <label for="endpoint-events">"Events (comma-separated; empty for all)"</label>
                        <input id="endpoint-events" name="events" size="40" placeholder="payment.*, refund.created"/>
                    </div>
                    <div>
                        <label for="endpoint-style">"Payload"</label>
                        <select id="endpoint-style" name="payload_style">
                            <option value="snapshot" selected>"snapshot (the whole event)"</option>
                            <option value="thin">"thin (ids and essential fields)"</option>
                        </select>
                    </div>
                </div>
                <div class="checkbox-field">
                    <input type="checkbox" id="endpoint-ordered" name="ordered" value="on"/>
                    <label for="endpoint-ordered" class="checkbox">"Ordered: send one object's events strictly one after another"</label>
                </div>
                <button type="submit">"Add endpoint"</button>
            </ActionForm>
        </Show>
        <Suspense fallback=|| view! { <Loading label="Loading endpoints…"/> }>
            {move || Suspend::new(async move {
                match endpoints.await {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No webhook endpoints yet." hint="Add an endpoint to receive this tenant's events at your own URL, signed so you can trust them.">
                            <Show when=manage fallback=|| view! { <p class="hint">"Admins and developers add endpoints."</p> }>
                                <a href="#endpoint-url" id="add-endpoint-link">"Add an endpoint"</a>
                            </Show>
                        </EmptyState>
                    }.into_any(),
                    Ok(list) => view! {
                        <TableWrap label="Webhook endpoints">
                        <table class="table" id="webhook-endpoints-table">
                            <thead><tr><th>"URL"</th><th>"Events"</th><th>"Payload"</th><th>"Status"</th><th>"Circuit"</th><th>"Created"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| view! {
                                    <tr>
                                        <td>
                                            <a href=format!("/webhook-endpoints/{}", e.id) class="mono endpoint-url">{e.url.clone()}</a>
                                            {(!e.description.is_empty()).then(|| view! { <div class="hint">{e.description.clone()}</div> })}
                                        </td>
                                        <td class="mono">{e.events.join(", ")}</td>
                                        <td>{e.payload_style.as_str()}{e.ordered.then_some(", ordered")}</td>
                                        <td>{badge(&e.status)}</td>
                                        <td>{badge(&e.circuit)}</td>
                                        <td>{super::short_time(&e.created_at)}</td>
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
pub fn WebhookEndpointDetailPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let test = ServerAction::<SendWebhookTest>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let toggle = ServerAction::<SetWebhookEndpointActive>::new();
    let resend = ServerAction::<ResendWebhookMessage>::new();
    let delete = ServerAction::<DeleteWebhookEndpoint>::new();
    let changes = move || (id(), test.version().get(), rotate.version().get(), toggle.version().get(), resend.version().get());
    let endpoint = Resource::new(changes, |(id, ..)| get_webhook_endpoint(id));
    let messages = Resource::new(changes, |(id, ..)| webhook_messages(id));
    let attempts = Resource::new(changes, |(id, ..)| webhook_attempts(id));

    view! {
        <p class="breadcrumb"><a href="/webhook-endpoints">"← Webhook endpoints"</a></p>
        <div class="toast-stack">
            <Toast value=test.value() message=|m: &WebhookMessageOut| format!("Test event queued as {}: it appears under Messages and Attempts.", m.id)/>
            <Toast value=resend.value() message=|m: &WebhookMessageOut| format!("Message {} queued to be sent again.", m.id)/>
            <Toast value=toggle.value() message=|e: &WebhookEndpointOut| {
                if e.status == "active" { "Endpoint enabled: new events are sent to it again.".to_owned() } else { "Endpoint disabled: no events are sent to it.".to_owned() }
            }/>
            <Toast value=rotate.value() message=|_: &WebhookEndpointWithSecret| "Signing secret rotated. Copy the new secret below.".to_owned()/>
            <Toast value=delete.value() message=|e: &WebhookEndpointOut| format!("Endpoint {} deleted.", e.url)/>
        </div>
        {move || rotate.value().get().and_then(Result::ok).map(|rotated| secret_card(rotated, "New signing secret"))}
        {move || test.value().get().and_then(Result::ok).map(|m| view! { <p class="notice" role="status" id="test-queued">"Test event queued as "<code>{m.id}</code>"."</p> })}
        {move || delete.value().get().and_then(Result::ok).map(|_| view! { <p class="notice" role="status">"Endpoint deleted. "<a href="/webhook-endpoints">"Back to the list"</a></p> })}
        <Suspense fallback=|| view! { <Loading label="Loading the endpoint…"/> }>
            {move || Suspend::new(async move {
                let manage = manages(me).await;
                match endpoint.await {
                    Ok(e) => {
                        let active = e.status == "active";
                        let (id_test, id_toggle, id_rotate, id_delete) = (e.id.clone(), e.id.clone(), e.id.clone(), e.id.clone());
                        let (url_disable, url_delete) = (e.url.clone(), e.url.clone());
                        let toggle_form = if active {
                            view! {
                                <Confirm summary="Disable…" danger=true testid="disable-endpoint">
                                    <p>"While disabled, no events are sent to "<span class="mono">{url_disable}</span>
                                        ". Messages still waiting are set aside (you can resend them later); enable it again at any time."</p>
                                    <ActionForm action=toggle attr:class="inline">
                                        <input type="hidden" name="id" value=id_toggle/>
                                        <input type="hidden" name="active" value="false"/>
                                        <button type="submit" class="danger" id="disable-endpoint-submit">"Disable endpoint"</button>
                                    </ActionForm>
                                </Confirm>
                            }.into_any()
                        } else {
                            view! {
                                <ActionForm action=toggle attr:class="inline">
                                    <input type="hidden" name="id" value=id_toggle/>
                                    <input type="hidden" name="active" value="true"/>
                                    <button type="submit">"Enable"</button>
                                </ActionForm>
                            }.into_any()
                        };
                        view! {
                            <h1 class="mono endpoint-url">{e.url.clone()}</h1>
                            {(!e.description.is_empty()).then(|| view! { <p>{e.description.clone()}</p> })}
                            <section class="card" id="endpoint-summary">
                                <p>"Status: "{badge(&e.status)}{e.disabled_reason.clone().map(|r| format!(" ({r})"))}" · circuit "{badge(&e.circuit)}
                                    " · "{e.consecutive_failures}" consecutive failures"</p>
                                <p>"Events: "<code>{e.events.join(", ")}</code>" · payload "{e.payload_style.as_str()}
                                    {e.ordered.then_some(" · ordered")}" · at most "{e.rate_limit_per_sec}" per second"</p>
                                {e.previous_secret_expires_at.map(|t| view! { <p class="hint">"The previous secret also signs until "{super::short_time(&t)}" UTC."</p> })}
                                {e.failing_since.map(|t| view! { <p class="error-text">"Failing since "{super::short_time(&t)}" UTC."</p> })}
                            </section>
                            {manage.then(|| view! {
                                <div class="card form row" id="endpoint-actions">
                                    <ActionForm action=test attr:class="inline">
                                        <input type="hidden" name="id" value=id_test/>
                                        <button type="submit" disabled=!active>"Send test event"</button>
                                    </ActionForm>
                                    {toggle_form}
                                    <Confirm summary="Rotate secret…" testid="rotate-secret">
                                        <p>"A new signing secret is made and shown once. The old one keeps signing beside it for the hours you choose, then stops: update your receiver before then, or its signature checks fail."</p>
                                        <ActionForm action=rotate attr:class="inline" attr:id="rotate-secret-form">
                                            <input type="hidden" name="id" value=id_rotate/>
                                            <label for="overlap-hours">"Old secret keeps signing for (hours)"</label>
                                            <input id="overlap-hours" name="overlap_hours" value="24" size="4" inputmode="numeric"/>
                                            <button type="submit">"Rotate secret"</button>
                                        </ActionForm>
                                    </Confirm>
                                    <Confirm summary="Delete…" danger=true testid="delete-endpoint">
                                        <p>"Deletes "<span class="mono">{url_delete}</span>": no more events are sent to it and messages still waiting are dropped. This cannot be undone."</p>
                                        <ActionForm action=delete attr:class="inline">
                                            <input type="hidden" name="id" value=id_delete/>
                                            <button type="submit" class="danger" id="delete-endpoint-submit">"Delete endpoint"</button>
                                        </ActionForm>
                                    </Confirm>
                                </div>
                            })}
                        }.into_any()
                    }
                    Err(error) => view! { <h1>"Webhook endpoint"</h1><ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
        <h2>"Messages"</h2>
        <Suspense fallback=|| view! { <Loading label="Loading messages…"/> }>
            {move || Suspend::new(async move {
                let manage = manages(me).await;
                match messages.await {
                    Ok(list) if list.data.is_empty() => view! {
                        <EmptyState title="No messages yet." hint="Events this endpoint subscribes to appear here as they happen. Send a test event to try it now."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <TableWrap label="Messages">
                        <table class="table" id="webhook-messages">
                            <thead><tr><th>"Message"</th><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last result"</th><th>"Created"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {list.data.into_iter().map(|m| {
                                    let last = match (m.last_status_code, m.last_error.clone()) {
                                        (Some(code), _) => code.to_string(),
                                        (None, Some(error)) => error,
                                        (None, None) => String::new(),
                                    };
                                    view! {
                                        <tr>
                                            <td class="mono">{m.id.clone()}{m.sequence.map(|s| format!(" #{s}"))}</td>
                                            <td><a href=format!("/events/{}", m.event_id)>{m.event_type.clone()}</a>{m.note.clone().map(|n| view! { <div class="hint">{n}</div> })}</td>
                                            <td>{badge(&m.status)}</td>
                                            <td class="num">{m.attempts}</td>
                                            <td>{last}</td>
                                            <td>{super::short_time(&m.created_at)}</td>
                                            <td>
                                                {manage.then(|| view! {
                                                    <ActionForm action=resend attr:class="inline">
                                                        <input type="hidden" name="id" value=m.endpoint_id.clone()/>
                                                        <input type="hidden" name="message_id" value=m.id.clone()/>
                                                        <button type="submit" class="small">"Resend"</button>
                                                    </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </TableWrap>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
        <h2>"Attempts"</h2>
        <Suspense fallback=|| view! { <Loading label="Loading attempts…"/> }>
            {move || Suspend::new(async move {
                match attempts.await {
                    Ok(list) if list.data.is_empty() => view! {
                        <EmptyState title="No attempts yet." hint="Each try to deliver a message is logged here with its HTTP status, latency and the start of the response."/>
                    }.into_any(),
                    Ok(list) => view! {
                        <TableWrap label="Attempts">
                        <table class="table attempt-log" id="webhook-attempts">
                            <thead><tr><th>"When"</th><th>"Message"</th><th>"#"</th><th>"Trigger"</th><th>"Result"</th><th>"Status"</th><th>"Latency"</th><th>"Response / error"</th></tr></thead>
                            <tbody>
                                {list.data.into_iter().map(|a| view! {
                                    <tr>
                                        <td>{super::short_time(&a.created_at)}</td>
                                        <td class="mono">{a.message_id.clone()}</td>
                                        <td class="num">{a.attempt}</td>
                                        <td>{a.trigger.clone()}</td>
                                        <td>{badge(&a.status)}</td>
                                        <td class="num">{a.status_code.map(|c| c.to_string()).unwrap_or_default()}</td>
                                        <td class="num">{format!("{} ms", a.latency_ms)}</td>
                                        <td class="mono excerpt">{a.error.clone().or(a.response_excerpt.clone()).unwrap_or_default()}</td>
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
