//! Recurring billing as the API and the dashboard show it: subscriptions and invoices mirrored
//! from Stripe. Amounts are integer minor units with their currency; our ids (`sbn_…`, `inv_…`,
//! `cst_…`, `pay_…`) beside Stripe's.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// Every subscription status Stripe defines.
pub const SUBSCRIPTION_STATUSES: [&str; 8] = ["incomplete", "incomplete_expired", "trialing", "active", "past_due", "canceled", "unpaid", "paused"];

/// Every invoice status Stripe defines, plus `overdue`: open and past its due date (a filter and a
/// badge; the stored status stays Stripe's).
pub const INVOICE_STATUSES: [&str; 6] = ["draft", "open", "paid", "uncollectible", "void", "overdue"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SubscriptionOut {
    #[cfg_attr(feature = "ssr", schema(example = "sbn_7Qd…"))]
    pub id: String,
    /// incomplete, incomplete_expired, trialing, active, past_due, canceled, unpaid or paused.
    pub status: String,
    #[cfg_attr(feature = "ssr", schema(example = "cst_2Hb…"))]
    pub customer_id: Option<String>,
    pub customer_email: Option<String>,
    pub price_id: Option<String>,
    pub product_id: Option<String>,
    pub plan_nickname: Option<String>,
    pub unit_amount: Option<i64>,
    pub currency: Option<String>,
    /// day, week, month or year.
    pub interval: Option<String>,
    pub quantity: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub current_period_start: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub canceled_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub trial_end: Option<OffsetDateTime>,
    pub paused: bool,
    pub stripe_subscription_id: String,
    pub stripe_customer_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct InvoiceOut {
    #[cfg_attr(feature = "ssr", schema(example = "inv_5Tc…"))]
    pub id: String,
    pub number: Option<String>,
    /// draft, open, paid, uncollectible or void (Stripe's).
    pub status: String,
    /// Open and past its due date (the overdue job noticed it). Cleared by payment or voiding.
    pub overdue: bool,
    #[cfg_attr(feature = "ssr", schema(example = "cst_2Hb…"))]
    pub customer_id: Option<String>,
    pub customer_email: Option<String>,
    #[cfg_attr(feature = "ssr", schema(example = "sbn_7Qd…"))]
    pub subscription_id: Option<String>,
    /// The paybus payment that paid it, once both are known.
    #[cfg_attr(feature = "ssr", schema(example = "pay_4Hq…"))]
    pub payment_id: Option<String>,
    pub currency: String,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub attempt_count: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub due_date: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub overdue_at: Option<OffsetDateTime>,
    pub hosted_invoice_url: Option<String>,
    pub stripe_invoice_id: String,
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub stripe_payment_intent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}
