//! The dashboard: one file per area. Every form is an `ActionForm`, so it posts to its server
//! function and works before the wasm bundle has hydrated the page.

mod account;
mod api_keys;
mod audit_log;
mod bus_stats;
mod checkout;
mod connect;
mod customers;
mod events;
mod members;
// Shared by the developer and operations pages (issue 8).
mod ops_ui;
mod overview;
mod payment_actions;
mod payments;
mod rules;
mod plugins;
mod risk;
mod settings;
mod tax_rates;
mod tenants;
mod webhook_endpoints;
// Recurring billing (issue 7).
mod billing;
// Customer balances and currencies (issue 7).
mod balances;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Form, ParentRoute, Route, Router, Routes},
    path, Lazy, SsrMode,
};

use crate::components::DashboardLayout;

/// Every dashboard page is its own wasm chunk, loaded when the router first needs it (built with
/// `cargo leptos build --split`): the bundle a merchant downloads to use the overview holds the
/// reactive runtime, the layout and the overview, not the forty other pages. On the server, and
/// in a build without `--split`, a lazy route is just the page.
mod lazy {
    use leptos::prelude::*;
    use leptos_router::{lazy_route, LazyRoute};

    macro_rules! lazy_pages {
        ($($route:ident => $page:path),* $(,)?) => {$(
            pub struct $route;

            #[lazy_route]
            impl LazyRoute for $route {
                // The pages start loading their own data; nothing to fetch before the chunk arrives.
                fn data() -> Self {
                    $route
                }

                fn view(this: Self) -> AnyView {
                    let _ = this;
                    view! { {untrack(|| $page())} <super::HydrationMark/> }.into_any()
                }
            }
        )*};
    }

    lazy_pages! {
        LoginRoute => super::account::LoginPage,
        SignupRoute => super::account::SignupPage,
        VerifyCodeRoute => super::account::VerifyCodePage,
        DevMailRoute => super::account::DevMailPage,
        OverviewRoute => super::overview::OverviewPage,
        MembersRoute => super::members::MembersPage,
        ApiKeysRoute => super::api_keys::ApiKeysPage,
        EventsRoute => super::events::EventsPage,
        ReplayRoute => super::events::ReplayPage,
        EventDetailRoute => super::events::EventDetailPage,
        BusStatsRoute => super::bus_stats::BusStatsPage,
        PaymentsRoute => super::payments::PaymentsPage,
        PaymentDetailRoute => super::payments::PaymentDetailPage,
        DisputesRoute => super::payments::DisputesPage,
        DisputeDetailRoute => super::payments::DisputeDetailPage,
        RefundsRoute => super::payments::RefundsPage,
        WebhooksRoute => super::payments::WebhooksPage,
        CustomersRoute => super::customers::CustomersPage,
        CustomerRouteLazy => super::balances::CustomerRoute,
        CurrenciesRoute => super::balances::CurrenciesPage,
        WebhookEndpointsRoute => super::webhook_endpoints::WebhookEndpointsPage,
        WebhookEndpointDetailRoute => super::webhook_endpoints::WebhookEndpointDetailPage,
        ConnectRoute => super::connect::ConnectPage,
        CheckoutRoute => super::checkout::CheckoutPage,
        RulesRoute => super::rules::RulesPage,
        RuleEditorRoute => super::rules::RuleEditorPage,
        SettingsRoute => super::settings::SettingsPage,
        PluginsRoute => super::plugins::PluginsPage,
        RiskReviewRoute => super::risk::RiskReviewPage,
        PaymentAuditRoute => super::settings::PaymentAuditPage,
        AuditLogRoute => super::audit_log::AuditLogPage,
        TaxRatesRoute => super::tax_rates::TaxRatesPage,
        InvoiceTaxRoute => super::tax_rates::InvoiceTaxPage,
        NewTenantRoute => super::tenants::NewTenantPage,
        AcceptInvitationRoute => super::tenants::AcceptInvitationPage,
        SubscriptionsRoute => super::billing::SubscriptionsPage,
        InvoicesRoute => super::billing::InvoicesPage,
    }
}

