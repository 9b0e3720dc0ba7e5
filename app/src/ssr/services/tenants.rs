//! Tenants seen from a user: which they belong to, creating one, choosing the active one.

use crate::{
    domain::{dto::*, Action, Name, PrefixedId, Role, TenantId, UserId},
    error::{AppError, AppResult},
    ssr::{
        auth::{Principal, TenantAccess},
        db::{memberships, tenants, users},
        bus::EventContext,
        ids::new_id,
        time_util::{from_ms, now_ms},
        AppState,
    },
};

use super::convert;
use crate::domain::events::{payloads::*, DomainEvent};

pub async fn tenants_of(state: &AppState, user_id: &UserId) -> AppResult<Vec<TenantOut>> {
    memberships::tenants_of_user(&state.db.pool, user_id.as_str()).await?.iter().map(convert::tenant).collect()
}

/// The signed-in user, their tenants, and the tenant this request acts in.
pub async fn me(state: &AppState, principal: &Principal, active: Option<&TenantAccess>) -> AppResult<MeOut> {
    let user_id = principal.require_user()?;
    let user = users::find(&state.db.pool, user_id.as_str())
        .await?
        .ok_or_else(|| AppError::unauthenticated("authentication_required", "This account no longer exists."))?;
    Ok(MeOut {
        user: convert::user(&user)?,
        tenants: tenants_of(state, user_id).await?,
        active_tenant: active.map(|a| a.tenant_id.clone()),
    })
}

/// The tenants a principal can act in: all of a user's, or an API key's one.
pub async fn list(state: &AppState, principal: &Principal) -> AppResult<List<TenantOut>> {
    match principal {
        Principal::User { user_id, .. } => Ok(List::new(tenants_of(state, user_id).await?, false)),
        Principal::ApiKey { tenant_id, role, .. } => {
            let row = tenants::find(&state.db.pool, tenant_id.as_str()).await?.ok_or_else(|| AppError::not_found("tenant"))?;
            Ok(List::new(
                vec![TenantOut { id: tenant_id.clone(), name: row.name, role: *role, created_at: from_ms(row.created_at), is_demo: row.is_demo != 0 }],
                false,
            ))
        }
    }
}

pub async fn current(state: &AppState, access: &TenantAccess) -> AppResult<TenantOut> {
    access.require(Action::TenantRead)?;
    let row = tenants::find(&state.db.pool, access.tenant_id.as_str()).await?.ok_or_else(|| AppError::not_found("tenant"))?;
    Ok(TenantOut { id: access.tenant_id.clone(), name: row.name, role: access.role, created_at: from_ms(row.created_at), is_demo: row.is_demo != 0 })
}

pub async fn rename(state: &AppState, access: &TenantAccess, name: Name) -> AppResult<TenantOut> {
    access.require(Action::TenantUpdate)?;
    let mut tx = state.db.begin().await?;
    tenants::rename(&mut *tx, access.tenant_id.as_str(), name.as_str()).await?;
    let payload = TenantChanged { tenant_id: access.tenant_id.to_string(), name: name.as_str().to_owned() };
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::OrgTenantUpdated(payload)).await?;
    state.bus.commit(tx).await?;
    current(state, access).await
}

/// A new tenant owned by the user.
pub async fn create(state: &AppState, principal: &Principal, name: Name) -> AppResult<TenantOut> {
    let user_id = principal.require_user()?;
    let (tenant_id, now) = (new_id::<TenantId>(), now_ms());
    let mut tx = state.db.begin().await?;
    tenants::insert(&mut *tx, tenant_id.as_str(), name.as_str(), now).await?;
    memberships::insert(&mut *tx, tenant_id.as_str(), user_id.as_str(), Role::Owner.as_str(), now).await?;
    let payload = TenantChanged { tenant_id: tenant_id.to_string(), name: name.as_str().to_owned() };
    state.bus.publish(&mut tx, &EventContext::for_principal(principal, Some(tenant_id.clone())), DomainEvent::OrgTenantCreated(payload)).await?;
    state.bus.commit(tx).await?;
    Ok(TenantOut { id: tenant_id, name: name.as_str().to_owned(), role: Role::Owner, created_at: from_ms(now), is_demo: false })
}

/// Checks that the user may switch to `tenant_id` (a member there); returns it with their role.
pub async fn switchable(state: &AppState, principal: &Principal, tenant_id: &str) -> AppResult<TenantOut> {
    let user_id = principal.require_user()?;
    let tenant_id = TenantId::parse(tenant_id).map_err(|e| AppError::invalid("tenant_id_invalid", e.to_string(), Some("tenant_id")))?;
    tenants_of(state, user_id)
        .await?
        .into_iter()
        .find(|t| t.id == tenant_id)
        .ok_or_else(|| AppError::forbidden("tenant_forbidden", "You are not a member of that tenant."))
}

/// Makes `tenant` the user's default (the one JWT clients land in without `X-Tenant-Id`).
pub async fn set_default(state: &AppState, principal: &Principal, tenant_id: &str) -> AppResult<TenantOut> {
    let tenant = switchable(state, principal, tenant_id).await?;
    users::set_default_tenant(&state.db.pool, principal.require_user()?.as_str(), tenant.id.as_str()).await?;
    Ok(tenant)
}

