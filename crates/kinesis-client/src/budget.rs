//! The one retry budget of a configuration, shared by the retry layer and every retry loop.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower::retry::budget::{Budget, TpsBudget};

/// A retry budget: over a sliding window, retries may add a set fraction of the first attempts
/// made, plus a floor of retries per second whatever the traffic.
///
/// One budget belongs to each [`ClientConfig`](crate::ClientConfig) and every stack and retry
/// loop built from it spends from it ([`ClientConfig::retry_budget`](crate::ClientConfig::retry_budget)),
/// so that an outage does not multiply into a retry storm. A caller that can give up (one call
/// through the stack) gives up when the budget is spent; a loop that must not give up (a shard's
/// endless fetch, a producer record within its time to live) waits its backoff's ceiling instead
/// of a jittered delay until the budget refills.
///
/// ```
/// use std::time::Duration;
/// use kinesis_client::RetryBudget;
///
/// // At least 1 retry per second over a 10 s window, plus 20 % of the first attempts.
/// let budget = RetryBudget::new(Duration::from_secs(10), 1, 0.2);
/// let shared = budget.clone(); // clones spend from the same budget
/// for _ in 0..100 {
///     budget.deposit(); // 100 first attempts
/// }
/// let granted = (0..1000).take_while(|_| shared.withdraw()).count();
/// assert!(granted >= 20 && granted < 1000);
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<TpsBudget>,
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget").finish_non_exhaustive()
    }
}

impl RetryBudget {
    /// A budget over a window of `ttl` (kept between 1 and 60 s) that grants `min_per_sec`
    /// retries per second plus `retry_ratio` retries per first attempt.
    pub fn new(ttl: Duration, min_per_sec: u32, retry_ratio: f32) -> Self {
        let ttl = ttl.clamp(Duration::from_secs(1), Duration::from_secs(60));
        let min_per_sec = min_per_sec.min(i32::MAX as u32 - 1);
        let retry_ratio = retry_ratio.clamp(0.0, 1000.0);
        Self {
            inner: Arc::new(TpsBudget::new(ttl, min_per_sec, retry_ratio)),
        }
    }

    /// Records a first attempt, which earns `retry_ratio` retries.
    pub fn deposit(&self) {
        self.inner.deposit();
    }

    /// Takes one retry from the budget: `false` when it is spent.
    pub fn withdraw(&self) -> bool {
        self.inner.withdraw()
    }
}
