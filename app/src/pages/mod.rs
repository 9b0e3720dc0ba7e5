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
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use crate::components::DashboardLayout;

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
    // Marks the document once the wasm bundle has taken over (end-to-end tests wait for it).
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = leptos::prelude::document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/paybus.css"/>
        <Title text="paybus"/>
        <Router>
            <Routes fallback=|| view! { <main class="page narrow"><h1>"Page not found"</h1><p><a href="/">"Back to the dashboard"</a></p></main> }>
                // Every page is rendered whole on the server (`Async`: the response waits for the
                // page's data) rather than streamed out of order, where the data arrives in
                // scripts: so a page reads, and its forms post, with JavaScript off. A child route
                // inherits the parent's mode.
                <Route path=path!("/login") view=account::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/signup") view=account::SignupPage ssr=SsrMode::Async/>
                <Route path=path!("/verify-email-code") view=account::VerifyCodePage ssr=SsrMode::Async/>
                <Route path=path!("/dev/mail") view=account::DevMailPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=DashboardLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=overview::OverviewPage/>
                    <Route path=path!("/members") view=members::MembersPage/>
                    <Route path=path!("/api-keys") view=api_keys::ApiKeysPage/>
                    <Route path=path!("/events") view=events::EventsPage/>
                    // Routes match in order, and a route matches only the whole path, so
                    // `/events/:id` could not take `/events/replays/…` anyway; listed first, the
                    // longer route makes that plain.
                    <Route path=path!("/events/replays/:id") view=events::ReplayPage/>
                    <Route path=path!("/events/:id") view=events::EventDetailPage/>
                    <Route path=path!("/bus") view=bus_stats::BusStatsPage/>
                    <Route path=path!("/payments") view=payments::PaymentsPage/>
                    <Route path=path!("/payments/:id") view=payments::PaymentDetailPage/>
                    <Route path=path!("/disputes") view=payments::DisputesPage/>
                    <Route path=path!("/disputes/:id") view=payments::DisputeDetailPage/>
                    <Route path=path!("/refunds") view=payments::RefundsPage/>
                    <Route path=path!("/webhooks") view=payments::WebhooksPage/>
                    <Route path=path!("/customers") view=customers::CustomersPage/>
                    // A Stripe customer (`cst_…`) or, for the activity plugin, an email address.
                    <Route path=path!("/customers/:email") view=balances::CustomerRoute/>
                    <Route path=path!("/currencies") view=balances::CurrenciesPage/>
                    <Route path=path!("/webhook-endpoints") view=webhook_endpoints::WebhookEndpointsPage/>
                    <Route path=path!("/webhook-endpoints/:id") view=webhook_endpoints::WebhookEndpointDetailPage/>
                    <Route path=path!("/connect") view=connect::ConnectPage/>
                    <Route path=path!("/checkout") view=checkout::CheckoutPage/>
                    <Route path=path!("/rules") view=rules::RulesPage/>
                    <Route path=path!("/rules/:id") view=rules::RuleEditorPage/>
                    <Route path=path!("/settings") view=settings::SettingsPage/>
                    <Route path=path!("/plugins") view=plugins::PluginsPage/>
                    <Route path=path!("/risk") view=risk::RiskReviewPage/>
                    <Route path=path!("/audit") view=settings::PaymentAuditPage/>
                    <Route path=path!("/audit-log") view=audit_log::AuditLogPage/>
                    <Route path=path!("/tax-rates") view=tax_rates::TaxRatesPage/>
                    <Route path=path!("/invoices/:id/tax") view=tax_rates::InvoiceTaxPage/>
                    <Route path=path!("/tenants/new") view=tenants::NewTenantPage/>
                    <Route path=path!("/invitations/accept") view=tenants::AcceptInvitationPage/>
                    <Route path=path!("/subscriptions") view=billing::SubscriptionsPage/>
                    <Route path=path!("/invoices") view=billing::InvoicesPage/>
                </ParentRoute>
            </Routes>
        </Router>
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
