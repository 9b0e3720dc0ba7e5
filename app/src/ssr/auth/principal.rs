//! Resolving a request to a principal (a user or an API key) and a tenant it may act in.
//!
//! Credentials, in order: `X-API-Key: sk_…`, `Authorization: Bearer sk_…` (API key),
//! `Authorization: Bearer <jwt>` (user), the browser session cookie (user). The tenant comes from
//! `X-Tenant-Id`, else the session's active tenant, else the user's default tenant. An API key is
//! bound to its tenant: a different `X-Tenant-Id` is rejected, never silently ignored.

use crate::{
    domain::{Action, ApiKeyId, PrefixedId, Role, TenantId, UserId},
    error::AppError,
    ssr::{
        db::{api_keys, memberships, users},
        time_util::now_ms,
        AppState,
    },
};
use http::HeaderMap;
use tower_sessions::Session;

use super::tokens::sha256_hex;

pub const SESSION_USER_KEY: &str = "user_id";
pub const SESSION_TENANT_KEY: &str = "tenant_id";
pub const TENANT_HEADER: &str = "x-tenant-id";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Jwt,
    Session,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User { user_id: UserId, credential: Credential },
    ApiKey { key_id: ApiKeyId, tenant_id: TenantId, role: Role },
}

impl Principal {
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Principal::User { user_id, .. } => Some(user_id),
            Principal::ApiKey { .. } => None,
        }
    }

    /// Actions on the user's own account (create a tenant, accept an invitation) need a user.
    pub fn require_user(&self) -> Result<&UserId, AppError> {
        self.user_id().ok_or_else(|| AppError::forbidden("user_required", "This action needs a user login, not an API key."))
    }

    pub fn actor(&self) -> Actor {
        match self {
            Principal::User { user_id, .. } => Actor { id: user_id.to_string(), kind: ActorKind::User },
            Principal::ApiKey { key_id, .. } => Actor { id: key_id.to_string(), kind: ActorKind::ApiKey },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    ApiKey,
    System,
}

/// Who did something, for audit trails and event envelopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub kind: ActorKind,
}

/// A principal's standing in one tenant. Services take this and ask [`require`](Self::require)
/// before they act; every query they run is scoped by `tenant_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantAccess {
    pub tenant_id: TenantId,
    pub role: Role,
    pub principal: Principal,
}

impl TenantAccess {
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        if self.role.can(action) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "insufficient_role",
                format!("Your role ({}) does not allow this action.", self.role),
            ))
        }
    }
}

fn unauthenticated() -> AppError {
    AppError::unauthenticated("authentication_required", "Log in or send an API key to use this endpoint.")
}

/// The principal behind the request, if any credential was sent. A credential that was sent but
/// is wrong is an error, not an anonymous request.
pub async fn authenticate(state: &AppState, headers: &HeaderMap, session: Option<&Session>) -> Result<Option<Principal>, AppError> {
    if let Some(key) = header_str(headers, "x-api-key")? {
        return api_key_principal(state, key).await.map(Some);
    }
    if let Some(auth) = header_str(headers, "authorization")? {
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| AppError::unauthenticated("authorization_malformed", "Use `Authorization: Bearer <token>`."))?;
        if token.starts_with("sk_") {
            return api_key_principal(state, token).await.map(Some);
        }
        let user_id = state.jwt.verify(token)?;
        return Ok(Some(Principal::User { user_id, credential: Credential::Jwt }));
    }
    if let Some(session) = session {
        let user_id: Option<String> = session.get(SESSION_USER_KEY).await.map_err(session_error)?;
        if let Some(user_id) = user_id.and_then(|id| UserId::parse(&id).ok()) {
            if users::find(&state.db.pool, user_id.as_str()).await?.is_some() {
                return Ok(Some(Principal::User { user_id, credential: Credential::Session }));
            }
            session.flush().await.map_err(session_error)?;
        }
    }
    Ok(None)
}

pub async fn require_principal(state: &AppState, headers: &HeaderMap, session: Option<&Session>) -> Result<Principal, AppError> {
    authenticate(state, headers, session).await?.ok_or_else(unauthenticated)
}

async fn api_key_principal(state: &AppState, secret: &str) -> Result<Principal, AppError> {
    let invalid = || AppError::unauthenticated("api_key_invalid", "The API key is invalid or has been revoked.");
    if !secret.starts_with("sk_") {
        return Err(invalid());
    }
    let row = api_keys::find_active_by_hash(&state.db.pool, &sha256_hex(secret)).await?.ok_or_else(invalid)?;
    api_keys::touch(&state.db.pool, &row.id, now_ms()).await?;
    Ok(Principal::ApiKey {
        key_id: ApiKeyId::from_trusted(row.id),
        tenant_id: TenantId::from_trusted(row.tenant_id),
        role: Role::parse(&row.role).ok_or(AppError::Internal)?,
    })
}

/// The tenant this request acts in, and the principal's role there.
pub async fn tenant_access(
    state: &AppState,
    principal: Principal,
    headers: &HeaderMap,
    session: Option<&Session>,
) -> Result<TenantAccess, AppError> {
    let requested = match header_str(headers, TENANT_HEADER)? {
        Some(raw) => Some(
            TenantId::parse(raw).map_err(|e| AppError::invalid("tenant_id_invalid", e.to_string(), Some("X-Tenant-Id")))?,
        ),
        None => None,
    };
    match &principal {
        Principal::ApiKey { tenant_id, role, .. } => {
            if requested.as_ref().is_some_and(|t| t != tenant_id) {
                return Err(AppError::forbidden(
                    "tenant_mismatch",
                    "This API key belongs to another tenant than the X-Tenant-Id sent.",
                ));
            }
            Ok(TenantAccess { tenant_id: tenant_id.clone(), role: *role, principal: principal.clone() })
        }
        Principal::User { user_id, credential } => {
            if let Some(tenant_id) = requested {
                let membership = memberships::find(&state.db.pool, tenant_id.as_str(), user_id.as_str())
                    .await?
                    .ok_or_else(|| AppError::forbidden("tenant_forbidden", "You are not a member of that tenant."))?;
                let role = Role::parse(&membership.role).ok_or(AppError::Internal)?;
                return Ok(TenantAccess { tenant_id, role, principal: principal.clone() });
            }
            let preferred = match (credential, session) {
                (Credential::Session, Some(session)) => session.get::<String>(SESSION_TENANT_KEY).await.map_err(session_error)?,
                _ => None,
            };
            let default = users::find(&state.db.pool, user_id.as_str()).await?.and_then(|u| u.default_tenant_id);
            let tenants = memberships::tenants_of_user(&state.db.pool, user_id.as_str()).await?;
            let chosen = [preferred, default]
                .into_iter()
                .flatten()
                .find_map(|want| tenants.iter().find(|t| t.id == want))
                .or_else(|| tenants.first())
                .ok_or_else(|| AppError::forbidden("no_tenant", "You are not a member of any tenant yet; create one first."))?;
            Ok(TenantAccess {
                tenant_id: TenantId::from_trusted(chosen.id.clone()),
                role: Role::parse(&chosen.role).ok_or(AppError::Internal)?,
                principal: principal.clone(),
            })
        }
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AppError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| AppError::invalid("header_invalid", format!("The {name} header is not valid text."), Some(name))),
    }
}

pub fn session_error(err: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %err, "session store failure");
    AppError::Unavailable { message: "The session store is unavailable; try again shortly.".into() }
}
