//! Risk scoring, free of I/O: the facts known about one payment (Stripe Radar's own outcome, the
//! card and billing countries, velocity counts, the customer's refunds and disputes) and a
//! tenant's rules go in; a score from 0 to 100 and the reasons for it come out.
//!
//! ```text
//! score = min(100, stripe + Σ points of every rule that triggered)
//! stripe = Radar's risk_score when Stripe sent one, else its risk_level
//!          (highest 90, elevated 70, normal 10, not_assessed / unknown 0)
//! ```
//!
//! Every rule triggers strictly *above* its limit: a limit of 3 payments lets the third through
//! and flags the fourth; an amount threshold of 100.00 lets 100.00 through and flags 100.01. A
//! payment is flagged when its score is above the tenant's flag threshold. Counts that could not
//! be taken (no card fingerprint on the charge, no email) never trigger anything.
//!
//! Also here: the review queue as the API and the dashboard show it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

use super::Currency;

/// One reason a payment scored what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RiskReason {
    /// `stripe_risk`, `velocity_payments_email`, `velocity_payments_card`, `velocity_payments_ip`,
    /// `velocity_failures_email`, `velocity_failures_card`, `velocity_failures_ip`,
    /// `amount_over_threshold`, `country_mismatch`, `refunds_disputes`.
    pub code: String,
    pub message: String,
    /// What the reason added to the score.
    pub points: i64,
}

/// What was counted for one key (an email, a card fingerprint, an IP) in the velocity window.
/// `None`: the payment has no such key, so nothing was counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyCounts {
    pub email: Option<i64>,
    pub card: Option<i64>,
    pub ip: Option<i64>,
}

/// Everything known about one payment that the rules look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskFacts {
    pub amount: i64,
    pub currency: String,
    /// Radar's `outcome.risk_level` on the charge: normal, elevated, highest, not_assessed, unknown.
    pub stripe_risk_level: Option<String>,
    /// Radar's `outcome.risk_score` (0..100), sent to Radar for Fraud Teams accounts.
    pub stripe_risk_score: Option<i64>,
    /// ISO country of the card (`payment_method_details.card.country`).
    pub card_country: Option<String>,
    /// ISO country of the billing address (`billing_details.address.country`).
    pub billing_country: Option<String>,
    /// Payments (distinct) with the same key in the window ending at this payment, itself included.
    pub payments: KeyCounts,
    /// Failed charges with the same key in the same window.
    pub failures: KeyCounts,
    /// Refunds and disputes on all payments of the same customer (by email), ever.
    pub refunds_disputes: Option<i64>,
}

/// A tenant's rules, as configured in the plugin (`None`: the rule is off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskRules {
    pub use_stripe_score: bool,
    /// Flag payments scoring above this (0..100).
    pub flag_threshold: i64,
    pub velocity_window_secs: i64,
    pub max_payments: KeyCounts,
    pub max_failures: KeyCounts,
    pub velocity_points: i64,
    /// In minor units of `amount_currency`, or of any currency when that is `None`.
    pub amount_threshold: Option<i64>,
    pub amount_currency: Option<String>,
    pub amount_points: i64,
    pub country_mismatch: bool,
    pub country_mismatch_points: i64,
    pub max_refunds_disputes: Option<i64>,
    pub refunds_disputes_points: i64,
}

impl Default for RiskRules {
    /// The plugin's defaults (see its manifest).
    fn default() -> Self {
        Self {
            use_stripe_score: true,
            flag_threshold: 70,
            velocity_window_secs: 3600,
            max_payments: KeyCounts { email: Some(10), card: Some(10), ip: Some(20) },
            max_failures: KeyCounts { email: Some(3), card: Some(3), ip: Some(5) },
            velocity_points: 40,
            amount_threshold: None,
            amount_currency: None,
            amount_points: 30,
            country_mismatch: true,
            country_mismatch_points: 30,
            max_refunds_disputes: Some(3),
            refunds_disputes_points: 40,
        }
    }
}

/// A score and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub score: i64,
    pub reasons: Vec<RiskReason>,
}

