//! When a failed delivery is tried again: exponential in the attempt number, capped, with "equal
//! jitter" (half fixed, half random) so retries of one outage do not arrive in lockstep.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The full delay before the attempt after `attempt` (1-based), before jitter.
    pub fn ceiling_ms(&self, attempt: u32) -> i64 {
        let exp = attempt.saturating_sub(1).min(30);
        let base = self.base.as_millis() as i64;
        base.saturating_mul(1_i64 << exp).min(self.max.as_millis() as i64)
    }

    /// A delay in `[ceiling / 2, ceiling]`.
    pub fn delay_ms(&self, attempt: u32, rng: &mut impl Rng) -> i64 {
        let ceiling = self.ceiling_ms(attempt);
        let half = ceiling / 2;
        half + rng.gen_range(0..=ceiling - half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff { base: Duration::from_secs(1), max: Duration::from_secs(60) }
    }

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        let b = backoff();
        assert_eq!(b.ceiling_ms(1), 1_000);
        assert_eq!(b.ceiling_ms(2), 2_000);
        assert_eq!(b.ceiling_ms(3), 4_000);
        assert_eq!(b.ceiling_ms(7), 60_000);
        assert_eq!(b.ceiling_ms(500), 60_000);
    }

    #[test]
    fn jitter_stays_between_half_and_the_ceiling() {
        let b = backoff();
        let mut rng = rand::thread_rng();
        for attempt in 1..10 {
            for _ in 0..200 {
                let d = b.delay_ms(attempt, &mut rng);
                assert!(d >= b.ceiling_ms(attempt) / 2 && d <= b.ceiling_ms(attempt), "{attempt}: {d}");
            }
        }
    }
}
