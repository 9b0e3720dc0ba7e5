//! When to try again, as data and small pure functions: the retry schedule, `Retry-After`, what
//! a receiver's status code means, and the per-endpoint circuit breaker.

use std::time::Duration;

/// Delay before each attempt: the first goes at once, the last (eighth) 10 h after the seventh;
/// when it fails too the message is `failed`.
pub const RETRY_SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// After `attempts_made` attempts failed, how long until the next; `None` once the schedule is
/// used up.
pub fn next_delay(attempts_made: u32) -> Option<Duration> {
    RETRY_SCHEDULE.get(attempts_made as usize).copied().filter(|_| attempts_made > 0)
}

/// What a response (or its absence) means for the message and the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// 410 Gone: the receiver wants no more; the endpoint is disabled.
    Gone,
    /// 429, 502, 503, 504: the receiver is overloaded; slow this endpoint down.
    SlowDown,
    /// Anything else (4xx, 5xx, 3xx — redirects are not followed —, a timeout, a refused
    /// connection): retry on the schedule.
    Failed,
}

pub fn verdict(status: Option<u16>) -> Verdict {
    match status {
        Some(s) if (200..300).contains(&s) => Verdict::Delivered,
        Some(410) => Verdict::Gone,
        Some(429 | 502 | 503 | 504) => Verdict::SlowDown,
        _ => Verdict::Failed,
    }
}

/// `Retry-After` as seconds or as an HTTP date, relative to `now_unix` seconds, capped at `max`.
/// A date in the past means "now" (zero); garbage means nothing.
pub fn parse_retry_after(value: &str, now_unix: i64, max: Duration) -> Option<Duration> {
    let value = value.trim();
    let delay = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = parse_http_date(value)?;
        Duration::from_secs(u64::try_from(at - now_unix).unwrap_or(0))
    };
    Some(delay.min(max))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP/1.1 senders must use.
fn parse_http_date(value: &str) -> Option<i64> {
    use time::{format_description::well_known::Rfc2822, OffsetDateTime};
    let format = time::macros::format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    if let Ok(t) = time::PrimitiveDateTime::parse(value, &format) {
        return Some(t.assume_utc().unix_timestamp());
    }
    OffsetDateTime::parse(value, &Rfc2822).ok().map(|t| t.unix_timestamp())
}

/// The circuit of one endpoint, read from its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Sending normally.
    Closed,
    /// Too many failures in a row: nothing is sent until `until`.
    Open { until: i64 },
    /// The cool-down is over: one probe may go; its outcome closes or reopens the circuit.
    HalfOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    pub failures_to_open: u32,
    pub cooldown_ms: i64,
}

/// The breaker columns of an endpoint after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerState {
    pub consecutive_failures: i64,
    pub open_until: Option<i64>,
}

impl Breaker {
    pub fn circuit(&self, s: BreakerState, now: i64) -> Circuit {
        match s.open_until {
            Some(until) if now < until => Circuit::Open { until },
            _ if s.consecutive_failures >= i64::from(self.failures_to_open) => Circuit::HalfOpen,
            _ => Circuit::Closed,
        }
    }

    pub fn on_success(&self) -> BreakerState {
        BreakerState { consecutive_failures: 0, open_until: None }
    }

    /// One more failure: at the threshold (or failing the half-open probe) the circuit opens for
    /// the cool-down.
    pub fn on_failure(&self, s: BreakerState, now: i64) -> BreakerState {
        let failures = s.consecutive_failures + 1;
        let open_until = if failures >= i64::from(self.failures_to_open) { Some(now + self.cooldown_ms) } else { s.open_until };
        BreakerState { consecutive_failures: failures, open_until }
    }

    /// How many messages the sender may claim for this endpoint now.
    pub fn allowance(&self, s: BreakerState, now: i64, in_flight: usize) -> usize {
        match self.circuit(s, now) {
            Circuit::Closed => in_flight,
            Circuit::Open { .. } => 0,
            Circuit::HalfOpen => 1,
        }
    }
}

/// A token bucket per endpoint (messages per second), in real time: it protects the receiver, so
/// it follows the wall clock, not the bus clock tests drive.
#[derive(Debug, Clone)]
pub struct RateBucket {
    rate: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl RateBucket {
    pub fn new(per_sec: u32, now: std::time::Instant) -> Self {
        let rate = f64::from(per_sec.max(1));
        Self { rate, tokens: rate.min(rate.max(1.0)), last: now }
    }

    pub fn set_rate(&mut self, per_sec: u32) {
        self.rate = f64::from(per_sec.max(1));
    }

    fn refill(&mut self, now: std::time::Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate.max(1.0));
        self.last = now;
    }

