//! The retry policy: the one owner of retries for every call of the workspace.

use std::sync::Arc;
use std::time::Duration;

use tower::retry::Policy;

use crate::backoff::Backoff;
use crate::budget::RetryBudget;
use crate::error::{Error, RetryClass};
use crate::operation::Operation;
use crate::telemetry::{Telemetry, call};

/// How calls are retried.
///
/// Throttled and transient failures are retried with the workspace's [`Backoff`] (exponential,
/// full jitter), up to
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

    /// The retry budget ([`RetryBudget`]): over a window of `ttl`, retries may add `retry_ratio`
    /// of the calls made, plus `min_per_sec` retries per second whatever the traffic (defaults
    /// 10 s, 10, 0.2). `ttl` is kept between 1 and 60 seconds.
    #[must_use]
    pub fn with_budget(mut self, ttl: Duration, min_per_sec: u32, retry_ratio: f32) -> Self {
        self.budget_ttl = ttl;
        self.budget_min_per_sec = min_per_sec;
        self.budget_retry_ratio = retry_ratio;
        self
    }

    /// The most attempts per call.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff after a failure of class `class`.
    fn backoff(&self, class: RetryClass) -> Backoff {
        let base = match class {
            RetryClass::Throttling => self.throttling_backoff,
            _ => self.transient_backoff,
        };
        Backoff::new(base, self.max_backoff)
    }

    /// The longest one call can spend waiting between its attempts, every failure being of the
    /// slower (throttling) kind: the sum of the backoff ceilings of `max_attempts − 1` retries.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kinesis_client::RetryConfig;
    ///
    /// // 200 ms doubling to the 10 s cap over 9 retries.
    /// assert_eq!(RetryConfig::default().worst_case_backoff(), Duration::from_millis(42_600));
    /// assert_eq!(RetryConfig::disabled().worst_case_backoff(), Duration::ZERO);
    /// ```
    pub fn worst_case_backoff(&self) -> Duration {
        self.backoff(RetryClass::Throttling)
            .worst_case_total(self.max_attempts - 1)
    }
}

/// The tower retry [`Policy`] for every [`Operation`].
///
/// It classifies with [`Error`]'s classes, backs off with [`Backoff`] (full jitter), and spends
/// from a [`RetryBudget`] shared by its clones. For an operation that can succeed partially (`PutRecords`) it lets the operation
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
    budget: RetryBudget,
    telemetry: Telemetry,
    attempt: u32,
}

impl RetryPolicy {
    /// A policy with its own budget.
    pub fn new(config: RetryConfig) -> Self {
        let budget = RetryBudget::new(
            config.budget_ttl,
            config.budget_min_per_sec,
            config.budget_retry_ratio,
        );
        Self {
            config: Arc::new(config),
            budget,
            telemetry: Telemetry::none(),
            attempt: 0,
        }
    }

    /// The same policy with at most `n` attempts per call, spending from the same budget.
    #[must_use]
    pub fn with_max_attempts(&self, n: u32) -> Self {
        let config = RetryConfig::clone(&self.config).with_max_attempts(n);
        Self {
            config: Arc::new(config),
            budget: self.budget.clone(),
            telemetry: self.telemetry.clone(),
            attempt: 0,
        }
    }

    /// The same policy, spending from the same budget, reporting every throttled attempt
    /// ([`Throttles`](call::THROTTLES)) and every retry ([`Retries`](call::RETRIES)) to
    /// `telemetry`.
    #[must_use]
    pub fn with_telemetry(&self, telemetry: Telemetry) -> Self {
        Self {
            config: Arc::clone(&self.config),
            budget: self.budget.clone(),
            telemetry,
            attempt: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// The budget every clone of this policy spends from.
    pub fn budget(&self) -> &RetryBudget {
        &self.budget
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
        let dims = [(call::OPERATION, Op::NAME)];
        if class == RetryClass::Throttling {
            self.telemetry.count(call::LEVEL, call::THROTTLES, &dims, 1);
        }
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
        let delay = self.config.backoff(class).delay(self.attempt);
        tracing::warn!(operation = Op::NAME, attempt = self.attempt, ?delay, error = %err, "retrying");
        self.telemetry.count(call::LEVEL, call::RETRIES, &dims, 1);
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
    fn each_class_has_its_backoff() {
        let c = RetryConfig::default()
            .with_transient_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(700));
        let d: Vec<_> = (1..=5)
            .map(|a| c.backoff(RetryClass::Transient).ceiling(a).as_millis())
            .collect();
        assert_eq!(d, vec![100, 200, 400, 700, 700]);
        assert_eq!(
            c.backoff(RetryClass::Throttling).ceiling(1),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn a_narrowed_policy_shares_the_budget() {
        let p =
            RetryPolicy::new(RetryConfig::default().with_budget(Duration::from_secs(1), 0, 0.0));
        let one = p.with_max_attempts(1);
        assert_eq!(one.config().max_attempts(), 1);
        assert_eq!(p.config().max_attempts(), 10);
        // An empty budget seen through either policy.
        assert!(!one.budget().withdraw());
        assert!(!p.budget().withdraw());
    }
}
