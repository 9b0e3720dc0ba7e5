//! Who caused an event and through which door: filled from the principal and from the request
//! the service runs in (request id, IP, user agent), so services only say what happened.

use crate::{
    domain::{
        events::{ActorType, EventMetadata, EventSource},
        TenantId, UserId,
    },
    ssr::auth::{ActorKind, Principal, TenantAccess},
};

/// What the HTTP layer knows about the request being served. Set once per request by middleware
/// (a task-local), read when an event is published inside it.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub source: Option<EventSource>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

tokio::task_local! {
    pub static REQUEST_META: RequestMeta;
}

fn metadata(default_source: EventSource) -> EventMetadata {
    match REQUEST_META.try_with(|m| m.clone()) {
        Ok(m) => EventMetadata { request_id: m.request_id, source: m.source.unwrap_or(default_source), ip: m.ip, user_agent: m.user_agent },
        Err(_) => EventMetadata { request_id: None, source: default_source, ip: None, user_agent: None },
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventContext {
    pub tenant_id: Option<TenantId>,
    pub actor: Option<String>,
    pub actor_type: ActorType,
    pub metadata: EventMetadata,
}

impl EventContext {
    /// A principal acting in one of its tenants.
    pub fn for_access(access: &TenantAccess) -> Self {
        Self::for_principal(&access.principal, Some(access.tenant_id.clone()))
    }

    pub fn for_principal(principal: &Principal, tenant: Option<TenantId>) -> Self {
        let actor = principal.actor();
        let actor_type = match actor.kind {
            ActorKind::User => ActorType::User,
            ActorKind::ApiKey => ActorType::ApiKey,
            ActorKind::System => ActorType::System,
        };
        Self { tenant_id: tenant, actor: Some(actor.id), actor_type, metadata: metadata(EventSource::Api) }
    }

    /// A user acting on their own account (signing up, verifying an email).
    pub fn for_user(user: &UserId, tenant: Option<TenantId>) -> Self {
        Self { tenant_id: tenant, actor: Some(user.to_string()), actor_type: ActorType::User, metadata: metadata(EventSource::Api) }
    }

    /// paybus itself (the bus, a scheduled job, the CLI).
    pub fn system(tenant: Option<TenantId>) -> Self {
        Self { tenant_id: tenant, actor: None, actor_type: ActorType::System, metadata: metadata(EventSource::System) }
    }

    /// Stripe, through a verified webhook.
    pub fn webhook(tenant: Option<TenantId>, stripe_event_id: &str) -> Self {
        Self {
            tenant_id: tenant,
            actor: Some(stripe_event_id.to_owned()),
            actor_type: ActorType::Webhook,
            metadata: metadata(EventSource::Webhook),
        }
    }
}
