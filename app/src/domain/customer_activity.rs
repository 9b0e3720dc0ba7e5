//! Customers as the crm-activity plugin sees them: an email address (lower-cased) and the
//! payments, refunds and disputes that happened under it, as the API and the dashboard show them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// An amount in one currency's minor units.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AmountOut {
    /// Lower-case ISO code, as Stripe writes it.
    pub currency: String,
    pub amount: i64,
}

/// One customer (by email) with what their activity adds up to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CustomerActivitySummaryOut {
    /// Always `customer_activity_summary`.
    pub object: String,
    /// Lower-cased; also the cursor of the list (`starting_after=<email>`).
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub last_seen: OffsetDateTime,
    /// Payments captured or succeeded, each counted once.
    pub payments_count: i64,
    /// What those payments took, per currency.
    pub total_paid: Vec<AmountOut>,
    /// Refunds that succeeded.
    pub refunds_count: i64,
    /// Disputes opened.
    pub disputes_count: i64,
}

/// One entry of a customer's timeline: one event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CustomerActivityOut {
    /// Always `customer_activity`.
    pub object: String,
    #[cfg_attr(feature = "ssr", schema(example = "act_3kQ…"))]
    pub id: String,
    pub email: String,
    /// The bus event this entry records (`evt_…`).
    pub event_id: String,
    /// `payment.succeeded`, `refund.succeeded`, `dispute.created`, …
    pub event_type: String,
    /// The payment, refund, dispute or checkout session concerned.
    pub object_id: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// "Paid 25.00 EUR", "Refund of 5.00 EUR", "Dispute opened: fraudulent, 25.00 EUR".
    pub summary: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
}
