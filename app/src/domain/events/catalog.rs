//! The event catalog: every event paybus publishes, its dotted name, its schema version and the
//! payload type it carries — written once, in one table.
//!
//! [`DomainEvent`] pairs each type with its payload, so publishing a `payment.captured` with an
//! API key's payload does not compile. [`EventType`] is the same list without payloads, for
//! filters, subscriptions and storage.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use super::payloads::*;

macro_rules! catalog {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $version:literal, $payload:ty; )*) => {
        /// Every event type, without its payload.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $( $(#[$doc])* $variant, )*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The dotted name, `{domain}.{object}_{verb}`.
            pub const fn name(self) -> &'static str {
                match self { $(EventType::$variant => $name,)* }
            }

            /// The payload schema version; bumped when a payload changes incompatibly.
            pub const fn version(self) -> u16 {
                match self { $(EventType::$variant => $version,)* }
            }
        }

        /// An event with its typed payload: what services publish.
        #[derive(Debug, Clone, PartialEq)]
        pub enum DomainEvent {
            $( $variant($payload), )*
        }

        impl DomainEvent {
            pub fn event_type(&self) -> EventType {
                match self { $(DomainEvent::$variant(_) => EventType::$variant,)* }
            }

            /// The payload as stored in the envelope.
            pub fn payload_json(&self) -> Result<serde_json::Value, serde_json::Error> {
                match self { $(DomainEvent::$variant(p) => serde_json::to_value(p),)* }
            }

            /// Reads a stored payload back into its typed form.
            pub fn from_payload(event_type: EventType, payload: serde_json::Value) -> Result<Self, serde_json::Error> {
                match event_type { $(EventType::$variant => serde_json::from_value(payload).map(DomainEvent::$variant),)* }
            }
        }
    };
}

catalog! {
    // Payments, from Stripe webhooks and the money-moving API.
    PaymentAuthorized = "payment.authorized", 1, PaymentChanged;
    PaymentCaptured = "payment.captured", 1, PaymentChanged;
    PaymentSucceeded = "payment.succeeded", 1, PaymentChanged;
    PaymentFailed = "payment.failed", 1, PaymentChanged;
    PaymentCanceled = "payment.canceled", 1, PaymentChanged;
    PaymentRefunded = "payment.refunded", 1, PaymentChanged;
    PaymentPartiallyRefunded = "payment.partially_refunded", 1, PaymentChanged;
    // Risk: the risk plugin flagged a payment for review; a reviewer's verdict on it.
    PaymentFlagged = "payment.flagged", 1, PaymentRiskChanged;
    PaymentMarkedSafe = "payment.marked_safe", 1, PaymentRiskChanged;
    PaymentReportedFraudulent = "payment.reported_fraudulent", 1, PaymentRiskChanged;
    // Disputes.
    DisputeCreated = "dispute.created", 1, DisputeChanged;
    DisputeUpdated = "dispute.updated", 1, DisputeChanged;
    DisputeClosed = "dispute.closed", 1, DisputeChanged;
    DisputeFundsWithdrawn = "dispute.funds_withdrawn", 1, DisputeChanged;
    DisputeFundsReinstated = "dispute.funds_reinstated", 1, DisputeChanged;
    // Refunds.
    RefundCreated = "refund.created", 1, RefundChanged;
    RefundUpdated = "refund.updated", 1, RefundChanged;
    RefundSucceeded = "refund.succeeded", 1, RefundChanged;
    RefundFailed = "refund.failed", 1, RefundChanged;
    // Stripe Connect.
    ConnectAccountCreated = "connect.account_created", 1, ConnectAccountChanged;
    ConnectAccountUpdated = "connect.account_updated", 1, ConnectAccountChanged;
    ConnectOnboardingLinkCreated = "connect.onboarding_link_created", 1, ConnectAccountChanged;
    ConnectAccountDeauthorized = "connect.account_deauthorized", 1, ConnectAccountChanged;
    // Hosted checkout.
    CheckoutSessionCreated = "checkout.session_created", 1, CheckoutSessionChanged;
    CheckoutSessionCompleted = "checkout.session_completed", 1, CheckoutSessionChanged;
    CheckoutSessionExpired = "checkout.session_expired", 1, CheckoutSessionChanged;
    // Recurring billing mirrored from Stripe (app/src/ssr/billing): one event per real transition,
    // never from a stale snapshot. `invoice.overdue` comes from the overdue job, once per invoice.
    CustomerCreated = "customer.created", 1, CustomerChanged;
    CustomerUpdated = "customer.updated", 1, CustomerChanged;
    CustomerDeleted = "customer.deleted", 1, CustomerChanged;
    SubscriptionCreated = "subscription.created", 1, SubscriptionChanged;
    /// Became `active` or `trialing` from any other status (or was first seen so).
    SubscriptionActivated = "subscription.activated", 1, SubscriptionChanged;
    SubscriptionUpdated = "subscription.updated", 1, SubscriptionChanged;
    SubscriptionCanceled = "subscription.canceled", 1, SubscriptionChanged;
    InvoiceCreated = "invoice.created", 1, InvoiceChanged;
    InvoiceFinalized = "invoice.finalized", 1, InvoiceChanged;
    InvoicePaid = "invoice.paid", 1, InvoiceChanged;
    InvoicePaymentFailed = "invoice.payment_failed", 1, InvoiceChanged;
    /// Open past its due date; published by the overdue job exactly once per invoice.
    InvoiceOverdue = "invoice.overdue", 1, InvoiceChanged;
    // Payouts.
    PayoutPaid = "payout.paid", 1, BillingObjectChanged;
    PayoutFailed = "payout.failed", 1, BillingObjectChanged;
    // Identity and tenancy.
    AuthUserSignedUp = "auth.user_signed_up", 1, UserChanged;
    AuthEmailVerified = "auth.email_verified", 1, UserChanged;
    AuthLoggedIn = "auth.logged_in", 1, UserChanged;
    AuthLoginFailed = "auth.login_failed", 1, LoginFailed;
    OrgTenantCreated = "org.tenant_created", 1, TenantChanged;
    OrgTenantUpdated = "org.tenant_updated", 1, TenantChanged;
    OrgMemberInvited = "org.member_invited", 1, InvitationChanged;
    OrgInvitationRevoked = "org.invitation_revoked", 1, InvitationChanged;
    OrgMemberJoined = "org.member_joined", 1, MemberChanged;
    OrgMemberRoleChanged = "org.member_role_changed", 1, MemberChanged;
    OrgMemberRemoved = "org.member_removed", 1, MemberChanged;
    ApiKeyCreated = "api_key.created", 1, ApiKeyChanged;
    ApiKeyRevoked = "api_key.revoked", 1, ApiKeyChanged;
    SettingsUpdated = "settings.updated", 1, SettingsChanged;
    // Plugins and outbound endpoints.
    PluginEnabled = "plugin.enabled", 1, PluginChanged;
    PluginDisabled = "plugin.disabled", 1, PluginChanged;
    PluginConfigured = "plugin.configured", 1, PluginChanged;
    EndpointCreated = "endpoint.created", 1, EndpointChanged;
    EndpointUpdated = "endpoint.updated", 1, EndpointChanged;
    EndpointDeleted = "endpoint.deleted", 1, EndpointChanged;
    EndpointDisabled = "endpoint.disabled", 1, EndpointDisabled;
    EndpointSecretRotated = "endpoint.secret_rotated", 1, EndpointChanged;
    /// A synthetic event sent by "send test event"; only the endpoint that asked receives it.
    EndpointTestSent = "endpoint.test_sent", 1, EndpointChanged;
    // Rules.
    RuleCreated = "rule.created", 1, RuleChanged;
    RuleUpdated = "rule.updated", 1, RuleChanged;
    RuleDeleted = "rule.deleted", 1, RuleChanged;
    // Stripe webhook ingest.
    WebhookReceived = "webhook.received", 1, WebhookChanged;
    WebhookProcessed = "webhook.processed", 1, WebhookChanged;
    WebhookFailed = "webhook.failed", 1, WebhookChanged;
    WebhookUnparsed = "webhook.unparsed", 1, WebhookChanged;
    // The bus about itself.
    BusDeliveryDead = "bus.delivery_dead", 1, DeliveryDead;
    BusReplayCompleted = "bus.replay_completed", 1, ReplayCompleted;
    // Customer balances and currencies (issue 7).
    BalanceCredited = "balance.credited", 1, BalanceChanged;
    BalanceDebited = "balance.debited", 1, BalanceChanged;
    CurrencyActivated = "currency.activated", 1, CurrencyChanged;
    CurrencyDeactivated = "currency.deactivated", 1, CurrencyChanged;
}

