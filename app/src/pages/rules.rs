//! Rules of the active tenant: the list, and the editor (`/rules/new`, `/rules/:id`) with a live
//! test of a sample event — the domain matcher runs in the browser, the same code the bus runs —
//! a dry run over stored events, enable / disable and delete.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde_json::Value;

use super::ops_ui::TableWrap;
use crate::{
    components::{Confirm, EmptyState, ErrorNote, Loading, MeResource, Toast},
    domain::{
        rules::{views::*, ConditionSpec, Pattern, PatternSpec, TargetSpec, OPERATORS},
        Action as Permission,
    },
    error::AppError,
    server_fns::rules::{delete_rule, dry_run_rule, get_rule, list_rules, rule_stats, rule_targets, save_rule, RuleTargetChoices, SetRuleEnabled},
};

fn target_text(t: &TargetSpec) -> String {
    match t.kind.as_str() {
        "webhook_endpoint" => format!("endpoint {}", t.endpoint_id.clone().unwrap_or_default()),
        "plugin" => format!("plugin {}", t.plugin.clone().unwrap_or_default()),
        other => other.to_owned(),
    }
}

#[component]
pub fn RulesPage() -> impl IntoView {
    let toggle = ServerAction::<SetRuleEnabled>::new();
    let rules = Resource::new(move || toggle.version().get(), |_| list_rules());
    view! {
        <h1>"Rules"</h1>
        <p class="hint">"A rule sends the events that match its pattern — type patterns and field conditions — to an endpoint, a plugin or its own archive."</p>
        <p><a href="/rules/new" id="new-rule">"New rule"</a></p>
        <Toast value=toggle.value() message=|r: &RuleOut| {
            if r.enabled { format!("Rule “{}” enabled: matching events are routed from now on.", r.name) } else { format!("Rule “{}” disabled: it routes nothing until enabled again.", r.name) }
        }/>
        <Suspense fallback=|| view! { <Loading label="Loading rules…"/> }>
            {move || Suspend::new(async move {
                match rules.await {
                    Ok(rules) if rules.is_empty() => view! {
                        <EmptyState title="No rules yet." hint="A rule routes matching events, for example refunds over 1,000 to a webhook endpoint. New rules start disabled so you can dry-run them first.">
                            <a href="/rules/new">"Create a rule"</a>
                        </EmptyState>
                    }.into_any(),
                    Ok(rules) => view! {
                        <TableWrap label="Rules">
                        <table class="table" id="rules-table">
                            <thead><tr><th>"Name"</th><th>"Status"</th><th>"Pattern"</th><th>"Target"</th><th>"Payload"</th><th class="num">"Matches (7 d)"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {rules.into_iter().map(|r| {
                                    let href = format!("/rules/{}", r.id);
                                    let status = if r.enabled { "enabled" } else { "disabled" };
                                    view! {
                                        <tr class:revoked=!r.enabled>
                                            <td><a href=href>{r.name.clone()}</a></td>
                                            <td><span class=format!("badge badge-{}", if r.enabled { "succeeded" } else { "skipped" })>{status}</span></td>
                                            <td class="mono">{r.summary.clone()}</td>
                                            <td>{target_text(&r.target)}</td>
                                            <td>{r.payload_style.clone()}</td>
                                            <td class="num">{r.matched_7d}</td>
                                            <td>
                                                <ActionForm action=toggle attr:class="inline">
                                                    <input type="hidden" name="id" value=r.id.clone()/>
                                                    <input type="hidden" name="enabled" value=(!r.enabled).to_string()/>
                                                    <button type="submit" class="small">{if r.enabled { "Disable" } else { "Enable" }}</button>
                                                </ActionForm>
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
    }
}

/// The rules section of the event-bus page.
#[component]
pub fn RulesWindowTable(rules: Vec<RuleWindowStats>) -> impl IntoView {
    view! {
        <TableWrap label="Rules in this window">
        <table class="table" id="bus-rules-table">
            <thead><tr><th>"Rule"</th><th class="num">"Matched"</th><th class="num">"Delivered"</th><th class="num">"Failed attempts"</th></tr></thead>
            <tbody>
                {rules.into_iter().map(|r| view! {
                    <tr>
                        <td><a href=format!("/rules/{}", r.rule_id)>{r.name}</a></td>
                        <td class="num">{r.matched}</td>
                        <td class="num">{r.delivered}</td>
                        <td class="num">{r.failed}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </TableWrap>
    }
}

#[component]
pub fn RuleEditorPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rule = Resource::new(id, |id| async move {
        if id.is_empty() || id == "new" {
            Ok(None)
        } else {
            get_rule(id).await.map(Some)
        }
    });
    // Everything the form loads is made here, with the page, not inside the suspense that waits
    // for the rule: a resource made after an await is not the one the browser hydrates with.
    let MeResource(me) = expect_context::<MeResource>();
    let targets = Resource::new(|| (), |_| rule_targets());
    let stats = Resource::new(id, |id| async move {
        if id.is_empty() || id == "new" {
            Ok(None)
        } else {
            rule_stats(id).await.map(Some)
        }
    });
    let can_manage = Resource::new(|| (), move |_| async move {
        matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(Permission::RulesManage)))
    });
    view! {
        <p class="breadcrumb"><a href="/rules">"← Rules"</a></p>
        <Suspense fallback=|| view! { <Loading label="Loading the rule…"/> }>
            {move || Suspend::new(async move {
                match rule.await {
                    Ok(rule) => view! { <RuleForm rule targets stats can_manage/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[derive(Debug, Clone, PartialEq)]
struct CondRow {
    key: u32,
    path: String,
    operator: String,
    value: String,
}

/// What a value box holds: JSON when it parses (`1000`, `true`, `["usd","eur"]`, `"1000"`), else
/// the text as a string (`usd`).
fn value_of(text: &str) -> Value {
    let t = text.trim();
    serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned()))
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

const SAMPLE: &str = r#"{
  "type": "payment.captured",
  "actor_type": "webhook",
  "payload": { "payment_id": "pay_1", "amount": 25000, "currency": "usd", "status": "succeeded" },
  "metadata": { "source": "webhook" }
}"#;

#[component]
fn RuleForm(
    rule: Option<RuleOut>,
    targets: Resource<Result<RuleTargetChoices, AppError>>,
    stats: Resource<Result<Option<RuleStatsOut>, AppError>>,
    can_manage: Resource<bool>,
) -> impl IntoView {
    let existing_id = rule.as_ref().map(|r| r.id.clone()).unwrap_or_default();
    let is_new = rule.is_none();
    let r = rule.clone();
    let name = RwSignal::new(r.as_ref().map(|r| r.name.clone()).unwrap_or_default());
    let description = RwSignal::new(r.as_ref().map(|r| r.description.clone()).unwrap_or_default());
    // New rules start disabled: dry-run first, then enable.
    let enabled = RwSignal::new(r.as_ref().map(|r| r.enabled).unwrap_or(false));
    let types = RwSignal::new(r.as_ref().map(|r| r.pattern.types.join(", ")).unwrap_or_else(|| "payment.*".into()));
    let initial: Vec<CondRow> = r
        .as_ref()
        .map(|r| r.pattern.conditions.iter().enumerate().map(|(i, c)| CondRow { key: i as u32, path: c.path.clone(), operator: c.operator.clone(), value: text_of(&c.value) }).collect())
        .unwrap_or_default();
    let next_key = RwSignal::new(initial.len() as u32);
    let conditions = RwSignal::new(initial);
    let target_kind = RwSignal::new(r.as_ref().map(|r| r.target.kind.clone()).unwrap_or_else(|| "archive".into()));
    let endpoint = RwSignal::new(r.as_ref().and_then(|r| r.target.endpoint_id.clone()).unwrap_or_default());
    let plugin = RwSignal::new(r.as_ref().and_then(|r| r.target.plugin.clone()).unwrap_or_default());
    let style = RwSignal::new(r.as_ref().map(|r| r.payload_style.clone()).unwrap_or_else(|| "snapshot".into()));
    let sample = RwSignal::new(SAMPLE.to_owned());

    let spec = Memo::new(move |_| PatternSpec {
        types: types.get().split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        conditions: conditions
            .get()
            .into_iter()
            .map(|c| ConditionSpec { path: c.path.trim().to_owned(), operator: c.operator, value: value_of(&c.value) })
            .collect(),
    });
    let target_spec = move || TargetSpec {
        kind: target_kind.get(),
        endpoint_id: (target_kind.get() == "webhook_endpoint").then(|| endpoint.get()),
        plugin: (target_kind.get() == "plugin").then(|| plugin.get()),
    };
    let input = move || RuleIn {
        name: Some(name.get()),
        description: Some(description.get()),
        enabled: Some(enabled.get()),
        pattern: Some(spec.get()),
        target: Some(target_spec()),
        payload_style: Some(style.get()),
    };

    // The live test: the domain matcher, here in the browser.
    let live = Memo::new(move |_| {
        let pattern = Pattern::parse(&spec.get(), "pattern").map_err(|e| format!("{} ({})", e.message, e.param))?;
        let event: Value = serde_json::from_str(&sample.get()).map_err(|e| format!("The sample is not valid JSON: {e}"))?;
        Ok::<_, String>(pattern.evaluate(&event))
    });

    let navigate = use_navigate();
    let id_for_save = existing_id.clone();
    let save = Action::new(move |body: &String| {
        let (id, body) = (id_for_save.clone(), body.clone());
        async move { save_rule(id, body).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            if is_new {
                navigate(&format!("/rules/{}", saved.id), Default::default());
            }
        }
    });
    let dry_days = RwSignal::new("7".to_owned());
    let dry = Action::new(move |body: &String| {
        let body = body.clone();
        async move { dry_run_rule(body).await }
    });
    let id_for_delete = existing_id.clone();
    let remove = Action::new(move |_: &()| {
        let id = id_for_delete.clone();
        async move { delete_rule(id).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(_)) = remove.value().get() {
            navigate("/rules", Default::default());
        }
    });
    // A save changes the counters' rule: read them again.
    Effect::new(move |previous: Option<usize>| {
        let version = save.version().get();
        if previous.is_some_and(|p| p != version) {
            stats.refetch();
        }
        version
    });

    view! {
        <h1>{if is_new { "New rule".to_owned() } else { format!("Rule: {}", rule.as_ref().map(|r| r.name.clone()).unwrap_or_default()) }}</h1>
        <form class="card form" id="rule-form" on:submit=move |ev| {
            ev.prevent_default();
            if let Ok(body) = serde_json::to_string(&input()) {
                save.dispatch(body);
            }
        }>
            <div class="row">
                <div>
                    <label for="rule-name">"Name"</label>
                    <input id="rule-name" required maxlength="100" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                </div>
                <div>
                    <label for="rule-enabled">
                        <input id="rule-enabled" type="checkbox" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                        " Enabled"
                    </label>
                </div>
            </div>
            <label for="rule-description">"Description"</label>
            <input id="rule-description" maxlength="500" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))/>

            <h2>"Pattern"</h2>
            <label for="rule-types">"Event types (any of; comma-separated): "<code>"payment.captured"</code>", "<code>"payment.*"</code>", "<code>"invoice.payment_*"</code>", "<code>"*"</code></label>
            <input id="rule-types" class="mono" prop:value=move || types.get() on:input=move |ev| types.set(event_target_value(&ev))/>
            <p class="hint">"Conditions (all must hold). Paths address the envelope: "<code>"payload.amount"</code>", "<code>"actor_type"</code>", "<code>"metadata.source"</code>". Values are JSON when they parse ("<code>"1000"</code>", "<code>"true"</code>", "<code>"[\"usd\",\"eur\"]"</code>"), else text."</p>
            <table class="table" id="rule-conditions">
                <thead><tr><th>"Path"</th><th>"Operator"</th><th>"Value"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    <For each=move || conditions.get() key=|c| c.key let:c>
                        {
                            let key = c.key;
                            let set = move |f: &dyn Fn(&mut CondRow)| conditions.update(|rows| if let Some(r) = rows.iter_mut().find(|r| r.key == key) { f(r) });
                            let selected = c.operator.clone();
                            view! {
                                <tr>
                                    <td>
                                        <label for=format!("cond-{key}-path") class="visually-hidden">{format!("Condition {} path", key + 1)}</label>
                                        <input id=format!("cond-{key}-path") class="mono" placeholder="payload.amount" prop:value=c.path.clone() on:input=move |ev| { let v = event_target_value(&ev); set(&|r| r.path = v.clone()) }/>
                                    </td>
                                    <td>
                                        <label for=format!("cond-{key}-operator") class="visually-hidden">{format!("Condition {} operator", key + 1)}</label>
                                        <select id=format!("cond-{key}-operator") on:change=move |ev| { let v = event_target_value(&ev); set(&|r| r.operator = v.clone()) }>
                                            {OPERATORS.iter().map(|op| view! { <option value=*op selected=*op == selected.as_str()>{*op}</option> }).collect_view()}
                                        </select>
                                    </td>
                                    <td>
                                        <label for=format!("cond-{key}-value") class="visually-hidden">{format!("Condition {} value", key + 1)}</label>
                                        <input id=format!("cond-{key}-value") class="mono" placeholder="1000" prop:value=c.value.clone() on:input=move |ev| { let v = event_target_value(&ev); set(&|r| r.value = v.clone()) }/>
                                    </td>
                                    <td><button type="button" class="small danger" on:click=move |_| conditions.update(|rows| rows.retain(|r| r.key != key))>"Remove"</button></td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <button type="button" class="small" id="add-condition" on:click=move |_| {
                let key = next_key.get_untracked();
                next_key.set(key + 1);
                conditions.update(|rows| rows.push(CondRow { key, path: "payload.amount".into(), operator: "gte".into(), value: "1000".into() }));
            }>"Add condition"</button>

            <h2>"Target"</h2>
            <div class="row">
                <div>
                    <label for="rule-target">"Send to"</label>
                    <select id="rule-target" on:change=move |ev| target_kind.set(event_target_value(&ev))>
                        {[("archive", "The rule's archive"), ("webhook_endpoint", "A webhook endpoint"), ("plugin", "A plugin")].into_iter().map(|(v, label)| {
                            view! { <option value=v selected=move || target_kind.get() == v>{label}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let t = targets.await.unwrap_or_default();
                        view! {
                            <div style:display=move || if target_kind.get() == "webhook_endpoint" { "" } else { "none" }>
                                <label for="rule-endpoint">"Endpoint"</label>
                                <input id="rule-endpoint" class="mono" list="rule-endpoints" placeholder="we_…" prop:value=move || endpoint.get() on:input=move |ev| endpoint.set(event_target_value(&ev))/>
                                <datalist id="rule-endpoints">{t.endpoints.into_iter().map(|e| view! { <option value=e/> }).collect_view()}</datalist>
                            </div>
                            <div style:display=move || if target_kind.get() == "plugin" { "" } else { "none" }>
                                <label for="rule-plugin">"Plugin"</label>
                                <input id="rule-plugin" list="rule-plugins" prop:value=move || plugin.get() on:input=move |ev| plugin.set(event_target_value(&ev))/>
                                <datalist id="rule-plugins">{t.plugins.into_iter().map(|p| view! { <option value=p/> }).collect_view()}</datalist>
                            </div>
                        }
                    })}
                </Suspense>
                <div>
                    <label for="rule-style">"Payload"</label>
                    <select id="rule-style" on:change=move |ev| style.set(event_target_value(&ev))>
                        <option value="snapshot" selected=move || style.get() == "snapshot">"snapshot (whole event)"</option>
                        <option value="thin" selected=move || style.get() == "thin">"thin (id, type, object, essentials)"</option>
                    </select>
                </div>
            </div>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    can_manage.await.then(|| view! { <button type="submit" id="save-rule">{if is_new { "Create rule" } else { "Save" }}</button> })
                })}
            </Suspense>
            {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <span class="notice" role="status">" Saved."</span> })}
        </form>
        <Toast value=save.value() message=|r: &RuleOut| {
            if r.enabled { format!("Rule “{}” saved and enabled.", r.name) } else { format!("Rule “{}” saved (disabled: dry-run it, then enable it).", r.name) }
        }/>

        <section class="card" id="rule-live-test">
            <h2>"Live test"</h2>
            <label for="rule-sample">"Sample event"</label>
            <p class="hint">"Paste an event (an envelope with "<code>"type"</code>" and "<code>"payload"</code>"); it is matched as you type."</p>
            <textarea id="rule-sample" class="mono" rows="8" aria-label="Sample event (JSON)" prop:value=move || sample.get() on:input=move |ev| sample.set(event_target_value(&ev))></textarea>
            {move || match live.get() {
                Err(message) => view! { <p class="error-text" id="live-result">{message}</p> }.into_any(),
                Ok(ev) => view! {
                    <div id="live-result" data-matched=ev.matched.to_string()>
                        <p><strong>{if ev.matched { "Matches" } else { "Does not match" }}</strong></p>
                        <ul>
                            <li class:error-text=!ev.type_matched>{if ev.type_matched { "✓ " } else { "✗ " }}{ev.type_reason.clone()}</li>
                            {ev.conditions.into_iter().map(|c| view! {
                                <li class:error-text=!c.passed>{if c.passed { "✓ " } else { "✗ " }}{c.reason}</li>
                            }).collect_view()}
                        </ul>
                    </div>
                }.into_any(),
            }}
        </section>

        <section class="card" id="rule-dry-run">
            <h2>"Dry run"</h2>
            <div class="form row">
                <div>
                    <label for="dry-days">"Days back (1–90)"</label>
                    <input id="dry-days" type="number" min="1" max="90" prop:value=move || dry_days.get() on:input=move |ev| dry_days.set(event_target_value(&ev))/>
                </div>
                <button type="button" id="dry-run-button" on:click=move |_| {
                    let body = DryRunIn { pattern: Some(spec.get_untracked()), days: dry_days.get_untracked().trim().parse().ok(), cursor: None };
                    if let Ok(body) = serde_json::to_string(&body) {
                        dry.dispatch(body);
                    }
                }>"Dry run"</button>
            </div>
            {move || match dry.value().get() {
                Some(Err(error)) => Some(view! { <ErrorNote error/> }),
                _ => None,
            }}
            {move || dry.pending().get().then(|| view! { <Loading label="Scanning stored events…"/> })}
            {move || match dry.value().get() {
                Some(Ok(out)) => Some(view! {
                    <div id="dry-run-result">
                        <p>
                            <strong>{out.matched}</strong>" of "{out.scanned}" events scanned matched over the last "{out.days}" days."
                            {out.truncated.then(|| format!(" The scan stopped at its limit of {} events; older events were not read.", out.scan_limit))}
                        </p>
                        {(!out.samples.is_empty()).then(|| view! {
                            <TableWrap label="Matching events">
                            <table class="table">
                                <thead><tr><th>"Event"</th><th>"Type"</th><th>"When"</th></tr></thead>
                                <tbody>
                                    {out.samples.into_iter().map(|e| view! {
                                        <tr>
                                            <td class="mono"><a href=format!("/events/{}", e.id)>{e.id.clone()}</a></td>
                                            <td>{e.event_type.clone()}</td>
                                            <td>{super::short_time(&e.occurred_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </TableWrap>
                        })}
                    </div>
                }),
                _ => None,
            }}
        </section>

        {(!is_new).then(|| view! {
            <section class="card" id="rule-stats">
                <h2>"Matches (30 days)"</h2>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        match stats.await {
                            Ok(Some(s)) => view! {
                                <p>{s.matched}" matched · "{s.delivered}" delivered · "{s.failed}" failed attempts · "{s.undelivered}" not delivered yet"</p>
                                {(!s.recent_errors.is_empty()).then(|| view! {
                                    <TableWrap label="Recent errors">
                                    <table class="table">
                                        <thead><tr><th>"Event"</th><th>"Type"</th><th>"Attempts"</th><th>"Error"</th></tr></thead>
                                        <tbody>
                                            {s.recent_errors.into_iter().map(|e| view! {
                                                <tr><td class="mono"><a href=format!("/events/{}", e.event_id)>{e.event_id.clone()}</a></td><td>{e.event_type}</td><td class="num">{e.attempts}</td><td class="error-text">{e.error}</td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    </TableWrap>
                                })}
                            }.into_any(),
                            Ok(None) => ().into_any(),
                            Err(error) => view! { <ErrorNote error/> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
            <section class="card" id="rule-delete">
                <h2>"Delete"</h2>
                <Confirm summary="Delete rule…" danger=true testid="delete-rule">
                    <p>"Delete this rule, its counters and its archive? Matching events stop being routed at once. This cannot be undone; to pause it instead, disable it."</p>
                    <button type="button" class="danger" id="confirm-delete" on:click=move |_| { remove.dispatch(()); }>"Delete rule"</button>
                </Confirm>
                <Toast value=remove.value() message=|_: &RuleDeletedOut| "Rule deleted.".to_owned()/>
            </section>
        })}
    }
}
