//! The signed-in frame: top bar with the tenant switcher, navigation, then the page.

use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};

use crate::{
    components::ErrorNote,
    domain::{dto::MeOut, Role},
    error::AppError,
    server_fns::{
        account::{current_user, Logout},
        tenants::SwitchTenant,
    },
};

/// The signed-in user, loaded once by the layout and shared with its pages.
#[derive(Clone, Copy)]
pub struct MeResource(pub Resource<Result<Option<MeOut>, AppError>>);

impl MeResource {
    /// The user's role in the active tenant.
    pub fn role_in_active(me: &MeOut) -> Option<Role> {
        let active = me.active_tenant.as_ref()?;
        me.tenants.iter().find(|t| &t.id == active).map(|t| t.role)
    }
}

#[component]
pub fn DashboardLayout() -> impl IntoView {
    let switch = ServerAction::<SwitchTenant>::new();
    let logout = ServerAction::<Logout>::new();
    let me = Resource::new(move || switch.version().get(), |_| current_user());
    provide_context(MeResource(me));

    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! { <SignedIn me switch logout/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="page"><ErrorNote error/></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignedIn(me: MeOut, switch: ServerAction<SwitchTenant>, logout: ServerAction<Logout>) -> impl IntoView {
    let active = me.active_tenant.clone();
    let options = me
        .tenants
        .iter()
        .map(|t| {
            let selected = Some(&t.id) == active.as_ref();
            view! { <option value=t.id.to_string() selected=selected>{t.name.clone()}" ("{t.role.as_str()}")"</option> }
        })
        .collect_view();
    let active_name = me
        .tenants
        .iter()
        .find(|t| Some(&t.id) == active.as_ref())
        .map(|t| t.name.clone())
        .unwrap_or_else(|| "No tenant".into());

    // After a successful switch every page must show the new tenant's data: reload it.
    Effect::new(move |_| {
        if let Some(Ok(_)) = switch.value().get() {
            #[cfg(feature = "hydrate")]
            let _ = leptos::prelude::window().location().reload();
        }
    });

    view! {
        <header class="topbar">
            <a class="brand" href="/">"paybus"</a>
            <ActionForm action=switch attr:class="switcher" attr:id="tenant-switcher">
                <label for="tenant_id" class="visually-hidden">"Active tenant"</label>
                <select id="tenant_id" name="tenant_id" aria-label="Active tenant">{options}</select>
                <button type="submit" class="secondary">"Switch"</button>
            </ActionForm>
            <span class="active-tenant" data-testid="active-tenant">{active_name}</span>
            <span class="spacer"></span>
            <span class="user-email">{me.user.email.to_string()}</span>
            <ActionForm action=logout attr:class="inline">
                <button type="submit" class="link">"Log out"</button>
            </ActionForm>
        </header>
        <div class="frame">
            <nav class="sidebar" aria-label="Main">
                <A href="/">"Overview"</A>
                <A href="/members">"Members"</A>
                <A href="/api-keys">"API keys"</A>
                <A href="/events">"Events"</A>
                <A href="/bus">"Event bus"</A>
                <A href="/rules">"Rules"</A>
                <A href="/payments">"Payments"</A>
                <A href="/disputes">"Disputes"</A>
                <A href="/refunds">"Refunds"</A>
                <A href="/customers">"Customers"</A>
                <A href="/subscriptions">"Subscriptions"</A>
                <A href="/invoices">"Invoices"</A>
                <A href="/currencies">"Currencies"</A>
                <A href="/webhooks">"Webhooks"</A>
                <A href="/webhook-endpoints">"Webhook endpoints"</A>
                <A href="/checkout">"Checkout"</A>
                <A href="/connect">"Connect"</A>
                <A href="/audit">"Audit log"</A>
                <A href="/audit-log">"Audit trail"</A>
                <A href="/plugins">"Plugins"</A>
                <A href="/risk">"Risk review"</A>
                <A href="/tax-rates">"Tax rates"</A>
                <A href="/settings">"Settings"</A>
                <A href="/tenants/new">"New tenant"</A>
                <a href="/dev/mail">"Dev mailbox"</a>
            </nav>
            <main class="page">
                {move || switch.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorNote error/> })}
                <Outlet/>
            </main>
        </div>
    }
}
