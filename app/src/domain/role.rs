//! Roles within a tenant and the one table that says what each may do.
//!
//! Enforced in the service layer (every service call names its [`Action`]); the dashboard uses the
//! same table only to hide buttons a role could not use anyway.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Ordered from most to least powerful: owner > admin > developer > analyst > viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Developer,
    Analyst,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Developer, Role::Analyst, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// A role sent by a client, as the `role` parameter.
    pub fn parse_param(raw: &str) -> Result<Role, crate::error::AppError> {
        Role::parse(raw).ok_or_else(|| {
            crate::error::AppError::invalid("role_invalid", "role must be owner, admin, developer, analyst or viewer", Some("role"))
        })
    }

    fn rank(self) -> u8 {
        match self {
            Role::Owner => 5,
            Role::Admin => 4,
            Role::Developer => 3,
            Role::Analyst => 2,
            Role::Viewer => 1,
        }
    }

    /// Whether this role is at least as powerful as `other` (a role may only hand out roles it
    /// could hold itself: no privilege escalation through invitations or API keys).
    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    pub fn can(self, action: Action) -> bool {
        use Role::*;
        let allowed: &[Role] = match action {
            Action::TenantRead | Action::MembersRead => &[Owner, Admin, Developer, Analyst, Viewer],
            Action::TenantUpdate => &[Owner, Admin],
            Action::MembersInvite | Action::InvitationsRead | Action::InvitationsRevoke => &[Owner, Admin],
            Action::MembersChangeRole | Action::MembersRemove => &[Owner],
            Action::ApiKeysRead => &[Owner, Admin, Developer, Analyst],
            Action::ApiKeysCreate | Action::ApiKeysRevoke => &[Owner, Admin, Developer],
            Action::BusStatsRead => &[Owner, Admin, Developer, Analyst, Viewer],
            Action::EventsRead => &[Owner, Admin, Developer, Analyst],
            Action::EventsReplay | Action::DeliveriesRetry => &[Owner, Admin, Developer],
            Action::PaymentsRead => &[Owner, Admin, Developer, Analyst, Viewer],
            Action::PaymentsExport | Action::WebhookEventsRead => &[Owner, Admin, Developer, Analyst],
            // Money moves and the merchant's Stripe account: admins and owners only.
            Action::ConnectManage | Action::CheckoutCreate | Action::PaymentsCapture | Action::PaymentsCancel
            | Action::RefundsCreate | Action::ProductsManage => &[Owner, Admin],
            Action::ConnectRead | Action::ProductsRead | Action::ReconciliationRead => &[Owner, Admin, Developer, Analyst],
            Action::ReconciliationRun => &[Owner, Admin, Developer],
            Action::SettingsRead => &[Owner, Admin, Developer],
            Action::SettingsUpdate => &[Owner, Admin],
            Action::PaymentAuditRead => &[Owner, Admin, Developer, Analyst],
            Action::WebhookEventsReprocess => &[Owner, Admin, Developer],
            // Plugins hold credentials and decide who gets told what: admins. Endpoints and rules
            // are integration work: developers too.
            Action::PluginsRead | Action::WebhookEndpointsRead | Action::RulesRead | Action::AuditLogRead
            | Action::CustomersRead => &[Owner, Admin, Developer, Analyst],
            Action::PluginsManage => &[Owner, Admin],
            Action::WebhookEndpointsManage | Action::RulesManage => &[Owner, Admin, Developer],
            Action::AnalyticsRead => &[Owner, Admin, Developer, Analyst, Viewer],
            // Billing mirrored from Stripe: read like payments; a balance change is money.
            Action::BillingRead => &[Owner, Admin, Developer, Analyst, Viewer],
            Action::BillingExport => &[Owner, Admin, Developer, Analyst],
            Action::BalancesManage | Action::CurrenciesManage => &[Owner, Admin],
            Action::RiskRead => &[Owner, Admin, Developer, Analyst],
            Action::RiskReview => &[Owner, Admin],
            Action::TaxRead => &[Owner, Admin, Developer, Analyst],
            Action::TaxManage => &[Owner, Admin],
        };
        allowed.contains(&self)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a principal can try to do inside a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    TenantRead,
    TenantUpdate,
    MembersRead,
    MembersInvite,
    MembersChangeRole,
    MembersRemove,
    InvitationsRead,
    InvitationsRevoke,
    ApiKeysRead,
    ApiKeysCreate,
    ApiKeysRevoke,
    /// The event-bus statistics page (counts, no payloads).
    BusStatsRead,
    /// Events with their payloads, deliveries and errors.
    EventsRead,
    EventsReplay,
    DeliveriesRetry,
    /// Payments, refunds, disputes and their timelines.
    PaymentsRead,
    /// CSV exports of the ledger.
    PaymentsExport,
    /// The Stripe webhook audit (raw events and errors).
    WebhookEventsRead,
    /// Create the tenant's Connect account, onboarding and Express dashboard links.
    ConnectManage,
    ConnectRead,
    CheckoutCreate,
    PaymentsCapture,
    PaymentsCancel,
    RefundsCreate,
    ProductsManage,
    ProductsRead,
    /// The reconciliation sweeper's runs, and running it now.
    ReconciliationRead,
    ReconciliationRun,
    /// Settings, with every secret masked.
    SettingsRead,
    SettingsUpdate,
    /// The payment audit log of money-moving actions and webhook effects.
    PaymentAuditRead,
    /// Apply stored Stripe events again (unparsed after an upgrade).
    WebhookEventsReprocess,
    /// Plugins: which are on, their (masked) configuration and health.
    PluginsRead,
    /// Enable, disable, configure and test plugins.
    PluginsManage,
    /// Outbound webhook endpoints, their messages and attempts.
    WebhookEndpointsRead,
    /// Create, change, rotate, resend, test endpoints.
    WebhookEndpointsManage,
    RulesRead,
    /// Create, change, test and dry-run rules.
    RulesManage,
    /// The tenant's audit trail (who did what), with export.
    AuditLogRead,
    /// Customers' activity timelines.
    CustomersRead,
    /// Counters and daily aggregates behind the overview charts.
    AnalyticsRead,
    /// Customers, subscriptions, invoices, balances and currencies mirrored or kept by paybus.
    BillingRead,
    /// CSV exports of customers, subscriptions and invoices.
    BillingExport,
    /// Credit or debit a customer's balance.
    BalancesManage,
    /// Activate or deactivate a currency for the tenant.
    CurrenciesManage,
    /// The risk review queue and payments' risk reasons.
    RiskRead,
    /// Mark a flagged payment safe or fraudulent.
    RiskReview,
    /// Tax rates and tax calculations.
    TaxRead,
    /// Create, change and delete tax rates.
    TaxManage,
}

