//! Plugins: each with its switch, health, delivery counts, settings form (secrets masked) and a
//! test button.

use leptos::prelude::*;

use crate::{
    components::{ActionError, Confirm, EmptyState, ErrorNote, Loading},
    domain::plugins::{PluginFieldOut, PluginOut},
    server_fns::plugins::{list_plugins, ConfigurePlugin, SwitchPlugin, TestPlugin},
};

#[component]
pub fn PluginsPage() -> impl IntoView {
    let switch = ServerAction::<SwitchPlugin>::new();
    let configure = ServerAction::<ConfigurePlugin>::new();
    let test = ServerAction::<TestPlugin>::new();
    let plugins = Resource::new(move || (switch.version().get(), configure.version().get()), |_| list_plugins());

    view! {
        <h1>"Plugins"</h1>
        <p class="hint">"Plugins run on the event bus for this tenant: switching one on or off takes effect with the next event."</p>
        {move || switch.value().get().and_then(|r| r.ok()).map(|p| view! {
            <p class="notice" role="status" id="plugin-switched">{format!("{} is now {}.", p.title, if p.enabled { "on" } else { "off" })}</p>
        })}
        {move || configure.value().get().and_then(|r| r.ok()).map(|p| view! {
            <p class="notice" role="status" id="plugin-configured">{format!("{} settings saved.", p.title)}</p>
        })}
        {move || test.value().get().and_then(|r| r.ok()).map(|t| view! {
            <p class=if t.ok { "notice" } else { "error" } role="status" id="plugin-test-result">{format!("{}: {}", t.plugin, t.message)}</p>
        })}
        <ActionError value=switch.value()/>
        <ActionError value=configure.value()/>
        <ActionError value=test.value()/>
        <Suspense fallback=|| view! { <Loading label="Loading plugins…"/> }>
            {move || Suspend::new(async move {
                match plugins.await {
                    Ok(list) if list.data.is_empty() => view! {
                        <EmptyState title="No plugins are compiled into this paybus." hint="Plugins are built in; a build with the default features includes the audit log, chat alerts, email and more."/>
                    }.into_any(),
                    Ok(list) => list.data.into_iter().map(|p| view! { <PluginCard p switch configure test/> }).collect_view().into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PluginCard(p: PluginOut, switch: ServerAction<SwitchPlugin>, configure: ServerAction<ConfigurePlugin>, test: ServerAction<TestPlugin>) -> impl IntoView {
    let health_class = match p.health.status.as_str() {
        "healthy" => "badge ok",
        "unconfigured" => "badge warn",
        _ => "badge bad",
    };
    let id = format!("plugin-{}", p.name);
    let has_fields = !p.fields.is_empty();
    let fields = p.fields.clone();
    let config = p.config.clone();
    let (switch_name, test_name, config_name, field_plugin) = (p.name.clone(), p.name.clone(), p.name.clone(), p.name.clone());
    view! {
        <section class="card plugin" id=id.clone() data-enabled=p.enabled.to_string()>
            <h2>{p.title.clone()}" "<small class="mono">{format!("{} v{}", p.name, p.version)}</small></h2>
            <p>{p.description.clone()}</p>
            <p>
                <span class=if p.enabled { "badge ok" } else { "badge" }>{if p.enabled { "On" } else { "Off" }}</span>" "
                <span class=health_class title=p.health.message.clone().unwrap_or_default()>{p.health.status.clone()}</span>
                {p.health.message.clone().map(|m| view! { " "<span class="hint">{m}</span> })}
            </p>
            <p class="hint">
                "Listens to "<code>{p.events.join(", ")}</code>". Deliveries: "
                {format!("{} delivered, {} pending, {} skipped, {} dead", p.stats.succeeded, p.stats.pending, p.stats.skipped, p.stats.dead)}
                {p.stats.last_error.clone().map(|e| view! { <br/>"Last error: "<span class="error-text">{e}</span> })}
            </p>
            <div class="plugin-actions">
                {if p.enabled {
                    let consequence = format!(
                        "Turn off {}? From the next event on it receives nothing for this tenant: events while it is off are skipped, not kept for later (a replay from the events page can send them afterwards).",
                        p.title
                    );
                    view! {
                        <Confirm summary="Turn off…" danger=true testid=format!("turn-off-{}", p.name)>
                            <p>{consequence}</p>
                            <ActionForm action=switch attr:class="inline">
                                <input type="hidden" name="name" value=switch_name/>
                                <button type="submit" class="danger">"Turn off"</button>
                            </ActionForm>
                        </Confirm>
                    }.into_any()
                } else {
                    view! {
                        <ActionForm action=switch attr:class="inline">
                            <input type="hidden" name="name" value=switch_name/>
                            <input type="hidden" name="enabled" value="on"/>
                            <button type="submit">"Turn on"</button>
                        </ActionForm>
                    }.into_any()
                }}
                <ActionForm action=test attr:class="inline">
                    <input type="hidden" name="name" value=test_name/>
                    <button type="submit" class="secondary">"Send a test"</button>
                </ActionForm>
            </div>
            {has_fields.then(|| view! {
                <details>
                    <summary>"Settings"</summary>
                    <ActionForm action=configure attr:class="form">
                        <input type="hidden" name="name" value=config_name.clone()/>
                        {fields.clone().into_iter().map(|f| {
                            let value = config.get(&f.key).cloned().unwrap_or(serde_json::Value::Null);
                            view! { <FieldInput plugin=field_plugin.clone() f value/> }
                        }).collect_view()}
                        <button type="submit">"Save settings"</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

#[component]
fn FieldInput(plugin: String, f: PluginFieldOut, value: serde_json::Value) -> impl IntoView {
    let id = format!("{plugin}-{}", f.key);
    let name = format!("config[{}]", f.key);
    let text = match &value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    let label = if f.required { format!("{} (required)", f.label) } else { f.label.clone() };
    let help = (!f.help.is_empty()).then(|| view! { <p class="hint">{f.help.clone()}</p> });
    // `value` is what the server renders; `prop:value` is what a re-render after saving must set,
    // because a field the user typed in no longer follows its attribute (a saved secret would
    // stay readable instead of showing its mask).
    let input = match f.kind.as_str() {
        "bool" => view! {
            <div class="checkbox-field">
                <input type="checkbox" id=id.clone() name=name value="on" checked=value.as_bool().unwrap_or(false)/>
                <label for=id.clone() class="checkbox">{label.clone()}</label>
            </div>
        }.into_any(),
        "choice" => view! {
            <label for=id.clone()>{label.clone()}</label>
            <select id=id.clone() name=name>
                {f.options.iter().map(|o| view! { <option value=o.clone() selected=*o == text>{o.clone()}</option> }).collect_view()}
            </select>
        }.into_any(),
        "integer" => view! {
            <label for=id.clone()>{label.clone()}</label>
            <input id=id.clone() name=name type="number" value=text.clone() prop:value=text min=f.min.map(|m| m.to_string()) max=f.max.map(|m| m.to_string())/>
        }.into_any(),
        kind => {
            let placeholder = match kind {
                "emails" => "ops@example.com, finance@example.com",
                "patterns" => "payment.*, dispute.created",
                "url" => "https://…",
                _ => "",
            };
            view! {
                <label for=id.clone()>{label.clone()}</label>
                <input id=id.clone() name=name value=text.clone() prop:value=text placeholder=placeholder size="48" autocomplete="off"
                    type=if kind == "url" && !f.secret { "url" } else { "text" }/>
                {f.secret.then(|| view! { <p class="hint">"Secret: shown masked. Leave the mask to keep it."</p> })}
            }.into_any()
        }
    };
    view! { <div class="field">{input}{help}</div> }
}