impl Assessment {
    pub fn flagged(&self, rules: &RiskRules) -> bool {
        self.score > rules.flag_threshold
    }

    /// The reasons as one line, for a timeline entry or a message.
    pub fn summary(&self) -> String {
        self.reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; ")
    }
}

/// What Radar's outcome adds.
pub fn stripe_points(level: Option<&str>, score: Option<i64>) -> i64 {
    if let Some(s) = score {
        return s.clamp(0, 100);
    }
    match level {
        Some("highest") => 90,
        Some("elevated") => 70,
        Some("normal") => 10,
        _ => 0,
    }
}

fn money(amount: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => c.format(amount),
        Err(_) => format!("{amount} {}", currency.to_uppercase()),
    }
}

fn window_label(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Reads one key's count out of [`KeyCounts`].
type KeyOf = fn(&KeyCounts) -> Option<i64>;

/// Scores `facts` under `rules`.
pub fn assess(facts: &RiskFacts, rules: &RiskRules) -> Assessment {
    let mut reasons = Vec::new();
    if rules.use_stripe_score {
        let points = stripe_points(facts.stripe_risk_level.as_deref(), facts.stripe_risk_score);
        if points > 0 {
            let level = facts.stripe_risk_level.as_deref().unwrap_or("unknown");
            let message = match facts.stripe_risk_score {
                Some(s) => format!("Stripe Radar risk score {s} ({level})"),
                None => format!("Stripe Radar risk level {level}"),
            };
            reasons.push(RiskReason { code: "stripe_risk".into(), message, points });
        }
    }
    let window = window_label(rules.velocity_window_secs);
    let keys: [(&str, &str, KeyOf); 3] =
        [("email", "this email", |k| k.email), ("card", "this card", |k| k.card), ("ip", "this IP address", |k| k.ip)];
    for (kind, counts, limits, noun) in
        [("payments", &facts.payments, &rules.max_payments, "payments"), ("failures", &facts.failures, &rules.max_failures, "failed payments")]
    {
        for (key, label, get) in keys {
            if let (Some(n), Some(max)) = (get(counts), get(limits)) {
                if n > max {
                    reasons.push(RiskReason {
                        code: format!("velocity_{kind}_{key}"),
                        message: format!("{n} {noun} from {label} within {window} (limit {max})"),
                        points: rules.velocity_points,
                    });
                }
            }
        }
    }
    if let Some(threshold) = rules.amount_threshold {
        let same_currency = rules.amount_currency.as_deref().is_none_or(|c| c.trim().eq_ignore_ascii_case(facts.currency.trim()));
        if same_currency && facts.amount > threshold {
            reasons.push(RiskReason {
                code: "amount_over_threshold".into(),
                message: format!("amount {} is over {}", money(facts.amount, &facts.currency), money(threshold, &facts.currency)),
                points: rules.amount_points,
            });
        }
    }
    if rules.country_mismatch {
        if let (Some(card), Some(billing)) = (facts.card_country.as_deref(), facts.billing_country.as_deref()) {
            if !card.trim().is_empty() && !billing.trim().is_empty() && !card.trim().eq_ignore_ascii_case(billing.trim()) {
                reasons.push(RiskReason {
                    code: "country_mismatch".into(),
                    message: format!("card country {} differs from billing country {}", card.trim().to_uppercase(), billing.trim().to_uppercase()),
                    points: rules.country_mismatch_points,
                });
            }
        }
    }
    if let (Some(n), Some(max)) = (facts.refunds_disputes, rules.max_refunds_disputes) {
        if n > max {
            reasons.push(RiskReason {
                code: "refunds_disputes".into(),
                message: format!("{n} refunds and disputes by this customer (limit {max})"),
                points: rules.refunds_disputes_points,
            });
        }
    }
    let score = reasons.iter().map(|r| r.points).sum::<i64>().clamp(0, 100);
    Assessment { score, reasons }
}

// ---------------------------------------------------------------------------------------------
// The review queue.

pub const REVIEW_STATUSES: [&str; 3] = ["open", "safe", "fraudulent"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RiskReviewOut {
    /// The flagged payment's id (`pay_…`): a payment is flagged at most once.
    #[cfg_attr(feature = "ssr", schema(example = "pay_4Hq…"))]
    pub id: String,
    /// Always `risk_review`.
    pub object: String,
    pub payment_id: String,
    /// open, safe or fraudulent.
    pub status: String,
    pub score: i64,
    /// The tenant's flag threshold when the payment was flagged.
    pub threshold: i64,
    pub reasons: Vec<RiskReason>,
    pub amount: i64,
    pub currency: String,
    pub customer_email: Option<String>,
    /// The payment's own status in the ledger.
    pub payment_status: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub flagged_at: OffsetDateTime,
    /// Who closed the review (`usr_…` or `key_…`).
    pub reviewed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub reviewed_at: Option<OffsetDateTime>,
    pub note: Option<String>,
}

/// The body of mark-safe and mark-fraudulent (optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RiskReviewIn {
    /// Why, for the timeline and the audit log (at most 500 characters).
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> RiskRules {
        RiskRules {
            use_stripe_score: true,
            flag_threshold: 50,
            velocity_window_secs: 3600,
            max_payments: KeyCounts { email: Some(3), card: Some(3), ip: Some(3) },
            max_failures: KeyCounts { email: Some(2), card: Some(2), ip: Some(2) },
            velocity_points: 40,
            amount_threshold: Some(100_000),
            amount_currency: Some("usd".into()),
            amount_points: 30,
            country_mismatch: true,
            country_mismatch_points: 35,
            max_refunds_disputes: Some(2),
            refunds_disputes_points: 45,
        }
    }

    fn base() -> RiskFacts {
        RiskFacts { amount: 5_000, currency: "usd".into(), ..Default::default() }
    }

    /// Each rule at its edge: the value that just passes and the one that just trips it.
    #[test]
    fn each_rule_triggers_just_above_its_limit_and_not_at_it() {
        type Case = (&'static str, fn(&mut RiskFacts), Option<(&'static str, i64)>);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("nothing known",                    |_| {},                                                    None),
            ("3 payments per email (limit 3)",   |f| f.payments.email = Some(3),                            None),
            ("4 payments per email",             |f| f.payments.email = Some(4),                            Some(("velocity_payments_email", 40))),
            ("3 payments per card",              |f| f.payments.card = Some(3),                             None),
            ("4 payments per card",              |f| f.payments.card = Some(4),                             Some(("velocity_payments_card", 40))),
            ("3 payments per IP",                |f| f.payments.ip = Some(3),                               None),
            ("4 payments per IP",                |f| f.payments.ip = Some(4),                               Some(("velocity_payments_ip", 40))),
            ("2 failures per email (limit 2)",   |f| f.failures.email = Some(2),                            None),
            ("3 failures per email",             |f| f.failures.email = Some(3),                            Some(("velocity_failures_email", 40))),
            ("2 failures per card",              |f| f.failures.card = Some(2),                             None),
            ("3 failures per card",              |f| f.failures.card = Some(3),                             Some(("velocity_failures_card", 40))),
            ("2 failures per IP",                |f| f.failures.ip = Some(2),                               None),
            ("3 failures per IP",                |f| f.failures.ip = Some(3),                               Some(("velocity_failures_ip", 40))),
            ("amount at the threshold",          |f| f.amount = 100_000,                                    None),
            ("amount one cent over",             |f| f.amount = 100_001,                                    Some(("amount_over_threshold", 30))),
            ("over, in another currency",        |f| { f.amount = 100_001; f.currency = "eur".into() },    None),
            ("threshold currency in capitals",   |f| { f.amount = 100_001; f.currency = "USD".into() },    Some(("amount_over_threshold", 30))),
            ("same countries",                   |f| { f.card_country = Some("US".into()); f.billing_country = Some("us".into()) }, None),
            ("card country unknown",             |f| f.billing_country = Some("US".into()),                 None),
            ("countries differ",                 |f| { f.card_country = Some("NG".into()); f.billing_country = Some("US".into()) }, Some(("country_mismatch", 35))),
            ("2 refunds/disputes (limit 2)",     |f| f.refunds_disputes = Some(2),                          None),
            ("3 refunds/disputes",               |f| f.refunds_disputes = Some(3),                          Some(("refunds_disputes", 45))),
            ("Radar score 0",                    |f| f.stripe_risk_score = Some(0),                         None),
            ("Radar score 47",                   |f| { f.stripe_risk_score = Some(47); f.stripe_risk_level = Some("normal".into()) }, Some(("stripe_risk", 47))),
            ("Radar level elevated, no score",   |f| f.stripe_risk_level = Some("elevated".into()),         Some(("stripe_risk", 70))),
            ("Radar level not assessed",         |f| f.stripe_risk_level = Some("not_assessed".into()),     None),
        ];
        for (name, arrange, expected) in cases {
            let mut facts = base();
            arrange(&mut facts);
            let a = assess(&facts, &quiet());
            let got: Vec<(&str, i64)> = a.reasons.iter().map(|r| (r.code.as_str(), r.points)).collect();
            match expected {
                None => assert!(got.is_empty() && a.score == 0, "{name}: expected no reason, got {got:?}"),
                Some(reason) => {
                    assert_eq!(got, vec![*reason], "{name}");
                    assert_eq!(a.score, reason.1, "{name}");
                }
            }
        }
    }

    #[test]
    fn a_rule_switched_off_never_triggers() {
        let mut rules = quiet();
        rules.max_payments = KeyCounts::default();
        rules.max_failures = KeyCounts::default();
        rules.amount_threshold = None;
        rules.country_mismatch = false;
        rules.max_refunds_disputes = None;
        rules.use_stripe_score = false;
        let facts = RiskFacts {
            amount: 10_000_000,
            currency: "usd".into(),
            stripe_risk_level: Some("highest".into()),
            stripe_risk_score: Some(99),
            card_country: Some("NG".into()),
            billing_country: Some("US".into()),
            payments: KeyCounts { email: Some(100), card: Some(100), ip: Some(100) },
            failures: KeyCounts { email: Some(100), card: Some(100), ip: Some(100) },
            refunds_disputes: Some(100),
        };
        assert_eq!(assess(&facts, &rules), Assessment { score: 0, reasons: vec![] });
    }

    #[test]
    fn points_add_up_to_at_most_100_and_flag_strictly_above_the_threshold() {
        let rules = quiet();
        let mut facts = base();
        facts.stripe_risk_score = Some(10);
        facts.amount = 100_001; // +30
        let a = assess(&facts, &rules);
        assert_eq!(a.score, 40);
        assert!(!a.flagged(&rules));
        facts.stripe_risk_score = Some(20);
        let a = assess(&facts, &rules);
        assert_eq!(a.score, 50, "at the threshold");
        assert!(!a.flagged(&rules));
        facts.stripe_risk_score = Some(21);
        assert!(assess(&facts, &rules).flagged(&rules), "one point above");

        facts.card_country = Some("GB".into());
        facts.billing_country = Some("FR".into());
        facts.payments.card = Some(9);
        facts.refunds_disputes = Some(9);
        let a = assess(&facts, &rules);
        assert_eq!(a.score, 100, "capped");
        assert_eq!(a.reasons.len(), 5);
        assert!(a.summary().contains("card country GB differs from billing country FR"), "{}", a.summary());
        assert!(a.summary().contains("amount 1000.01 USD is over 1000.00 USD"), "{}", a.summary());
    }

    #[test]
    fn an_amount_threshold_without_a_currency_compares_minor_units_of_any_currency() {
        let mut rules = quiet();
        rules.amount_currency = None;
        let facts = RiskFacts { amount: 100_001, currency: "jpy".into(), ..Default::default() };
        let a = assess(&facts, &rules);
        assert_eq!(a.reasons[0].message, "amount 100001 JPY is over 100000 JPY");
    }

    #[test]
    fn windows_read_in_their_largest_whole_unit() {
        assert_eq!(window_label(3600), "1 h");
        assert_eq!(window_label(86_400 * 2), "2 d");
        assert_eq!(window_label(900), "15 min");
        assert_eq!(window_label(61), "61 s");
    }
}
