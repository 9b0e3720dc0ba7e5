//! Prefixed, opaque identifiers (`ten_…`, `usr_…`). The prefix tells a human what an id is; the
//! random body tells an attacker nothing (no row numbers, no creation order).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Length of the random part of every id, in base62 characters (~143 bits).
pub const ID_BODY_LEN: usize = 24;

/// Implemented by every prefixed id type.
pub trait PrefixedId: Sized {
    const PREFIX: &'static str;
    /// Wraps an already-validated string. Only [`parse`](Self::parse) and id generation call it.
    fn from_trusted(raw: String) -> Self;
    fn as_str(&self) -> &str;

    /// Parses an id sent by a client: right prefix, then base62 characters only.
    fn parse(raw: &str) -> Result<Self, IdError> {
        let body = raw
            .strip_prefix(Self::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or(IdError { expected_prefix: Self::PREFIX })?;
        if body.is_empty() || body.len() > 64 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdError { expected_prefix: Self::PREFIX });
        }
        Ok(Self::from_trusted(raw.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an id starting with `{expected_prefix}_`")]
pub struct IdError {
    pub expected_prefix: &'static str,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl PrefixedId for $name {
            const PREFIX: &'static str = $prefix;
            fn from_trusted(raw: String) -> Self { Self(raw) }
            fn as_str(&self) -> &str { &self.0 }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> { <Self as PrefixedId>::parse(&raw) }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String { id.0 }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(raw: &str) -> Result<Self, IdError> { <Self as PrefixedId>::parse(raw) }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
    };
}

prefixed_id!(/// A tenant (a merchant's workspace).
    TenantId, "ten");
prefixed_id!(/// A person who can log in.
    UserId, "usr");
prefixed_id!(/// An `sk_…` API key's public identifier (never the key itself).
    ApiKeyId, "key");
prefixed_id!(/// A pending invitation to join a tenant.
    InvitationId, "inv");
prefixed_id!(/// One refresh token of a rotating family.
    RefreshTokenId, "rtk");
prefixed_id!(/// A family of refresh tokens born from one login.
    TokenFamilyId, "rtf");
prefixed_id!(/// One email-verification challenge (link + code).
    VerificationId, "evf");
prefixed_id!(/// A message captured by the development mail transport.
    MailMessageId, "msg");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_with_its_own_prefix_parses() {
        let id: TenantId = "ten_abc123XYZ".parse().unwrap();
        assert_eq!(id.as_str(), "ten_abc123XYZ");
    }

    #[test]
    fn an_id_with_another_prefix_is_rejected() {
        assert!("usr_abc123".parse::<TenantId>().is_err());
        assert!("ten_".parse::<TenantId>().is_err());
        assert!("ten_abc-123".parse::<TenantId>().is_err());
        assert!("tenabc".parse::<TenantId>().is_err());
    }

    #[test]
    fn ids_deserialize_only_when_valid() {
        assert!(serde_json::from_str::<UserId>("\"usr_x1\"").is_ok());
        assert!(serde_json::from_str::<UserId>("\"ten_x1\"").is_err());
    }
}
prefixed_id!(/// A domain event on the bus (`evt_…`).
    EventId, "evt");
prefixed_id!(/// One event's delivery to one listener.
    DeliveryId, "dlv");
prefixed_id!(/// A replay job re-delivering past events that match a filter.
    ReplayJobId, "rpl");
prefixed_id!(/// A payment in the ledger (one PaymentIntent, or one charge without an intent).
    PaymentId, "pay");
prefixed_id!(/// A refund of a payment.
    RefundId, "ref");
prefixed_id!(/// A dispute (chargeback) on a payment.
    DisputeId, "dsp");
prefixed_id!(/// One received Stripe event in the webhook audit.
    WebhookEventId, "whe");
prefixed_id!(/// An append-only money movement on a payment.
    TransactionId, "txn");
prefixed_id!(/// One entry of a payment's timeline.
    TimelineEntryId, "tml");
prefixed_id!(/// A refund paybus asked Stripe for; it reserves its amount until the ledger shows it.
    RefundRequestId, "rfq");
prefixed_id!(/// A product sold through hosted checkout, optionally with a purchase limit.
    ProductId, "prd");
prefixed_id!(/// A hosted Stripe Checkout Session created through paybus.
    CheckoutSessionId, "cks");
prefixed_id!(/// One run of the reconciliation sweeper over Stripe's undelivered events.
    ReconciliationRunId, "rec");
prefixed_id!(/// One recorded change of a tenant's settings.
    SettingsAuditId, "sau");
prefixed_id!(/// One entry of the payment audit log.
    PaymentAuditId, "pal");
prefixed_id!(/// An outbound webhook endpoint of a tenant.
    EndpointId, "we");
prefixed_id!(/// One event queued for one outbound webhook endpoint (the `webhook-id` it is sent with).
    WebhookMessageId, "whm");
prefixed_id!(/// One HTTP attempt to deliver an outbound webhook message.
    WebhookAttemptId, "wha");
prefixed_id!(/// A tenant's rule: an event pattern with field conditions, and a target.
    RuleId, "rul");
prefixed_id!(/// One entry of a tenant's audit trail (written by the audit-log plugin).
    AuditEntryId, "aud");
prefixed_id!(/// One entry of a customer's activity timeline (written by the crm-activity plugin).
    ActivityId, "act");
prefixed_id!(/// A customer mirrored from Stripe (`cus_…` there).
    CustomerId, "cst");
prefixed_id!(/// A subscription mirrored from Stripe (`sub_…` there).
    SubscriptionId, "sbn");
prefixed_id!(/// An invoice mirrored from Stripe (`in_…` there).
    InvoiceId, "inv");
prefixed_id!(/// One append-only entry of a customer's credit balance ledger.
    BalanceTransactionId, "cbt");
prefixed_id!(/// A tenant's tax rate for a country / region (and optionally a product tax code).
    TaxRateId, "txr");
