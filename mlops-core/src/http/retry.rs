//! Retry policy: exponential backoff with full jitter, `Retry-After`, a total budget.

use std::time::{Duration, SystemTime};

/// How [`HttpClient`](super::HttpClient) retries failed attempts.
///
/// Only retryable failures are retried (429 → `RateLimited`; 408 and timeouts →
/// `Timeout`; 502/503/504, connection failures and resets → `Unavailable`), and only
/// for idempotent requests — except connection failures before anything was sent,
/// which are safe for every request. The wait before retry *n* (0-based) is drawn
/// uniformly from `[0, min(max_backoff, initial_backoff * 2^n)]` ("full jitter"),
/// raised to the server's `Retry-After` when it sent one. All attempts and waits
/// together stay within [`RetryConfig::budget`]: a wait that would overrun it ends
/// the loop with the last error, and each attempt's timeout is cut to what is left.
///
/// ```
/// use std::time::Duration;
/// use mlops_core::http::RetryConfig;
/// let retry = RetryConfig::default()
///     .with_max_retries(3)
///     .with_initial_backoff(Duration::from_millis(50))
///     .with_budget(Duration::from_secs(10));
/// assert_eq!(retry.max_retries(), 3);
/// assert!(retry.backoff(2) <= Duration::from_millis(200));
/// assert_eq!(RetryConfig::none().max_retries(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    budget: Duration,
}

impl Default for RetryConfig {
    /// 5 retries, backoff 100 ms doubling up to 10 s, a 60 s budget.
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryConfig {
    /// The defaults (see [`RetryConfig::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// No retries at all (the budget still bounds the single attempt).
    pub fn none() -> Self {
        Self::default().with_max_retries(0)
    }

    /// At most `n` retries after the first attempt.
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The backoff ceiling before the first retry (doubled for each further retry).
    pub fn with_initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// The largest backoff ceiling.
    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The total time for all attempts and waits of one request.
    pub fn with_budget(mut self, d: Duration) -> Self {
        self.budget = d;
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The backoff ceiling before the first retry.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The largest backoff ceiling.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The total time budget.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The backoff ceiling before retry `retry` (0-based): `min(max, initial * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// A jittered wait before retry `retry`: uniform in `[0, ceiling(retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        self.ceiling(retry).mul_f64(rand::random::<f64>())
    }
}

/// Parses a `Retry-After` value: delay-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), relative to `now`. A date in the past is a
/// zero wait; anything else unparsable is `None`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use mlops_core::http::parse_retry_after;
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
/// assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
/// assert_eq!(
///     parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
///     Some(Duration::from_secs(10))
/// );
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_and_cap() {
        let r = RetryConfig::default()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1));
        assert_eq!(r.ceiling(0), Duration::from_millis(100));
        assert_eq!(r.ceiling(1), Duration::from_millis(200));
        assert_eq!(r.ceiling(3), Duration::from_millis(800));
        assert_eq!(r.ceiling(4), Duration::from_secs(1));
        assert_eq!(r.ceiling(100), Duration::from_secs(1));
        for n in 0..50 {
            assert!(r.backoff(n % 6) <= r.ceiling(n % 6));
        }
    }

    #[test]
    fn full_jitter_spreads_waits() {
        let r = RetryConfig::default().with_initial_backoff(Duration::from_secs(1));
        let waits: Vec<_> = (0..200).map(|_| r.backoff(0)).collect();
        let below_half = waits
            .iter()
            .filter(|w| **w < Duration::from_millis(500))
            .count();
        // Uniform on [0, 1 s]: about half below 0.5 s; 200 draws almost surely land in 40..160.
        assert!((40..160).contains(&below_half), "{below_half}");
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(10))
        );
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
