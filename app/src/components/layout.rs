//! The signed-in frame: a "Skip to content" link, the top bar with the tenant switcher, the
//! navigation grouped by area, then the page.
//!
//! The navigation is drawn twice from one list: as a sidebar on wide screens and as a "Menu"
//! disclosure (`<details>`) in the top bar on narrow ones. CSS shows one of them (the other is
//! `display: none`, so also out of the accessibility tree); both work without script.

use leptos::prelude::*;
use leptos_router::{
    components::{Outlet, Redirect, A},
    hooks::use_location,
};

use crate::{
    components::{ErrorNote, Loading},
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

/// The navigation, by area: (heading, [(href, label)]). `None` is the ungrouped top.
pub const NAV: &[(Option<&str>, &[(&str, &str)])] = &[
    (None, &[("/", "Overview")]),
    (
        Some("Payments"),
        &[
            ("/payments", "Payments"),
            ("/disputes", "Disputes"),
            ("/refunds", "Refunds"),
            ("/risk", "Risk review"),
            ("/checkout", "Checkout"),
            ("/connect", "Connect"),
        ],
    ),
    (
        Some("Customers & billing"),
        &[
            ("/customers", "Customers"),
            ("/subscriptions", "Subscriptions"),
            ("/invoices", "Invoices"),
            ("/currencies", "Currencies"),
            ("/tax-rates", "Tax rates"),
        ],
    ),
    (
        Some("Developers"),
        &[
            ("/api-keys", "API keys"),
            ("/webhook-endpoints", "Webhook endpoints"),
            ("/webhooks", "Stripe webhooks"),
            ("/events", "Events"),
            ("/bus", "Event bus"),
            ("/rules", "Rules"),
            ("/plugins", "Plugins"),
        ],
    ),
    (
        Some("Settings"),
        &[
            ("/settings", "Settings"),
            ("/members", "Members"),
            ("/audit-log", "Audit log"),
            ("/audit", "Payment audit"),
            ("/tenants/new", "New tenant"),
        ],
    ),
];

/// A wide table scrolls inside its own box on a narrow screen, never the page. Focusable and
/// named, so keyboard users can scroll it too.
#[component]
pub fn TableWrap(#[prop(into)] label: String, children: Children) -> impl IntoView {
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label=label>
            {children()}
        </div>
    }
}

#[component]
pub fn DashboardLayout() -> impl IntoView {
    let switch = ServerAction::<SwitchTenant>::new();
    let logout = ServerAction::<Logout>::new();
    let me = Resource::new(move || switch.version().get(), |_| current_user());
    provide_context(MeResource(me));

    view! {
        <Suspense fallback=|| view! { <main class="page" id="main"><Loading/></main> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! { <SignedIn me switch logout/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="page" id="main"><ErrorNote error/></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The grouped links; `A` marks the current page with `aria-current="page"`.
#[component]
fn NavLinks() -> impl IntoView {
    NAV.iter()
        .map(|(heading, links)| {
            let items = links.iter().map(|(href, label)| view! { <li><A href=*href>{*label}</A></li> }).collect_view();
            view! {
                <div class="nav-group">
                    {heading.map(|h| view! { <p class="nav-heading">{h}</p> })}
                    <ul>{items}</ul>
                </div>
            }
        })
        .collect_view()
        .into_any()
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

    // The narrow screens' menu closes once a link in it has been followed.
    let menu = NodeRef::<leptos::html::Details>::new();
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        if let Some(menu) = menu.get_untracked() {
            let _ = menu.remove_attribute("open");
        }
    });

    // Type-erased in parts: the whole frame as one view type is too deep for the wasm build.
    let header = view! {
        <header class="topbar">
            <a class="brand" href="/">"paybus"</a>
            <div class="tenant">
                <ActionForm action=switch attr:class="switcher" attr:id="tenant-switcher">
                    <label for="tenant_id" class="visually-hidden">"Active tenant"</label>
                    <select id="tenant_id" name="tenant_id">{options}</select>
                    <button type="submit" class="secondary">"Switch"</button>
                </ActionForm>
                <span class="active-tenant" data-testid="active-tenant">{active_name}</span>
                {me.tenants.iter().any(|t| t.is_demo && Some(&t.id) == active.as_ref()).then(|| view! {
                    <span class="badge badge-demo" data-testid="demo-badge" title="Seeded sample data: `paybus demo seed` re-creates it">"Demo data"</span>
                })}
            </div>
            <span class="spacer"></span>
            <span class="user-email">{me.user.email.to_string()}</span>
            <ActionForm action=logout attr:class="inline logout">
                <button type="submit" class="link">"Log out"</button>
            </ActionForm>
            <details class="nav-menu" node_ref=menu>
                <summary>"Menu"</summary>
                <nav class="nav-menu-panel" aria-label="Main">
                    <NavLinks/>
                    <a href="/dev/mail" class="nav-extra">"Dev mailbox"</a>
                </nav>
            </details>
        </header>
    }
    .into_any();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        {header}
        <div class="frame">
            {view! {
                <nav class="sidebar" aria-label="Main">
                    <NavLinks/>
                    <a href="/dev/mail" class="nav-extra">"Dev mailbox"</a>
                </nav>
            }.into_any()}
            <main class="page" id="main" tabindex="-1">
                {move || switch.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorNote error/> })}
                <Outlet/>
            </main>
        </div>
    }
}