    /// Takes up to `want` tokens; returns how many were granted.
    pub fn take(&mut self, want: usize, now: std::time::Instant) -> usize {
        self.refill(now);
        let granted = (self.tokens.floor() as usize).min(want);
        self.tokens -= granted as f64;
        granted
    }

    /// How long until one token is available.
    pub fn wait(&mut self, now: std::time::Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_is_immediate_5s_5m_30m_2h_5h_10h_10h_then_failed() {
        let expected = [5, 300, 1800, 7200, 18000, 36000, 36000];
        for (made, secs) in (1..).zip(expected) {
            assert_eq!(next_delay(made), Some(Duration::from_secs(secs)), "after {made} attempts");
        }
        assert_eq!(next_delay(8), None, "eight attempts, then failed");
        assert_eq!(next_delay(9), None);
        assert_eq!(RETRY_SCHEDULE[0], Duration::ZERO, "the first attempt goes at once");
    }

    #[test]
    fn status_codes_mean_what_the_receiver_says() {
        assert_eq!(verdict(Some(200)), Verdict::Delivered);
        assert_eq!(verdict(Some(204)), Verdict::Delivered);
        assert_eq!(verdict(Some(410)), Verdict::Gone);
        for s in [429, 502, 503, 504] {
            assert_eq!(verdict(Some(s)), Verdict::SlowDown, "{s}");
        }
        for s in [301, 302, 307, 400, 401, 404, 500] {
            assert_eq!(verdict(Some(s)), Verdict::Failed, "{s}");
        }
        assert_eq!(verdict(None), Verdict::Failed, "a timeout or refused connection");
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_an_http_date_and_bounded() {
        let max = Duration::from_secs(3600);
        let now = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("120", now, max), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now, max), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("999999", now, max), Some(max), "capped");
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now, max), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now, max), Some(Duration::ZERO), "a past date is now");
        assert_eq!(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", now, max), Some(max));
        assert_eq!(parse_retry_after("soon", now, max), None);
        assert_eq!(parse_retry_after("-5", now, max), None);
        assert_eq!(parse_retry_after("", now, max), None);
    }

    #[test]
    fn the_breaker_opens_after_n_failures_then_lets_one_probe_through() {
        let b = Breaker { failures_to_open: 3, cooldown_ms: 60_000 };
        let mut s = b.on_success();
        assert_eq!(b.circuit(s, 0), Circuit::Closed);
        s = b.on_failure(s, 1_000);
        s = b.on_failure(s, 2_000);
        assert_eq!(b.circuit(s, 2_000), Circuit::Closed, "two failures: still closed");
        assert_eq!(b.allowance(s, 2_000, 4), 4);
        s = b.on_failure(s, 3_000);
        assert_eq!(b.circuit(s, 3_000), Circuit::Open { until: 63_000 });
        assert_eq!(b.allowance(s, 62_999, 4), 0, "open: nothing is sent");
        assert_eq!(b.circuit(s, 63_000), Circuit::HalfOpen);
        assert_eq!(b.allowance(s, 63_000, 4), 1, "half-open: one probe");
        // The probe fails: open again for a full cool-down.
        let reopened = b.on_failure(s, 64_000);
        assert_eq!(b.circuit(reopened, 64_000), Circuit::Open { until: 124_000 });
        // The probe succeeds: closed, count reset.
        let closed = b.on_success();
        assert_eq!(b.circuit(closed, 64_000), Circuit::Closed);
        assert_eq!(closed.consecutive_failures, 0);
    }

    #[test]
    fn the_rate_bucket_grants_its_rate_per_second() {
        let t0 = std::time::Instant::now();
        let mut bucket = RateBucket::new(10, t0);
        assert_eq!(bucket.take(100, t0), 10, "a full second's worth at first");
        assert_eq!(bucket.take(1, t0), 0);
        assert!(bucket.wait(t0) > Duration::ZERO);
        assert_eq!(bucket.take(100, t0 + Duration::from_millis(500)), 5);
        let mut slow = RateBucket::new(1, t0);
        assert_eq!(slow.take(4, t0), 1);
        assert_eq!(slow.take(4, t0 + Duration::from_millis(999)), 0);
        assert_eq!(slow.take(4, t0 + Duration::from_millis(2000)), 1, "never more than a second's worth stored");
    }
}
