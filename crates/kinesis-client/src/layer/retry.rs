//! The retry policy: the one owner of retries for every call of the workspace.

use std::sync::Arc;
use std::time::Duration;

use tower::retry::Policy;
use tower::retry::budget::{Budget, TpsBudget};

use crate::error::{Error, RetryClass};
use crate::operation::Operation;

/// How calls are retried.
///
/// Throttled and transient failures are retried with jittered exponential backoff, up to
/// `max_attempts` attempts per call and within a retry budget shared by every call made through
/// one [`ClientConfig`](crate::ClientConfig), so that an outage does not turn into a retry storm.
/// Every other failure is returned at once. The SDK's own retries are disabled, so this policy is
/// the only one that retries.
///
/// ```
/// use std::time::Duration;
/// use kinesis_client::RetryConfig;
///
/// let retry = RetryConfig::default()
///     .with_max_attempts(5)
///     .with_throttling_backoff(Duration::from_millis(500));
/// assert_eq!(retry.max_attempts(), 5);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct RetryConfig {
    max_attempts: u32,
    transient_backoff: Duration,
    throttling_backoff: Duration,
    max_backoff: Duration,
    budget_ttl: Duration,
    budget_min_per_sec: u32,
    budget_retry_ratio: f32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            transient_backoff: Duration::from_millis(50),
            throttling_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            budget_ttl: Duration::from_secs(10),
            budget_min_per_sec: 10,
            budget_retry_ratio: 0.2,
        }
    }
}

impl RetryConfig {
    /// A policy that never retries: each call makes one attempt.
    pub fn disabled() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// The most attempts per call, the first included (default 10). At least 1.
    #[must_use]
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The first backoff after a transient failure; it doubles with each attempt (default 50 ms).
    #[must_use]
    pub fn with_transient_backoff(mut self, d: Duration) -> Self {
        self.transient_backoff = d;
        self
    }

    /// The first backoff after throttling; it doubles with each attempt (default 200 ms).
    #[must_use]
    pub fn with_throttling_backoff(mut self, d: Duration) -> Self {
        self.throttling_backoff = d;
        self
    }

    /// The longest single backoff (default 10 s).
    #[must_use]
    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The retry budget: over a window of `ttl`, retries may add `retry_ratio` of the calls made,
    /// plus `min_per_sec` retries per second whatever the traffic (defaults 10 s, 10, 0.2).
    /// `ttl` is kept between 1 and 60 seconds.
    #[must_use]
    pub fn with_budget(mut self, ttl: Duration, min_per_sec: u32, retry_ratio: f32) -> Self {
        self.budget_ttl = ttl.clamp(Duration::from_secs(1), Duration::from_secs(60));
        self.budget_min_per_sec = min_per_sec.min(i32::MAX as u32 - 1);
        self.budget_retry_ratio = retry_ratio.clamp(0.0, 1000.0);
        self
    }

    /// The most attempts per call.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff before attempt `attempt + 1` after a failure of class `class`, before jitter.
    fn backoff(&self, class: RetryClass, attempt: u32) -> Duration {
        let base = match class {
            RetryClass::Throttling => self.throttling_backoff,
            _ => self.transient_backoff,
        };
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        base.saturating_mul(factor).min(self.max_backoff)
    }
}

/// The tower retry [`Policy`] for every [`Operation`].
///
/// It classifies with [`Error`]'s classes, backs off with "equal jitter" (half the exponential
/// delay plus a random part of the other half), and spends from a [`TpsBudget`] shared by its
/// clones. For an operation that can succeed partially (`PutRecords`) it lets the operation
/// narrow itself to the failed entries before the next attempt, and returns a
/// [`ErrorKind::PartialFailure`](crate::ErrorKind::PartialFailure) when attempts or budget run out.
///
/// ```
/// use kinesis_client::{RetryConfig, layer::RetryPolicy};
/// use tower::retry::RetryLayer;
///
/// let layer = RetryLayer::new(RetryPolicy::new(RetryConfig::default()));
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    config: Arc<RetryConfig>,
    budget: Arc<TpsBudget>,
    attempt: u32,
}

impl RetryPolicy {
    /// A policy with its own budget.
    pub fn new(config: RetryConfig) -> Self {
        let budget = TpsBudget::new(
            config.budget_ttl,
            config.budget_min_per_sec,
            config.budget_retry_ratio,
        );
        Self {
            config: Arc::new(config),
            budget: Arc::new(budget),
            attempt: 0,
        }
    }

    fn jittered(d: Duration) -> Duration {
        let half = d / 2;
        let extra = if half.is_zero() {
            Duration::ZERO
        } else {
            half.mul_f64(rand::random::<f64>())
        };
        half + extra
    }
}

impl<Op: Operation> Policy<Op, Op::Output, Error> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        op: &mut Op,
        result: &mut Result<Op::Output, Error>,
    ) -> Option<Self::Future> {
        if self.attempt == 0 {
            self.budget.deposit();
        }
        self.attempt += 1;

        if result.is_ok() {
            let taken = std::mem::replace(result, Err(Error::configuration("in retry")));
            if let Ok(output) = taken {
                *result = op.check_output(output);
            }
        }
        let Err(err) = result else { return None };
        let class = err.retry_class();
        if class == RetryClass::Fatal {
            return None;
        }
        if self.attempt >= self.config.max_attempts {
            tracing::debug!(operation = Op::NAME, attempts = self.attempt, error = %err, "retries exhausted");
            return None;
        }
        if !self.budget.withdraw() {
            tracing::debug!(operation = Op::NAME, error = %err, "retry budget spent");
            return None;
        }
        let delay = Self::jittered(self.config.backoff(class, self.attempt));
        tracing::debug!(operation = Op::NAME, attempt = self.attempt, ?delay, error = %err, "retrying");
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, op: &Op) -> Option<Op> {
        Some(op.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = RetryConfig::default()
            .with_transient_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(700));
        let d: Vec<_> = (1..=5)
            .map(|a| c.backoff(RetryClass::Transient, a).as_millis())
            .collect();
        assert_eq!(d, vec![100, 200, 400, 700, 700]);
        assert_eq!(
            c.backoff(RetryClass::Throttling, 1),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn jitter_stays_within_half_and_whole() {
        for _ in 0..100 {
            let j = RetryPolicy::jittered(Duration::from_millis(100));
            assert!(j >= Duration::from_millis(50) && j <= Duration::from_millis(100));
        }
    }
}
