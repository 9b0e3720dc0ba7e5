//! Fixed-window counters in memory, for login and (later) checkout limits.
//!
//! Per process: with several replicas each enforces its own window, which bounds an attacker to
//! `replicas × max` per window — acceptable for login throttling, and free of a DB write per try.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::config::RateLimit;

#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self { limit, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one hit for `key`; `Err(retry_after)` when the window is full.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        self.check(key, true)
    }

    /// Whether `key` is currently blocked, without counting.
    pub fn peek(&self, key: &str) -> Result<(), Duration> {
        self.check(key, false)
    }

    pub fn reset(&self, key: &str) {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    fn check(&self, key: &str, count: bool) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            let window = self.limit.window;
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.limit.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit.max {
            return Err(self.limit.window.saturating_sub(now.duration_since(entry.0)).max(Duration::from_secs(1)));
        }
        if count {
            entry.1 += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_blocks_after_max_hits_and_reports_when_to_retry() {
        let limiter = RateLimiter::new(RateLimit { max: 2, window: Duration::from_secs(60) });
        assert!(limiter.hit("ip:1").is_ok());
        assert!(limiter.hit("ip:1").is_ok());
        let retry = limiter.hit("ip:1").unwrap_err();
        assert!(retry <= Duration::from_secs(60) && retry >= Duration::from_secs(1));
        assert!(limiter.hit("ip:2").is_ok(), "keys are independent");
        limiter.reset("ip:1");
        assert!(limiter.hit("ip:1").is_ok());
    }
}
