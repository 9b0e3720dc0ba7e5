//! Event payloads. Each is the minimum a listener needs to act without reading our tables; ids
//! are ours (`pay_…`) beside Stripe's where both exist. Amounts are integer minor units with
//! their ISO currency code (lowercase, as Stripe sends it). Secrets never appear here.

use serde::{Deserialize, Serialize};

/// A payment's state after the change the event names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentChanged {
    pub payment_id: String,
    /// The PaymentIntent (`pi_…`) or, for charges without one, the charge (`ch_…`).
    pub stripe_id: String,
    pub amount: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub connected_account: Option<String>,
    #[serde(default)]
    pub failure_message: Option<String>,
}

// Risk.
/// A payment the risk plugin flagged (`payment.flagged`), or a reviewer's verdict on it
/// (`payment.marked_safe`, `payment.reported_fraudulent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRiskChanged {
    pub payment_id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub customer_email: Option<String>,
    /// 0..100; flagged when above `threshold`.
    pub score: i64,
    pub threshold: i64,
    pub reasons: Vec<crate::domain::risk::RiskReason>,
    /// open, safe or fraudulent.
    pub review_status: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeChanged {
    pub dispute_id: String,
    pub stripe_id: String,
    #[serde(default)]
    pub payment_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundChanged {
    pub refund_id: String,
    #[serde(default)]
    pub stripe_id: Option<String>,
    pub payment_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectAccountChanged {
    pub account_id: String,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub details_submitted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSessionChanged {
    pub session_id: String,
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    pub status: String,
}

/// A customer mirrored from Stripe: our id (`cst_…`) beside Stripe's (`cus_…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerChanged {
    pub customer_id: String,
    pub stripe_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub deleted: bool,
}

/// A subscription mirrored from Stripe, with the status before the change when there was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionChanged {
    pub subscription_id: String,
    pub stripe_id: String,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub stripe_customer_id: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    pub status: String,
    #[serde(default)]
    pub previous_status: Option<String>,
    #[serde(default)]
    pub price_id: Option<String>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    pub quantity: i64,
    /// Unix seconds, as Stripe sends them.
    #[serde(default)]
    pub current_period_end: Option<i64>,
    #[serde(default)]
    pub cancel_at_period_end: bool,
}

/// An invoice mirrored from Stripe; `payment_id` is the paybus payment that paid it, once known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceChanged {
    pub invoice_id: String,
    pub stripe_id: String,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub stripe_customer_id: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub stripe_subscription_id: Option<String>,
    pub status: String,
    pub currency: String,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    /// Unix seconds, as Stripe sends them.
    #[serde(default)]
    pub due_date: Option<i64>,
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
}

/// Payouts: Stripe objects mirrored by id and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingObjectChanged {
    pub stripe_id: String,
    #[serde(default)]
    pub customer: Option<String>,
    pub status: String,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChanged {
    pub user_id: String,
    pub email: String,
}

/// No user id: the address may not belong to any account, and the event must not say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFailed {
    pub email: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantChanged {
    pub tenant_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationChanged {
    pub invitation_id: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberChanged {
    pub user_id: String,
    pub email: String,
    pub role: String,
    #[serde(default)]
    pub previous_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyChanged {
    pub api_key_id: String,
    pub name: String,
    pub role: String,
    pub mode: String,
    /// `sk_test_abcd`: enough to recognise the key, useless to an attacker.
    pub prefix: String,
}

/// Which settings changed, never their values (some are secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsChanged {
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginChanged {
    pub plugin: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointChanged {
    pub endpoint_id: String,
    pub url: String,
    pub enabled_events: Vec<String>,
}

/// An endpoint paybus stopped sending to, and why (the receiver said 410, or it failed for days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDisabled {
    pub endpoint_id: String,
    pub url: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleChanged {
    pub rule_id: String,
    pub name: String,
    pub enabled: bool,
}

/// A Stripe event as ingested: ids and outcome, not the raw body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookChanged {
    pub webhook_event_id: String,
    pub stripe_event_id: String,
    pub stripe_type: String,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDead {
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    pub listener: String,
    pub attempts: u32,
    pub last_error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayCompleted {
    pub replay_id: String,
    pub matched: u64,
    pub enqueued: u64,
}

// Customer balances and currencies (issue 7).

/// One entry of a customer's credit balance ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceChanged {
    /// The ledger entry (`cbt_…`).
    pub transaction_id: String,
    pub customer_id: String,
    #[serde(default)]
    pub stripe_customer_id: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    /// Positive; the event type says credit or debit.
    pub amount: i64,
    pub currency: String,
    pub balance_after: i64,
    pub reason: String,
}

/// A currency a tenant now accepts, or no longer accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyChanged {
    pub currency: String,
}
