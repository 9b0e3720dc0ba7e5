//! What the Stripe-out endpoints take and return: Connect onboarding, hosted checkout, capture /
//! cancel / refund, products with purchase limits, and the reconciliation sweeper's runs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ConnectAccountOut {
    pub account_id: String,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub details_submitted: bool,
    /// Stripe's `requirements` (currently_due, eventually_due, past_due, disabled_reason…).
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub requirements: serde_json::Value,
    /// False when Stripe could not be asked just now and this is the last known state.
    pub refreshed: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateConnectAccountIn {
    /// The account holder's email, prefilled in onboarding.
    pub email: Option<String>,
    /// Two-letter country code; Stripe's default when absent.
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountLinkIn {
    /// Where Stripe sends the user when onboarding is done (default: the dashboard's Connect page).
    pub return_url: Option<String>,
    /// Where Stripe sends the user when the link expired (default: the dashboard's Connect page).
    pub refresh_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct LinkOut {
    pub url: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LineItemIn {
    pub name: String,
    /// Minor units of the session's currency.
    pub unit_amount: i64,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckoutSessionIn {
    /// Either line items, or `amount` (+ optional `description`), or a `product_id`.
    #[serde(default)]
    pub line_items: Vec<LineItemIn>,
    pub amount: Option<i64>,
    pub description: Option<String>,
    pub product_id: Option<String>,
    /// Required unless a product gives it.
    pub currency: Option<String>,
    pub success_url: String,
    pub cancel_url: String,
    pub customer_email: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Where the buyer is taxed (ISO country, e.g. `DE`). With the `tax` plugin on and a rate
    /// that applies, exclusive tax is added as a line and inclusive tax recorded in metadata.
    pub tax_country: Option<String>,
    /// The buyer's subdivision (`CA`, `US-CA`), for regional rates.
    pub tax_region: Option<String>,
    /// The product tax code, for rates specific to it.
    pub tax_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CheckoutSessionOut {
    pub id: String,
    /// Where to send the customer.
    pub url: Option<String>,
    pub status: String,
    pub amount_total: i64,
    /// The tax in `amount_total` (added by the `tax` plugin; 0 without it).
    #[serde(default)]
    pub amount_tax: i64,
    pub currency: String,
    pub product_id: Option<String>,
    pub stripe_session_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaptureIn {
    /// Minor units; the whole authorised amount when absent.
    pub amount: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    pub payment_id: String,
    /// Minor units; everything still refundable when absent.
    pub amount: Option<i64>,
    /// duplicate, fraudulent or requested_by_customer.
    pub reason: Option<String>,
}

/// What a capture or cancel did: Stripe's new state of the PaymentIntent. The ledger follows
/// when Stripe's webhook arrives.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PaymentActionOut {
    pub payment_id: String,
    pub action: String,
    /// The PaymentIntent's status as Stripe reported it.
    pub stripe_status: String,
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RefundRequestOut {
    pub id: String,
    pub payment_id: String,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    /// requested, submitted (Stripe has it; the ledger follows by webhook), settled, failed.
    pub status: String,
    /// Stripe's refund status (pending, succeeded…) when it answered.
    pub stripe_status: Option<String>,
    pub stripe_refund_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProductIn {
    pub name: String,
    pub unit_amount: i64,
    pub currency: String,
    /// How many may ever be bought; unlimited when absent.
    pub max_purchases: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ProductOut {
    pub id: String,
    pub name: String,
    pub unit_amount: i64,
    pub currency: String,
    pub max_purchases: Option<i64>,
    pub purchases: i64,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ReconciliationRunOut {
    pub id: String,
    pub account: Option<String>,
    /// running, succeeded or failed.
    pub status: String,
    /// Undelivered events Stripe listed.
    pub listed: i64,
    /// Of those, the ones the ledger lacked and now has.
    pub ingested: i64,
    pub already_present: i64,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub started_at: OffsetDateTime,
}
