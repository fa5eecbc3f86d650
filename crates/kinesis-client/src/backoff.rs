//! The one backoff formula of the workspace: exponential, capped, with full jitter.

use std::time::Duration;

/// Exponential backoff with full jitter: before retry `n` (the first retry is `n = 1`) a loop
/// waits a uniformly random time between zero and `min(max, base × 2^(n−1))`.
///
/// Full jitter spreads the retries of many callers that failed together (every shard of a
/// throttled stream, every worker after a table outage) over the whole window instead of
/// letting them retry in step. The client's retry layer, the consumer's fetch loops and the
/// producer's record retries all use this type, so there is one formula to reason about; the
/// ceiling ([`Backoff::ceiling`]) is what worst-case figures are computed from.
///
/// ```
/// use std::time::Duration;
/// use kinesis_client::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
/// assert_eq!(backoff.ceiling(1), Duration::from_millis(100));
/// assert_eq!(backoff.ceiling(3), Duration::from_millis(400));
/// assert_eq!(backoff.ceiling(10), Duration::from_secs(1)); // capped
/// assert!(backoff.delay(3) <= Duration::from_millis(400));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
}

impl Backoff {
    /// Delays from `base` (the first retry's ceiling) doubling up to `max`.
    pub const fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The first retry's ceiling.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The largest ceiling.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The longest wait before retry `retry` (1-based; 0 counts as 1): `min(max, base × 2^(retry−1))`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// The wait before retry `retry`: uniformly random in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let jittered = ceiling.as_secs_f64() * rand::random::<f64>();
        // f64 rounding may land just past a huge ceiling: stay within it, never panic.
        Duration::try_from_secs_f64(jittered)
            .unwrap_or(ceiling)
            .min(ceiling)
    }

    /// The wait before retry `retry` of a loop that must not give up (a shard's endless fetch, a
    /// record within its time to live): [`delay`](Self::delay) when the retry budget granted the
    /// retry, the [`ceiling`](Self::ceiling) when it is spent, so that the loop slows to its cap
    /// instead of failing or retrying faster than the budget allows.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kinesis_client::{Backoff, RetryBudget};
    ///
    /// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    /// let spent = RetryBudget::new(Duration::from_secs(1), 0, 0.0);
    /// assert_eq!(backoff.pause(2, spent.withdraw()), Duration::from_millis(200));
    /// assert!(backoff.pause(2, true) <= Duration::from_millis(200));
    /// ```
    pub fn pause(&self, retry: u32, granted: bool) -> Duration {
        if granted {
            self.delay(retry)
        } else {
            self.ceiling(retry)
        }
    }

    /// The sum of the ceilings of retries `1..=retries`: the longest time a loop that retries
    /// `retries` times spends waiting.
    pub fn worst_case_total(&self, retries: u32) -> Duration {
        (1..=retries).map(|r| self.ceiling(r)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_millis(700));
        let c: Vec<_> = (0..=5).map(|r| b.ceiling(r).as_millis()).collect();
        assert_eq!(c, vec![100, 100, 200, 400, 700, 700]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(700));
        assert_eq!(b.worst_case_total(4), Duration::from_millis(1400));
    }

    #[test]
    fn delays_cover_the_whole_window() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<_> = (0..2000).map(|_| b.delay(1)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(100)));
        // Full jitter: some retries go early, some late.
        assert!(delays.iter().any(|d| *d < Duration::from_millis(10)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(90)));
    }

    #[test]
    fn a_huge_base_saturates() {
        let b = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(b.ceiling(40), Duration::MAX);
        assert!(b.delay(40) <= Duration::MAX);
    }
}
