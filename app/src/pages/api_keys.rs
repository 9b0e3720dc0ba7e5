//! API keys of the active tenant: list, create (the secret shown once), revoke.

use leptos::prelude::*;

use crate::{
    components::{ActionError, ErrorNote, MeResource},
    domain::{Action, Role},
    server_fns::api_keys::{list_api_keys, CreateApiKey, RevokeApiKey},
};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let MeResource(me) = expect_context::<MeResource>();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_api_keys());

    view! {
        <h1>"API keys"</h1>
        <p class="hint">"Keys act in this tenant with the role you give them. Send one as "<code>"Authorization: Bearer sk_…"</code>" or "<code>"X-API-Key"</code>"."</p>
        {move || match create.value().get() {
            Some(Ok(created)) => Some(view! {
                <section class="card secret" role="status">
                    <h2>"New key: "{created.key.name.clone()}</h2>
                    <p>"Copy this key now; it will not be shown again."</p>
                    <code class="secret-value" data-testid="new-api-key">{created.secret.clone()}</code>
                </section>
            }),
            _ => None,
        }}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let can_create = matches!(me.await, Ok(Some(ref me)) if MeResource::role_in_active(me).is_some_and(|r| r.can(Action::ApiKeysCreate)));
                can_create.then(|| view! {
                    <ActionForm action=create attr:class="card form row" attr:id="create-key-form">
                        <div>
                            <label for="key-name">"Name"</label>
                            <input id="key-name" name="name" required maxlength="100" placeholder="Checkout backend"/>
                        </div>
                        <div>
                            <label for="key-role">"Role"</label>
                            <select id="key-role" name="role">
                                {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == Role::Developer>{r.as_str()}</option> }).collect_view()}
                            </select>
                        </div>
                        <div>
                            <label for="key-mode">"Mode"</label>
                            <select id="key-mode" name="mode">
                                <option value="test" selected>"test"</option>
                                <option value="live">"live"</option>
                            </select>
                        </div>
                        <button type="submit">"Create key"</button>
                    </ActionForm>
                })
            })}
        </Suspense>
        <ActionError value=create.value()/>
        <ActionError value=revoke.value()/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(keys) if keys.is_empty() => view! { <p class="empty">"No API keys yet."</p> }.into_any(),
                    Ok(keys) => view! {
                        <table class="table" id="api-keys-table">
                            <thead><tr><th>"Name"</th><th>"Key"</th><th>"Role"</th><th>"Mode"</th><th>"Last used"</th><th>"Created"</th><th>"Status"</th><th></th></tr></thead>
                            <tbody>
                                {keys.into_iter().map(|k| {
                                    let revoked = k.revoked_at.is_some();
                                    let id = k.id.to_string();
                                    view! {
                                        <tr class:revoked=revoked>
                                            <td>{k.name}</td>
                                            <td class="mono">{format!("{}…{}", k.prefix, k.last4)}</td>
                                            <td>{k.role.as_str()}</td>
                                            <td>{k.mode}</td>
                                            <td>{k.last_used_at.as_ref().map(super::short_time).unwrap_or_else(|| "never".into())}</td>
                                            <td>{super::short_time(&k.created_at)}</td>
                                            <td>{if revoked { "revoked" } else { "active" }}</td>
                                            <td>
                                                {(!revoked).then(|| view! {
                                                    <ActionForm action=revoke attr:class="inline">
                                                        <input type="hidden" name="id" value=id.clone()/>
                                                        <button type="submit" class="danger small">"Revoke"</button>
                                                    </ActionForm>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
