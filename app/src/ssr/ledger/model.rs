//! The ledger's rule for one payment, free of I/O: what Stripe has told us (the facts) and the
//! state that follows from them.
//!
//! Stripe delivers events late, twice and out of order. So nothing here depends on arrival
//! order: every fact merges by a rule that is commutative, associative and idempotent — a
//! maximum, a set union, a per-object status that only moves forward in rank — and the payment's
//! status is *derived* from the merged facts, never copied from the last event. Any order of the
//! same events therefore ends in the same state, which the property test at the bottom checks.

use std::collections::BTreeMap;

/// A PaymentIntent's own status, ranked by how far along it is. Terminal ones rank highest, so a
/// late `processing` never undoes `succeeded`.
pub fn intent_status_rank(status: &str) -> u8 {
    match status {
        "requires_payment_method" => 1,
        "requires_confirmation" => 2,
        "requires_action" => 3,
        "processing" => 4,
        "requires_capture" => 5,
        "canceled" => 6,
        "succeeded" => 7,
        _ => 0,
    }
}

/// A refund's status; `succeeded`, `failed` and `canceled` are final.
pub fn refund_status_rank(status: &str) -> u8 {
    match status {
        "pending" | "requires_action" => 1,
        "succeeded" | "failed" | "canceled" => 2,
        _ => 0,
    }
}

/// A dispute's status; `won`, `lost` and `warning_closed` are final.
pub fn dispute_status_rank(status: &str) -> u8 {
    match status {
        "warning_needs_response" | "needs_response" => 1,
        "warning_under_review" | "under_review" => 2,
        "won" | "lost" | "warning_closed" => 3,
        _ => 0,
    }
}

/// A status with the Stripe `created`/event time it was seen at; merging keeps the higher rank,
/// then the later time, then the greater name (a total order, so ties cannot depend on arrival).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub status: String,
    pub rank: u8,
    pub seen_at: i64,
}

impl Ranked {
    pub fn new(status: &str, rank: u8, seen_at: i64) -> Self {
        Self { status: status.to_owned(), rank, seen_at }
    }

    fn key(&self) -> (u8, i64, &str) {
        // A final status (top rank) is never replaced, even by another final one seen later: the
        // first final status Stripe reported wins, so `lost` stays lost. Before that, the latest
        // report of the highest rank wins.
        let is_final = self.rank == u8::MAX;
        (self.rank, if is_final { -self.seen_at } else { self.seen_at }, self.status.as_str())
    }

