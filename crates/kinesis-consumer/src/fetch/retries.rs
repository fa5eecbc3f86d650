//! A fetch loop's retries: the core [`Backoff`] and the configuration's [`RetryBudget`].
//!
//! A shard's fetch never gives up on a retryable failure, so it is the outer loop: its client
//! makes one attempt per call ([`ClientConfig::single_attempt`](kinesis_client::ClientConfig::single_attempt))
//! and this type decides the wait before the next one. The wait is the jittered delay while the
//! shared budget grants retries and the backoff's ceiling once it is spent, so that a stream-wide
//! throttle does not make every shard retry in step, nor faster than the budget allows.

use std::time::Duration;

use kinesis_client::{Backoff, RetryBudget};

/// The retries of one fetcher since its last success.
#[derive(Debug, Clone)]
pub(crate) struct Retries {
    backoff: Backoff,
    budget: RetryBudget,
    /// Retries since the last success (the next one is `retry + 1`).
    retry: u32,
}

impl Retries {
    pub(crate) fn new(backoff: Backoff, budget: RetryBudget) -> Self {
        Self {
            backoff,
            budget,
            retry: 0,
        }
    }

    /// The wait before the next retry.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.retry = self.retry.saturating_add(1);
        self.backoff.pause(self.retry, self.budget.withdraw())
    }

    /// A call succeeded: the next failure starts from the first delay again. (Every call
    /// through the stack already counts as a first attempt in the budget.)
    pub(crate) fn reset(&mut self) {
        self.retry = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_reset() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let budget = RetryBudget::new(Duration::from_secs(10), 100, 0.0);
        let mut r = Retries::new(backoff, budget);
        let ceilings = [100, 200, 400, 400];
        for c in ceilings {
            assert!(r.next_delay() <= Duration::from_millis(c));
        }
        r.reset();
        assert!(r.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn a_spent_budget_waits_the_ceiling() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let budget = RetryBudget::new(Duration::from_secs(1), 0, 0.0);
        let mut r = Retries::new(backoff, budget);
        assert_eq!(r.next_delay(), Duration::from_millis(100));
        assert_eq!(r.next_delay(), Duration::from_millis(200));
    }
}
