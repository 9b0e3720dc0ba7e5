//! Creating a tenant and accepting an invitation into one.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{ActionError, MeResource},
    server_fns::{members::AcceptInvitation, tenants::CreateTenant},
};

#[component]
pub fn NewTenantPage() -> impl IntoView {
    let create = ServerAction::<CreateTenant>::new();
    refresh_frame_on_success(create.value());
    view! {
        <h1>"New tenant"</h1>
        <p class="hint">"A tenant is a separate workspace with its own members, keys and payments. You will own it."</p>
        <ActionForm action=create attr:class="card form" attr:id="new-tenant-form">
            <label for="tenant-name">"Name"</label>
            <input id="tenant-name" name="name" required maxlength="100" placeholder="Acme Marketplace" autocomplete="organization"/>
            <button type="submit">"Create tenant"</button>
            <ActionError value=create.value()/>
        </ActionForm>
    }
}

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    refresh_frame_on_success(accept.value());
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    view! {
        <h1>"Join a tenant"</h1>
        <p>"You have been invited to a paybus tenant. Accepting adds it to your tenant switcher."</p>
        <ActionForm action=accept attr:class="card form" attr:id="accept-form">
            <input type="hidden" name="token" value=token/>
            <button type="submit">"Accept invitation"</button>
            <ActionError value=accept.value()/>
        </ActionForm>
    }
}

/// Both actions change the session's active tenant: reload the frame's user and tenant list so
/// the switcher shows it (the layout stays mounted across the redirect that follows).
fn refresh_frame_on_success<T, S>(value: S)
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, crate::error::AppError>>> + Send + Sync + 'static,
{
    let MeResource(me) = expect_context::<MeResource>();
    Effect::new(move |_| {
        if let Some(Ok(_)) = value.get() {
            me.refetch();
        }
    });
}
