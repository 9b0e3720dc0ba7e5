//! The OpenAPI document, generated from the handlers' annotations and the DTOs.

use app::ssr::AppState;
use axum::{routing::get, Json, Router};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{analytics, api_keys, audit_log, customer_activity, events, health, identity, members, payments, plugins, risk, rules, settings, stripe_out, tax, tenants, webhook_endpoints};

#[derive(OpenApi)]
#[openapi(
    info(title = "paybus API", description = "Multi-tenant payment-event processor. Errors are `{ \"error\": { \"type\", \"code\", \"message\", \"param\"? } }`; lists are `{ \"object\": \"list\", \"data\", \"has_more\" }` with `limit`, `starting_after`, `ending_before`."),
    paths(
        health::readiness,
        identity::signup, identity::verify_email, identity::verify_email_code, identity::resend_verification,
        identity::login, identity::refresh, identity::logout, identity::me, identity::dev_mailbox,
        tenants::list, tenants::create, tenants::current, tenants::update, tenants::set_default,
        members::list, members::change_role, members::remove, members::list_invitations, members::invite,
        members::revoke_invitation, members::accept,
        api_keys::create, api_keys::list, api_keys::revoke,
        events::list, events::detail, events::deliveries, events::delivery, events::retry,
        events::start_replay, events::replay, events::replays, events::stats,
        payments::list, payments::detail, payments::timeline, payments::refunds, payments::disputes, payments::dispute,
        payments::webhook_events, payments::export_payments, payments::export_refunds, payments::export_disputes,
        stripe_out::create_connect_account, stripe_out::connect_account, stripe_out::create_account_link, stripe_out::express_login_link,
        stripe_out::create_checkout_session, stripe_out::list_checkout_sessions, stripe_out::create_product, stripe_out::list_products,
        stripe_out::product, stripe_out::capture, stripe_out::cancel, stripe_out::create_refund,
        stripe_out::reconciliation_runs, stripe_out::reconcile_now,
        settings::get_settings, settings::update_settings, settings::settings_audit, settings::audit_log, settings::export_audit_log, settings::reprocess_event, settings::reprocess_unparsed,
    ),
    modifiers(&Security),
    security(("bearer" = []), ("api_key" = [])),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("A JWT access token or an sk_ API key")).build()),
        );
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

/// Newer resources keep their paths in their own module's `Doc` (fewer edits to one list);
/// merged here into one document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(plugins::Doc::openapi());
    doc.merge(audit_log::Doc::openapi());
    doc.merge(rules::Doc::openapi());
    doc.merge(customer_activity::Doc::openapi());
    doc.merge(analytics::Doc::openapi());
    doc.merge(webhook_endpoints::Doc::openapi());
    doc.merge(risk::Doc::openapi());
    doc.merge(tax::Doc::openapi());
    doc.merge(super::billing::Doc::openapi());
    doc.merge(super::customers::Doc::openapi());
    doc
}

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(document()) }))
}