    pub fn merge(&mut self, other: &Ranked) {
        if other.key() > self.key() {
            *self = other.clone();
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFact {
    pub amount: i64,
    pub status: Ranked,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeFact {
    pub amount: i64,
    pub reason: String,
    pub status: Ranked,
    pub evidence_due_by: Option<i64>,
}

impl DisputeFact {
    pub fn is_open(&self) -> bool {
        matches!(self.status.status.as_str(), "needs_response" | "under_review" | "warning_needs_response" | "warning_under_review")
    }

    pub fn is_lost(&self) -> bool {
        self.status.status == "lost"
    }
}

/// Everything Stripe has told us about one payment, merged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentFacts {
    pub amount: i64,
    pub currency: String,
    /// Largest `amount_captured` / `amount_received` seen.
    pub amount_captured: i64,
    /// Largest cumulative `amount_refunded` a charge snapshot reported (covers refunds whose own
    /// events never arrived).
    pub charge_amount_refunded: i64,
    pub intent_status: Option<Ranked>,
    /// A charge or intent failed at some point (a later success overrides it in the status).
    pub failed: bool,
    pub failure_message: Option<String>,
    pub customer_email: Option<String>,
    /// Earliest Stripe `created` of the payment's objects.
    pub created: Option<i64>,
    pub refunds: BTreeMap<String, RefundFact>,
    pub disputes: BTreeMap<String, DisputeFact>,
}

/// One thing Stripe said about a payment (one event may carry several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    Amount { amount: i64, currency: String, created: i64 },
    IntentStatus { status: String, at: i64 },
    Captured { amount: i64 },
    ChargeRefunded { cumulative: i64 },
    Failed { message: Option<String> },
    CustomerEmail(String),
    Refund { id: String, amount: i64, status: String, reason: Option<String>, at: i64 },
    Dispute { id: String, amount: i64, reason: String, status: String, evidence_due_by: Option<i64>, at: i64 },
}

fn final_aware(status: &str, rank: u8, max_rank: u8, at: i64) -> Ranked {
    // Final statuses get the top rank so that no later non-final report can replace them.
    Ranked::new(status, if rank == max_rank { u8::MAX } else { rank }, at)
}

impl PaymentFacts {
    pub fn apply(&mut self, fact: &Fact) {
        match fact {
            Fact::Amount { amount, currency, created } => {
                self.amount = self.amount.max(*amount);
                if self.currency.is_empty() || currency < &self.currency {
                    self.currency = currency.clone();
                }
                self.created = Some(self.created.map_or(*created, |c| c.min(*created)));
            }
            Fact::IntentStatus { status, at } => {
                let rank = intent_status_rank(status);
                let ranked = if matches!(status.as_str(), "succeeded" | "canceled") { Ranked::new(status, u8::MAX, *at) } else { Ranked::new(status, rank, *at) };
                match &mut self.intent_status {
                    Some(current) => current.merge(&ranked),
                    None => self.intent_status = Some(ranked),
                }
            }
            Fact::Captured { amount } => self.amount_captured = self.amount_captured.max(*amount),
            Fact::ChargeRefunded { cumulative } => self.charge_amount_refunded = self.charge_amount_refunded.max(*cumulative),
            Fact::Failed { message } => {
                self.failed = true;
                if let Some(m) = message {
                    if self.failure_message.as_ref().is_none_or(|current| m < current) {
                        self.failure_message = Some(m.clone());
                    }
                }
            }
            Fact::CustomerEmail(email) => {
                if self.customer_email.as_ref().is_none_or(|current| email < current) {
                    self.customer_email = Some(email.clone());
                }
            }
            Fact::Refund { id, amount, status, reason, at } => {
                let ranked = final_aware(status, refund_status_rank(status), 2, *at);
                let entry = self.refunds.entry(id.clone()).or_insert_with(|| RefundFact { amount: *amount, status: ranked.clone(), reason: reason.clone() });
                entry.amount = entry.amount.max(*amount);
                entry.status.merge(&ranked);
                if entry.reason.is_none() {
                    entry.reason = reason.clone();
                }
            }
            Fact::Dispute { id, amount, reason, status, evidence_due_by, at } => {
                let ranked = final_aware(status, dispute_status_rank(status), 3, *at);
                let entry = self.disputes.entry(id.clone()).or_insert_with(|| DisputeFact {
                    amount: *amount,
                    reason: reason.clone(),
                    status: ranked.clone(),
                    evidence_due_by: *evidence_due_by,
                });
                entry.amount = entry.amount.max(*amount);
                entry.status.merge(&ranked);
                entry.evidence_due_by = match (entry.evidence_due_by, evidence_due_by) {
                    (Some(a), Some(b)) => Some(a.max(*b)),
                    (a, b) => a.or(*b),
                };
            }
        }
    }

    /// Refunded so far: the larger of what the charge reports and what refunds that did not fail
    /// add up to, never more than was captured.
    pub fn amount_refunded(&self) -> i64 {
        let by_refunds: i64 = self
            .refunds
            .values()
            .filter(|r| matches!(r.status.status.as_str(), "succeeded" | "pending" | "requires_action"))
            .map(|r| r.amount)
            .sum();
        let refunded = self.charge_amount_refunded.max(by_refunds);
        if self.amount_captured > 0 {
            refunded.min(self.amount_captured)
        } else {
            refunded
        }
    }

    /// Money lost to disputes decided against the merchant.
    pub fn amount_disputed_lost(&self) -> i64 {
        self.disputes.values().filter(|d| d.is_lost()).map(|d| d.amount).sum()
    }

    /// Money held by disputes still open.
    pub fn amount_disputed_open(&self) -> i64 {
        self.disputes.values().filter(|d| d.is_open()).map(|d| d.amount).sum()
    }

    pub fn succeeded(&self) -> bool {
        self.amount_captured > 0 || self.intent_status.as_ref().is_some_and(|s| s.status == "succeeded")
    }

    /// The payment's status, from the facts alone.
    pub fn status(&self) -> &'static str {
        if self.disputes.values().any(DisputeFact::is_lost) {
            return "dispute_lost";
        }
        if self.disputes.values().any(DisputeFact::is_open) {
            return "disputed";
        }
        let refunded = self.amount_refunded();
        if refunded > 0 && refunded >= self.amount_captured.max(1) {
            return "refunded";
        }
        if refunded > 0 {
            return "partially_refunded";
        }
        if self.succeeded() {
            return "succeeded";
        }
        match self.intent_status.as_ref().map(|s| s.status.as_str()) {
            Some("canceled") => "canceled",
            _ if self.failed => "failed",
            Some("requires_capture") => "requires_capture",
            Some("processing") => "processing",
            Some("requires_action") => "requires_action",
            Some("requires_confirmation") => "requires_confirmation",
            _ => "requires_payment_method",
        }
    }

    /// What the merchant keeps: captured, less refunds and lost disputes.
    pub fn net(&self) -> i64 {
        self.amount_captured - self.amount_refunded() - self.amount_disputed_lost()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{seq::SliceRandom, Rng, SeedableRng};

    fn fold(facts: &[Fact]) -> PaymentFacts {
        let mut p = PaymentFacts::default();
        for f in facts {
            p.apply(f);
        }
        p
    }

    /// A plausible life of one payment, in Stripe's order.
    fn story(rng: &mut impl Rng) -> Vec<Fact> {
        let amount = rng.gen_range(100..100_000);
        let mut t = 1_700_000_000;
        let mut tick = || {
            t += 1;
            t
        };
        let mut facts = vec![
            Fact::Amount { amount, currency: "usd".into(), created: tick() },
            Fact::IntentStatus { status: "requires_payment_method".into(), at: tick() },
        ];
        if rng.gen_bool(0.15) {
            facts.push(Fact::Failed { message: Some("card_declined".into()) });
            facts.push(Fact::IntentStatus { status: "requires_payment_method".into(), at: tick() });
            if rng.gen_bool(0.5) {
                return facts;
            }
        }
        if rng.gen_bool(0.1) {
            facts.push(Fact::IntentStatus { status: "requires_capture".into(), at: tick() });
            facts.push(Fact::IntentStatus { status: "canceled".into(), at: tick() });
            return facts;
        }
        facts.push(Fact::IntentStatus { status: "processing".into(), at: tick() });
        facts.push(Fact::Captured { amount });
        facts.push(Fact::IntentStatus { status: "succeeded".into(), at: tick() });
        facts.push(Fact::CustomerEmail("buyer@example.com".into()));
        let mut refunded = 0;
        for i in 0..rng.gen_range(0..4) {
            let left = amount - refunded;
            if left <= 0 {
                break;
            }
            let part = rng.gen_range(1..=left);
            let id = format!("re_{i}");
            let fails = rng.gen_bool(0.2);
            facts.push(Fact::Refund { id: id.clone(), amount: part, status: "pending".into(), reason: None, at: tick() });
            if fails {
                facts.push(Fact::Refund { id, amount: part, status: "failed".into(), reason: None, at: tick() });
            } else {
                refunded += part;
                facts.push(Fact::Refund { id, amount: part, status: "succeeded".into(), reason: None, at: tick() });
                facts.push(Fact::ChargeRefunded { cumulative: refunded });
            }
        }
        for i in 0..rng.gen_range(0..3) {
            let id = format!("dp_{i}");
            let disputed = rng.gen_range(1..=amount);
            let dispute = |status: &str, at: i64| Fact::Dispute {
                id: id.clone(),
                amount: disputed,
                reason: "fraudulent".into(),
                status: status.into(),
                evidence_due_by: Some(1_800_000_000),
                at,
            };
            facts.push(dispute("needs_response", tick()));
            if rng.gen_bool(0.5) {
                facts.push(dispute("under_review", tick()));
            }
            match rng.gen_range(0..3) {
                0 => facts.push(dispute("won", tick())),
                1 => facts.push(dispute("lost", tick())),
                _ => {}
            }
        }
        facts
    }

    #[test]
    fn shuffled_and_duplicated_delivery_ends_in_the_in_order_state() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x9a7b05);
        for case in 0..3_000 {
            let in_order = story(&mut rng);
            let expected = fold(&in_order);
            let mut delivered = in_order.clone();
            for _ in 0..rng.gen_range(0..in_order.len()) {
                let dup = in_order[rng.gen_range(0..in_order.len())].clone();
                delivered.push(dup);
            }
            delivered.shuffle(&mut rng);
            let got = fold(&delivered);
            assert_eq!(got, expected, "case {case}: {in_order:?}\n shuffled: {delivered:?}");
            assert_eq!(got.status(), expected.status(), "case {case}");
            // Conservation: refunds never exceed captures, the net is what is left of them.
            assert!(got.amount_refunded() <= got.amount_captured.max(got.charge_amount_refunded), "case {case}");
            assert_eq!(got.net(), got.amount_captured - got.amount_refunded() - got.amount_disputed_lost());
        }
    }

