//! A tenant's settings as the API shows them (secrets masked) and as clients change them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// What a client may send back for a secret to keep it as it is.
pub const UNCHANGED: &str = "__unchanged__";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SettingsOut {
    /// Always `settings`.
    pub object: String,
    pub tenant_id: String,
    pub payments_enabled: bool,
    pub default_currency: String,
    pub notification_emails: Vec<String>,
    /// Masked (`sk_live_…abcd`); null when none is stored.
    pub stripe_secret_key: Option<String>,
    /// Masked, oldest first. Several during a secret roll.
    pub webhook_secrets: Vec<String>,
    /// The Stripe API version paybus pins.
    pub stripe_api_version: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub updated_at: Option<OffsetDateTime>,
    /// Whether a balance debit may take a customer's credit balance below zero.
    #[serde(default)]
    pub allow_negative_balances: bool,
}

/// A change: fields left out stay as they are. For secrets, sending back the mask (or
/// `__unchanged__`) keeps the stored value; `""` removes the Stripe key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub payments_enabled: Option<bool>,
    pub default_currency: Option<String>,
    pub notification_emails: Option<Vec<String>>,
    pub stripe_secret_key: Option<String>,
    /// The full list to keep: masks keep stored secrets, new `whsec_…` values are added, stored
    /// secrets not listed are removed.
    pub webhook_secrets: Option<Vec<String>>,
    /// Whether a balance debit may take a customer's credit balance below zero.
    pub allow_negative_balances: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SettingsAuditOut {
    pub id: String,
    pub actor: Option<String>,
    pub actor_type: String,
    /// The names of the fields that changed — never their values.
    pub fields: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PaymentAuditOut {
    pub id: String,
    pub actor: Option<String>,
    pub actor_type: String,
    /// e.g. refund.create, payment.capture, checkout.create, webhook.charge.refunded.
    pub action: String,
    pub payment_id: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// succeeded, failed, requested, pending_reconciliation.
    pub result: String,
    pub detail: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

/// `sk_live_…abcd`: enough to recognise a secret, not to use it.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    if chars.len() <= 12 {
        return format!("…{tail}");
    }
    let head_len = secret.find('_').map(|i| secret[i + 1..].find('_').map(|j| i + j + 2).unwrap_or(i + 1)).unwrap_or(3).min(8);
    match secret.get(..head_len) {
        Some(head) => format!("{head}…{tail}"),
        None => format!("…{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_show_the_kind_and_the_last_four_only() {
        assert_eq!(mask("sk_live_51Habcdefghijklmnopqrstuvwxyz1234"), "sk_live_…1234");
        assert_eq!(mask("whsec_abcdefghijklmnopqrstuvwxyz9876"), "whsec_…9876");
        assert_eq!(mask("rk_test_abcdefghijklmnop4321"), "rk_test_…4321");
        assert_eq!(mask("short_9999"), "…9999");
    }
}
