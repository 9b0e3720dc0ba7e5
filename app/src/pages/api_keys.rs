//! API keys of the active tenant: list, create (the secret shown once), revoke (after a
//! confirmation that says what stops working).

use leptos::prelude::*;

use super::ops_ui::{may, TableWrap};
use crate::{
    components::{Confirm, EmptyState, ErrorNote, Loading, MeResource, Toast},
    domain::{
        dto::{ApiKeyCreated, ApiKeyOut},
        Action, Role,
    },
    server_fns::api_keys::{list_api_keys, CreateApiKey, RevokeApiKey},
};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_api_keys());

    view! {
        <h1>"API keys"</h1>
        <p class="hint">"Keys act in this tenant with the role you give them. Send one as "<code>"Authorization: Bearer sk_…"</code>" or "<code>"X-API-Key"</code>"."</p>
        <div class="toast-stack">
            <Toast value=create.value() message=|c: &ApiKeyCreated| format!("Key “{}” created. Copy it now: it is shown only once.", c.key.name)/>
            <Toast value=revoke.value() message=|k: &ApiKeyOut| format!("Key “{}” revoked: requests with it are refused from now on.", k.name)/>
        </div>
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
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                may(me, Action::ApiKeysCreate).await.then(|| view! {
                    <ActionForm action=create attr:class="card form row" attr:id="create-key-form">
                        <div>
                            <label for="key-name">"Name"</label>
                            <input id="key-name" name="name" required maxlength="100" placeholder="Checkout backend" autocomplete="off"/>
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
        <Suspense fallback=|| view! { <Loading label="Loading keys…"/> }>
            {move || Suspend::new(async move {
                let can_revoke = may(me, Action::ApiKeysRevoke).await;
                match keys.await {
                    Ok(keys) if keys.is_empty() => view! {
                        <EmptyState title="No API keys yet." hint="Create a key for each backend that calls paybus, with the smallest role it needs.">
                            <a href="#key-name">"Create a key"</a>
                        </EmptyState>
                    }.into_any(),
                    Ok(keys) => view! { <KeysTable keys revoke can_revoke/> }.into_any(),
                    Err(error) => view! { <ErrorNote error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn KeysTable(keys: Vec<ApiKeyOut>, revoke: ServerAction<RevokeApiKey>, can_revoke: bool) -> impl IntoView {
    view! {
        <TableWrap label="API keys">
            <table class="table" id="api-keys-table">
                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Role"</th><th>"Mode"</th><th>"Last used"</th><th>"Created"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {keys.into_iter().map(|k| {
                        let revoked = k.revoked_at.is_some();
                        let id = k.id.to_string();
                        let shown = format!("{}…{}", k.prefix, k.last4);
                        let revoke_form = (!revoked && can_revoke).then(|| {
                            let consequence = format!(
                                "Revoke “{}” ({shown})? Every request made with it is refused from then on, including from servers still using it. This cannot be undone.",
                                k.name
                            );
                            view! {
                                <Confirm summary="Revoke…" danger=true testid="revoke-key">
                                    <p>{consequence}</p>
                                    <ActionForm action=revoke attr:class="inline">
                                        <input type="hidden" name="id" value=id.clone()/>
                                        <button type="submit" class="danger small">"Revoke key"</button>
                                    </ActionForm>
                                </Confirm>
                            }
                        });
                        view! {
                            <tr class:revoked=revoked>
                                <td>{k.name.clone()}</td>
                                <td class="mono">{shown.clone()}</td>
                                <td>{k.role.as_str()}</td>
                                <td>{k.mode.clone()}</td>
                                <td>{k.last_used_at.as_ref().map(super::short_time).unwrap_or_else(|| "never".into())}</td>
                                <td>{super::short_time(&k.created_at)}</td>
                                <td>{if revoked { "revoked" } else { "active" }}</td>
                                <td>{revoke_form}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </TableWrap>
    }
}
