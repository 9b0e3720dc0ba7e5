//! Creating a tenant and accepting an invitation into one.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    components::ActionError,
    server_fns::{members::AcceptInvitation, tenants::CreateTenant},
};

#[component]
pub fn NewTenantPage() -> impl IntoView {
    let create = ServerAction::<CreateTenant>::new();
    view! {
        <h1>"New tenant"</h1>
        <p class="hint">"A tenant is a separate workspace with its own members, keys and payments. You will own it."</p>
        <ActionForm action=create attr:class="card form" attr:id="new-tenant-form">
            <label for="tenant-name">"Name"</label>
            <input id="tenant-name" name="name" required maxlength="100" placeholder="Acme Marketplace"/>
            <button type="submit">"Create tenant"</button>
            <ActionError value=create.value()/>
        </ActionForm>
    }
}

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
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