impl Action {
    pub const ALL: [Action; 49] = [
        Action::TenantRead,
        Action::TenantUpdate,
        Action::MembersRead,
        Action::MembersInvite,
        Action::MembersChangeRole,
        Action::MembersRemove,
        Action::InvitationsRead,
        Action::InvitationsRevoke,
        Action::ApiKeysRead,
        Action::ApiKeysCreate,
        Action::ApiKeysRevoke,
        Action::BusStatsRead,
        Action::EventsRead,
        Action::EventsReplay,
        Action::DeliveriesRetry,
        Action::PaymentsRead,
        Action::PaymentsExport,
        Action::WebhookEventsRead,
        Action::ConnectManage,
        Action::ConnectRead,
        Action::CheckoutCreate,
        Action::PaymentsCapture,
        Action::PaymentsCancel,
        Action::RefundsCreate,
        Action::ProductsManage,
        Action::ProductsRead,
        Action::ReconciliationRead,
        Action::ReconciliationRun,
        Action::SettingsRead,
        Action::SettingsUpdate,
        Action::PaymentAuditRead,
        Action::WebhookEventsReprocess,
        Action::PluginsRead,
        Action::PluginsManage,
        Action::WebhookEndpointsRead,
        Action::WebhookEndpointsManage,
        Action::RulesRead,
        Action::RulesManage,
        Action::AuditLogRead,
        Action::CustomersRead,
        Action::AnalyticsRead,
        Action::BillingRead,
        Action::BillingExport,
        Action::BalancesManage,
        Action::CurrenciesManage,
        Action::RiskRead,
        Action::RiskReview,
        Action::TaxRead,
        Action::TaxManage,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_more_powerful_role_can_do_everything_a_weaker_one_can() {
        for pair in Role::ALL.windows(2) {
            let (stronger, weaker) = (pair[0], pair[1]);
            for action in Action::ALL {
                if weaker.can(action) {
                    assert!(stronger.can(action), "{stronger} should be able to {action:?} like {weaker}");
                }
            }
        }
    }

    #[test]
    fn only_owners_manage_roles_and_viewers_only_read() {
        assert!(Role::Owner.can(Action::MembersChangeRole));
        assert!(!Role::Admin.can(Action::MembersChangeRole));
        assert!(!Role::Viewer.can(Action::ApiKeysRead));
        assert!(Role::Viewer.can(Action::TenantRead));
    }
}
