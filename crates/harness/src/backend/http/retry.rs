//! When to try a request again and how long to wait first: exponential backoff with
//! jitter, or the server's own `Retry-After` when it sends one.

use std::time::Duration;

/// Retry schedule of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub retries: u32,
    /// Wait before the first retry (before jitter).
    pub base: Duration,
    /// Longest wait between attempts, `Retry-After` included.
    pub cap: Duration,
}

impl RetryPolicy {
    /// `retries` extra attempts, starting at half a second and doubling up to 30 s.
    pub fn new(retries: u32) -> Self {
        Self {
            retries,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }

    /// The wait before retry number `retry` (0 for the first retry). A server-given
    /// `Retry-After` wins; otherwise `base * 2^retry`, capped, of which a random half is
    /// jitter so that concurrent workers do not retry in lockstep.
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.cap);
        }
        let full = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(16)))
            .min(self.cap);
        let half = full / 2;
        half + half.mul_f64(rng.f64())
    }
}

/// Whether an HTTP status is worth retrying: 429 (rate limited) and 5xx (server trouble).
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Parse a `Retry-After` header given in seconds (HTTP dates are ignored; backoff applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = RetryPolicy::new(3);
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2)), &mut rng),
            Duration::from_secs(2)
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(600)), &mut rng), p.cap);
    }

    #[test]
    fn statuses_and_headers() {
        assert!(is_retryable_status(429) && is_retryable_status(503));
        assert!(
            !is_retryable_status(400) && !is_retryable_status(404) && !is_retryable_status(200)
        );
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    proptest! {
        #[test]
        fn backoff_grows_within_jitter_bounds(retry in 0u32..40, seed in any::<u64>()) {
            let p = RetryPolicy::new(5);
            let mut rng = fastrand::Rng::with_seed(seed);
            let d = p.delay(retry, None, &mut rng);
            let full = p.base.saturating_mul(2u32.saturating_pow(retry.min(16))).min(p.cap);
            prop_assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
        }
    }
}
