//! The order of billing snapshots, free of I/O.
//!
//! Stripe sends a whole object with every event, late, twice and out of order. Each stored row
//! remembers the [`Stamp`] of the snapshot it holds; a snapshot replaces it only when its stamp is
//! greater. The order is total — terminal first (a canceled subscription or a paid invoice is never
//! undone), then the event's `created` second, then a status rank for same-second events (Stripe
//! sends `invoice.finalized` and `invoice.paid` within one second), then the event id — so every
//! arrival order of the same events ends in the same row, which the tests at the bottom check.

/// Where a snapshot sits in the order of snapshots of one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub terminal: bool,
    /// The event's `created` (Unix seconds); 0 for a placeholder row.
    pub at: i64,
    pub rank: i64,
    pub event_id: String,
}

impl Stamp {
    /// The stamp of a placeholder row (made because another object named it first): any real
    /// snapshot replaces it.
    pub fn placeholder() -> Self {
        Self { terminal: false, at: 0, rank: 0, event_id: String::new() }
    }

    pub fn is_placeholder(&self) -> bool {
        self.at == 0 && self.event_id.is_empty()
    }

    /// Whether a snapshot stamped `self` replaces the one stamped `stored`.
    pub fn supersedes(&self, stored: &Stamp) -> bool {
        self > stored
    }
}

/// A subscription's status by how far along it usually is (same-second ties only) and whether it
/// is final.
pub fn subscription_rank(status: &str) -> (i64, bool) {
    match status {
        "incomplete" => (1, false),
        "trialing" => (2, false),
        "active" => (3, false),
        "past_due" => (4, false),
        "unpaid" => (5, false),
        "paused" => (6, false),
        "incomplete_expired" => (7, true),
        "canceled" => (8, true),
        _ => (0, false),
    }
}

/// An invoice's status: `paid` and `void` are final; `uncollectible` may still be paid.
pub fn invoice_rank(status: &str) -> (i64, bool) {
    match status {
        "draft" => (1, false),
        "open" => (2, false),
        "uncollectible" => (3, false),
        "paid" => (4, true),
        "void" => (4, true),
        _ => (0, false),
    }
}

/// A customer: a deletion is final.
pub fn customer_rank(deleted: bool) -> (i64, bool) {
    if deleted {
        (1, true)
    } else {
        (0, false)
    }
}

/// Statuses in which a subscription counts as live.
pub fn is_active(status: &str) -> bool {
    matches!(status, "active" | "trialing")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(status: &str, at: i64, id: &str) -> Stamp {
        let (rank, terminal) = invoice_rank(status);
        Stamp { terminal, at, rank, event_id: id.into() }
    }

    #[test]
    fn a_later_snapshot_replaces_an_earlier_one_and_not_the_other_way_round() {
        let older = stamp("open", 100, "evt_b");
        let newer = stamp("open", 101, "evt_a");
        assert!(newer.supersedes(&older));
        assert!(!older.supersedes(&newer));
    }

    #[test]
    fn within_one_second_the_status_further_along_wins() {
        let finalized = stamp("open", 100, "evt_z");
        let paid = stamp("paid", 100, "evt_a");
        assert!(paid.supersedes(&finalized));
        assert!(!finalized.supersedes(&paid));
    }

    #[test]
    fn a_terminal_status_is_never_undone_even_by_a_later_event() {
        let paid = stamp("paid", 100, "evt_a");
        let reopened = stamp("open", 500, "evt_b");
        assert!(!reopened.supersedes(&paid));
        let (rank, terminal) = subscription_rank("canceled");
        let canceled = Stamp { terminal, at: 100, rank, event_id: "evt_a".into() };
        let (rank, terminal) = subscription_rank("active");
        assert!(!Stamp { terminal, at: 900, rank, event_id: "evt_c".into() }.supersedes(&canceled));
    }

    #[test]
    fn a_perfect_tie_is_broken_by_the_event_id_so_order_cannot_matter() {
        let a = stamp("paid", 100, "evt_a");
        let b = stamp("paid", 100, "evt_b");
        assert!(b.supersedes(&a) && !a.supersedes(&b));
        assert!(!a.supersedes(&a), "the same snapshot again changes nothing");
    }

    #[test]
    fn any_real_snapshot_replaces_a_placeholder() {
        assert!(Stamp::placeholder().is_placeholder());
        assert!(stamp("draft", 1, "evt_1").supersedes(&Stamp::placeholder()));
        assert!(!Stamp::placeholder().supersedes(&stamp("draft", 1, "evt_1")));
    }

    #[test]
    fn every_arrival_order_keeps_the_same_winner() {
        // The greatest stamp wins from whichever order: check all permutations of five.
        let stamps =
            [stamp("draft", 10, "evt_1"), stamp("open", 11, "evt_2"), stamp("open", 12, "evt_3"), stamp("paid", 12, "evt_4"), stamp("open", 13, "evt_5")];
        let mut order: Vec<usize> = (0..stamps.len()).collect();
        let mut winners = std::collections::BTreeSet::new();
        permute(&mut order, 0, &mut |perm| {
            let mut held = Stamp::placeholder();
            for &i in perm {
                if stamps[i].supersedes(&held) {
                    held = stamps[i].clone();
                }
            }
            winners.insert(held.event_id);
        });
        assert_eq!(winners.into_iter().collect::<Vec<_>>(), vec!["evt_4".to_owned()], "paid is final: the later `open` cannot undo it");
    }

    fn permute(v: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
        if k == v.len() {
            f(v);
            return;
        }
        for i in k..v.len() {
            v.swap(k, i);
            permute(v, k + 1, f);
            v.swap(k, i);
        }
    }
}
