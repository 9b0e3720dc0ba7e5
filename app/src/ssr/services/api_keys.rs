//! `sk_test_…` / `sk_live_…` keys: created with a role no higher than their creator's, shown
//! once, stored as a SHA-256 hash, listed by prefix and last four characters.

use crate::{
    domain::{dto::*, Action, ApiKeyId, Name, PrefixedId, Role},
    error::{AppError, AppResult},
    ssr::{
        auth::{tokens, TenantAccess},
        db::{api_keys, PageParams},
        ids::new_id,
        bus::EventContext,
        time_util::now_ms,
        AppState,
    },
};

use super::convert;
use crate::domain::events::{payloads::ApiKeyChanged, DomainEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    Test,
    Live,
}

impl KeyMode {
    pub fn parse(raw: Option<&str>) -> AppResult<Self> {
        match raw.unwrap_or("test") {
            "test" => Ok(Self::Test),
            "live" => Ok(Self::Live),
            other => Err(AppError::invalid("parameter_invalid", format!("mode must be test or live, not `{other}`"), Some("mode"))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Live => "live",
        }
    }
}

pub async fn create(state: &AppState, access: &TenantAccess, name: Name, role: Role, mode: KeyMode) -> AppResult<ApiKeyCreated> {
    access.require(Action::ApiKeysCreate)?;
    if !access.role.at_least(role) {
        return Err(AppError::forbidden("role_too_high", format!("A {} cannot create a key with the {} role.", access.role, role)));
    }
    let secret = tokens::new_secret(&format!("sk_{}_", mode.as_str()));
    let prefix: String = secret.chars().take(format!("sk_{}_", mode.as_str()).len() + 4).collect();
    let last4: String = secret.chars().skip(secret.len() - 4).collect();
    let id = new_id::<ApiKeyId>();
    let mut tx = state.db.begin().await?;
    api_keys::insert(
        &mut *tx,
        api_keys::NewApiKey {
            id: id.as_str(),
            tenant_id: access.tenant_id.as_str(),
            name: name.as_str(),
            role: role.as_str(),
            mode: mode.as_str(),
            prefix: &prefix,
            last4: &last4,
            key_hash: &tokens::sha256_hex(&secret),
            created_by: access.principal.user_id().map(|u| u.as_str()),
            now: now_ms(),
        },
    )
    .await?;
    let payload = ApiKeyChanged { api_key_id: id.to_string(), name: name.as_str().to_owned(), role: role.to_string(), mode: mode.as_str().into(), prefix: prefix.clone() };
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::ApiKeyCreated(payload)).await?;
    state.bus.commit(tx).await?;
    let row = api_keys::find(&state.db.pool, access.tenant_id.as_str(), id.as_str()).await?.ok_or(AppError::Internal)?;
    Ok(ApiKeyCreated { key: convert::api_key(&row)?, secret })
}

pub async fn list(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<ApiKeyOut>> {
    access.require(Action::ApiKeysRead)?;
    convert::list(api_keys::listing(access.tenant_id.as_str()).fetch(&state.db, page).await?, convert::api_key)
}

/// Revokes a key at once; revoking a revoked key returns it unchanged.
pub async fn revoke(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<ApiKeyOut> {
    access.require(Action::ApiKeysRevoke)?;
    let id = ApiKeyId::parse(id).map_err(|_| AppError::not_found("api_key"))?;
    let mut tx = state.db.begin().await?;
    let revoked = api_keys::revoke(&mut *tx, access.tenant_id.as_str(), id.as_str(), now_ms()).await?;
    let row = api_keys::find(&mut *tx, access.tenant_id.as_str(), id.as_str()).await?.ok_or_else(|| AppError::not_found("api_key"))?;
    if revoked {
        let payload = ApiKeyChanged { api_key_id: row.id.clone(), name: row.name.clone(), role: row.role.clone(), mode: row.mode.clone(), prefix: row.prefix.clone() };
        state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::ApiKeyRevoked(payload)).await?;
    }
    state.bus.commit(tx).await?;
    convert::api_key(&row)
}
