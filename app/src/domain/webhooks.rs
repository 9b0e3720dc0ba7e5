//! Outbound webhook endpoints as the API and the dashboard see them: a tenant's subscriber URLs,
//! the messages queued for each, and every HTTP attempt made (Standard Webhooks signing).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// What a message body carries: the whole event envelope, or the event's id, type, time, object
/// id and essential fields (for payments: payment_id, amount, currency, status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayloadStyle {
    #[default]
    Snapshot,
    Thin,
}

impl PayloadStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Thin => "thin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "snapshot" => Some(Self::Snapshot),
            "thin" => Some(Self::Thin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WebhookEndpointOut {
    /// Always `webhook_endpoint`.
    pub object: String,
    #[cfg_attr(feature = "ssr", schema(example = "we_4fZk…"))]
    pub id: String,
    pub url: String,
    pub description: String,
    /// Event names, `domain.*` or `*`.
    pub events: Vec<String>,
    pub payload_style: PayloadStyle,
    /// Messages about one object (a payment…) are sent one after another, in order.
    pub ordered: bool,
    /// Most messages per second sent to this endpoint.
    pub rate_limit_per_sec: u32,
    /// `active` or `disabled`.
    pub status: String,
    pub disabled_reason: Option<String>,
    /// `closed` (sending), `open` (paused after failures) or `half_open` (one probe allowed).
    pub circuit: String,
    pub consecutive_failures: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub failing_since: Option<OffsetDateTime>,
    /// Until when the previous signing secret still signs too (after a rotation).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

/// An endpoint with its signing secret: the answer to create and rotate, the only times the
/// secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WebhookEndpointWithSecret {
    pub endpoint: WebhookEndpointOut,
    /// `whsec_…`: verify `webhook-signature` with it. Shown this once.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointIn {
    /// `https://…` (or `http://…`); private and loopback addresses are refused.
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Event names, `domain.*` or `*` (default `["*"]`).
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// `snapshot` (default) or `thin`.
    #[serde(default)]
    pub payload_style: Option<String>,
    #[serde(default)]
    pub ordered: Option<bool>,
    /// Messages per second, 1 to 10000 (default from the server's configuration).
    #[serde(default)]
    pub rate_limit_per_sec: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub payload_style: Option<String>,
    #[serde(default)]
    pub ordered: Option<bool>,
    #[serde(default)]
    pub rate_limit_per_sec: Option<u32>,
    /// `false` disables the endpoint (its pending messages stop); `true` enables it again and
    /// resets its failure count.
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateSecretIn {
    /// How long the old secret keeps signing beside the new one, 0 to 604800 s (default 86400).
    #[serde(default)]
    pub overlap_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WebhookMessageOut {
    /// Always `webhook_message`.
    pub object: String,
    /// Sent as `webhook-id`; the same on every retry.
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub payload_style: PayloadStyle,
    /// `pending`, `delivering`, `succeeded`, `failed` (retries exhausted) or `disabled` (the
    /// endpoint was disabled or deleted before it went out).
    pub status: String,
    pub attempts: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// The object the ordering follows (`pay_…`), if any.
    pub object_id: Option<String>,
    /// Position among this endpoint's messages about the same object (ordered endpoints).
    pub sequence: Option<i64>,
    pub previous_id: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    /// Why the body differs from what was asked (a snapshot over 256 KB sent thin).
    pub note: Option<String>,
    /// `fanout`, `direct` (a rule), `test`.
    pub origin: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WebhookAttemptOut {
    /// Always `webhook_attempt`.
    pub object: String,
    pub id: String,
    pub message_id: String,
    pub endpoint_id: String,
    pub attempt: i64,
    /// `scheduled`, `manual` (a resend) or `test`.
    pub trigger: String,
    /// `succeeded` or `failed`.
    pub status: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    /// The first kilobyte of the response body.
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}