/// Marks `<body data-hydrated="true">` once the page has hydrated (end-to-end tests and the
/// time-to-interactive benchmark wait for it). It sits at the end of each page rather than in
/// `App`: a page arrives in its own chunk after the shell has hydrated, and its click handlers
/// only run from the moment this effect does.
#[component]
fn HydrationMark() -> impl IntoView {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = leptos::prelude::document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/paybus.css"/>
        <Title text="paybus"/>
        <Router>
            <Routes fallback=|| view! { <main class="page narrow"><h1>"Page not found"</h1><p><a href="/">"Back to the dashboard"</a></p></main><HydrationMark/> }>
                // Every page is rendered whole on the server (`Async`: the response waits for the
                // page's data) rather than streamed out of order, where the data arrives in
                // scripts: so a page reads, and its forms post, with JavaScript off. A child route
                // inherits the parent's mode.
                <Route path=path!("/login") view={Lazy::<lazy::LoginRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/signup") view={Lazy::<lazy::SignupRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/verify-email-code") view={Lazy::<lazy::VerifyCodeRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/dev/mail") view={Lazy::<lazy::DevMailRoute>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=DashboardLayout ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<lazy::OverviewRoute>::new()}/>
                    <Route path=path!("/members") view={Lazy::<lazy::MembersRoute>::new()}/>
                    <Route path=path!("/api-keys") view={Lazy::<lazy::ApiKeysRoute>::new()}/>
                    <Route path=path!("/events") view={Lazy::<lazy::EventsRoute>::new()}/>
                    // Routes match in order, and a route matches only the whole path, so
                    // `/events/:id` could not take `/events/replays/…` anyway; listed first, the
                    // longer route makes that plain.
                    <Route path=path!("/events/replays/:id") view={Lazy::<lazy::ReplayRoute>::new()}/>
                    <Route path=path!("/events/:id") view={Lazy::<lazy::EventDetailRoute>::new()}/>
                    <Route path=path!("/bus") view={Lazy::<lazy::BusStatsRoute>::new()}/>
                    <Route path=path!("/payments") view={Lazy::<lazy::PaymentsRoute>::new()}/>
                    <Route path=path!("/payments/:id") view={Lazy::<lazy::PaymentDetailRoute>::new()}/>
                    <Route path=path!("/disputes") view={Lazy::<lazy::DisputesRoute>::new()}/>
                    <Route path=path!("/disputes/:id") view={Lazy::<lazy::DisputeDetailRoute>::new()}/>
                    <Route path=path!("/refunds") view={Lazy::<lazy::RefundsRoute>::new()}/>
                    <Route path=path!("/webhooks") view={Lazy::<lazy::WebhooksRoute>::new()}/>
                    <Route path=path!("/customers") view={Lazy::<lazy::CustomersRoute>::new()}/>
                    // A Stripe customer (`cst_…`) or, for the activity plugin, an email address.
                    <Route path=path!("/customers/:email") view={Lazy::<lazy::CustomerRouteLazy>::new()}/>
                    <Route path=path!("/currencies") view={Lazy::<lazy::CurrenciesRoute>::new()}/>
                    <Route path=path!("/webhook-endpoints") view={Lazy::<lazy::WebhookEndpointsRoute>::new()}/>
                    <Route path=path!("/webhook-endpoints/:id") view={Lazy::<lazy::WebhookEndpointDetailRoute>::new()}/>
                    <Route path=path!("/connect") view={Lazy::<lazy::ConnectRoute>::new()}/>
                    <Route path=path!("/checkout") view={Lazy::<lazy::CheckoutRoute>::new()}/>
                    <Route path=path!("/rules") view={Lazy::<lazy::RulesRoute>::new()}/>
                    <Route path=path!("/rules/:id") view={Lazy::<lazy::RuleEditorRoute>::new()}/>
                    <Route path=path!("/settings") view={Lazy::<lazy::SettingsRoute>::new()}/>
                    <Route path=path!("/plugins") view={Lazy::<lazy::PluginsRoute>::new()}/>
                    <Route path=path!("/risk") view={Lazy::<lazy::RiskReviewRoute>::new()}/>
                    <Route path=path!("/audit") view={Lazy::<lazy::PaymentAuditRoute>::new()}/>
                    <Route path=path!("/audit-log") view={Lazy::<lazy::AuditLogRoute>::new()}/>
                    <Route path=path!("/tax-rates") view={Lazy::<lazy::TaxRatesRoute>::new()}/>
                    <Route path=path!("/invoices/:id/tax") view={Lazy::<lazy::InvoiceTaxRoute>::new()}/>
                    <Route path=path!("/tenants/new") view={Lazy::<lazy::NewTenantRoute>::new()}/>
                    <Route path=path!("/invitations/accept") view={Lazy::<lazy::AcceptInvitationRoute>::new()}/>
                    <Route path=path!("/subscriptions") view={Lazy::<lazy::SubscriptionsRoute>::new()}/>
                    <Route path=path!("/invoices") view={Lazy::<lazy::InvoicesRoute>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A list page's status filter: a GET form with one select (`?status=…`), so it works without
/// script and the list follows the URL. `humanize` labels `needs_response` as "needs response",
/// as the page's own badges do.
#[component]
fn StatusFilter(
    path: &'static str,
    form_id: &'static str,
    statuses: &'static [&'static str],
    current: Signal<Option<String>>,
    #[prop(optional)] humanize: bool,
) -> impl IntoView {
    let options = statuses
        .iter()
        .map(|s| {
            let label = if humanize { s.replace('_', " ") } else { (*s).to_owned() };
            view! { <option value=*s selected=move || current.get().as_deref() == Some(*s)>{label}</option> }
        })
        .collect_view();
    let select_id = format!("{form_id}-status");
    view! {
        <Form method="get" action=path on_form_data=events::drop_empty_fields(&["status"]) attr:class="card form row" attr:id=form_id>
            <div>
                <label for=select_id.clone()>"Status"</label>
                <select id=select_id name="status">
                    <option value="" selected=move || current.get().is_none()>"Any status"</option>
                    {options}
                </select>
            </div>
            <button type="submit">"Filter"</button>
            <a href=path class="clear-filters">"Clear"</a>
        </Form>
    }
}

/// `2026-11-22 14:03` (UTC) for tables.
pub(crate) fn short_time(t: &time::OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute())
}

/// An action's last result when it went through, for a success [`Toast`](crate::components::Toast)
/// (a failure shows next to its form instead).
pub(crate) fn succeeded<T, S>(value: S) -> Signal<Option<Result<T, crate::error::AppError>>>
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, crate::error::AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().filter(Result::is_ok))
}