    #[test]
    fn a_late_processing_does_not_undo_success() {
        let p = fold(&[
            Fact::IntentStatus { status: "succeeded".into(), at: 10 },
            Fact::IntentStatus { status: "processing".into(), at: 20 },
        ]);
        assert_eq!(p.status(), "succeeded");
    }

    #[test]
    fn a_dispute_won_restores_the_prior_state_and_a_lost_one_is_final() {
        let base = vec![
            Fact::Amount { amount: 5000, currency: "usd".into(), created: 1 },
            Fact::Captured { amount: 5000 },
            Fact::Refund { id: "re_1".into(), amount: 1500, status: "succeeded".into(), reason: None, at: 2 },
        ];
        let opened = |status: &str, at| Fact::Dispute { id: "dp_1".into(), amount: 3500, reason: "fraudulent".into(), status: status.into(), evidence_due_by: None, at };
        let mut disputed = base.clone();
        disputed.push(opened("needs_response", 3));
        assert_eq!(fold(&disputed).status(), "disputed");
        assert_eq!(fold(&disputed).amount_disputed_open(), 3500);

        let mut won = disputed.clone();
        won.push(opened("won", 4));
        assert_eq!(fold(&won).status(), "partially_refunded");
        assert_eq!(fold(&won).net(), 3500);

        let mut lost = disputed.clone();
        lost.push(opened("lost", 4));
        // A late `needs_response` (or `won`) cannot reopen or flip a lost dispute.
        lost.push(opened("needs_response", 5));
        lost.push(opened("won", 6));
        let lost = fold(&lost);
        assert_eq!(lost.status(), "dispute_lost");
        assert_eq!(lost.net(), 0);
    }

    #[test]
    fn a_full_refund_closes_the_payment_as_refunded() {
        let p = fold(&[
            Fact::Amount { amount: 5000, currency: "usd".into(), created: 1 },
            Fact::Captured { amount: 5000 },
            Fact::ChargeRefunded { cumulative: 5000 },
        ]);
        assert_eq!(p.status(), "refunded");
        assert_eq!(p.amount_refunded(), 5000);
    }
}
