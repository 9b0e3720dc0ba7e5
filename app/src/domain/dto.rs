//! The shapes the JSON API and the dashboard exchange. One definition serves both front doors
//! and the OpenAPI document.

use super::{ApiKeyId, EmailAddress, InvitationId, MailMessageId, Role, TenantId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// Stripe's list envelope: `{ "object": "list", "data": [...], "has_more": bool }`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct List<T> {
    pub object: ListObject,
    pub data: Vec<T>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ListObject {
    List,
}

impl<T> List<T> {
    pub fn new(data: Vec<T>, has_more: bool) -> Self {
        Self { object: ListObject::List, data, has_more }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UserOut {
    #[cfg_attr(feature = "ssr", schema(value_type = String, example = "usr_8fJ2…"))]
    pub id: UserId,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub email: EmailAddress,
    pub email_verified: bool,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub default_tenant: Option<TenantId>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TenantOut {
    #[cfg_attr(feature = "ssr", schema(value_type = String, example = "ten_3kQ…"))]
    pub id: TenantId,
    pub name: String,
    /// The caller's role in this tenant.
    #[cfg_attr(feature = "ssr", schema(value_type = String, example = "owner"))]
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    /// Demo data (seeded by `paybus demo seed` or `serve --demo`), not a real merchant's.
    #[serde(default)]
    pub is_demo: bool,
}

/// The signed-in principal and where it stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct MeOut {
    pub user: UserOut,
    pub tenants: Vec<TenantOut>,
    /// The tenant this request acts on (from `X-Tenant-Id`, the session, or the default).
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub active_tenant: Option<TenantId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct MemberOut {
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub user_id: UserId,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub email: EmailAddress,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub joined_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct InvitationOut {
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub id: InvitationId,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub email: EmailAddress,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub role: Role,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

/// An API key as listed: never the secret, only its recognisable prefix and last four characters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ApiKeyOut {
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub id: ApiKeyId,
    pub name: String,
    /// `sk_test_` or `sk_live_`, followed by the first characters of the key.
    pub prefix: String,
    pub last4: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub role: Role,
    /// `test` or `live`.
    pub mode: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

/// Returned once, when the key is created. The `secret` is not stored and cannot be shown again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TokenPair {
    pub token_type: String,
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SignupOut {
    pub user: UserOut,
    pub tenant: TenantOut,
    /// Always true: the verification link and code are on their way to the address.
    pub verification_sent: bool,
}

/// A message the development mail transport captured instead of sending.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct MailMessageOut {
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub id: MailMessageId,
    pub to: String,
    pub subject: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct HealthOut {
    /// `ok`, or `degraded` when the event bus is behind or holds too many dead letters.
    pub status: String,
    pub database: String,
    pub bus: Option<crate::domain::events::views::BusHealthOut>,
}
