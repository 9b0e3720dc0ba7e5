//! The ledger as the API and the dashboard show it: payments, their timelines, refunds,
//! disputes and the webhook audit. Amounts are integer minor units with their currency.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PaymentOut {
    #[cfg_attr(feature = "ssr", schema(example = "pay_4Hq…"))]
    pub id: String,
    /// requires_payment_method … succeeded, failed, canceled, partially_refunded, refunded,
    /// disputed, dispute_lost.
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    /// Held by disputes still open.
    pub amount_disputed: i64,
    pub amount_disputed_lost: i64,
    pub customer_email: Option<String>,
    pub failure_message: Option<String>,
    pub stripe_payment_intent: Option<String>,
    pub stripe_charge: Option<String>,
    pub connected_account: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TimelineEntryOut {
    pub id: String,
    /// webhook or api.
    pub source: String,
    pub title: String,
    pub stripe_type: Option<String>,
    pub stripe_event_id: Option<String>,
    pub status_after: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RefundOut {
    pub id: String,
    pub payment_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub reason: Option<String>,
    pub failure_reason: Option<String>,
    pub stripe_refund_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DisputeOut {
    pub id: String,
    pub payment_id: String,
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    pub status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub evidence_due_by: Option<OffsetDateTime>,
    pub stripe_dispute_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WebhookEventOut {
    pub id: String,
    pub stripe_event_id: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub account: Option<String>,
    pub source: String,
    /// processed, duplicate, ignored, unassigned, unparsed or rejected.
    pub status: String,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub received_at: OffsetDateTime,
}