impl EventType {
    /// `payment` for `payment.captured`.
    pub fn domain(self) -> &'static str {
        self.name().split_once('.').map(|(d, _)| d).unwrap_or(self.name())
    }

    pub fn parse(raw: &str) -> Option<EventType> {
        EventType::ALL.iter().copied().find(|t| t.name() == raw)
    }

    /// Position in [`EventType::ALL`], for tables indexed by type.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Every domain in the catalog, in catalog order, once each.
    pub fn domains() -> Vec<&'static str> {
        let mut domains: Vec<&'static str> = Vec::new();
        for t in EventType::ALL {
            if !domains.contains(&t.domain()) {
                domains.push(t.domain());
            }
        }
        domains
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        EventType::parse(&raw).ok_or_else(|| serde::de::Error::custom(format!("unknown event type `{raw}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_follows_the_domain_dot_object_verb_convention_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            let (domain, rest) = t.name().split_once('.').expect("a dot");
            assert!(!domain.is_empty() && !rest.is_empty(), "{t}");
            assert!(t.name().bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'), "{t}");
            assert!(seen.insert(t.name()), "duplicate name {t}");
            assert_eq!(EventType::parse(t.name()), Some(*t));
            assert!(t.version() >= 1);
        }
    }

    #[test]
    fn index_is_the_position_in_all() {
        for (i, t) in EventType::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
    }

    #[test]
    fn a_payload_round_trips_through_its_stored_json() {
        let event = DomainEvent::ApiKeyCreated(ApiKeyChanged {
            api_key_id: "key_1".into(),
            name: "Checkout".into(),
            role: "developer".into(),
            mode: "test".into(),
            prefix: "sk_test_abcd".into(),
        });
        let json = event.payload_json().unwrap();
        assert_eq!(DomainEvent::from_payload(EventType::ApiKeyCreated, json).unwrap(), event);
    }

    #[test]
    fn a_payload_of_the_wrong_shape_is_rejected_when_read_back() {
        let json = serde_json::json!({ "unexpected": true });
        assert!(DomainEvent::from_payload(EventType::PaymentCaptured, json).is_err());
    }
}
