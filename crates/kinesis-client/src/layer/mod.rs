//! The tower layers every call goes through, each behaviour in one place.
//!
//! From the outside in: [`TraceLayer`] (one span per call), tower's `RetryLayer` with
//! [`RetryPolicy`] (the only retry owner), [`RateLimitLayer`] (quotas, counted per attempt),
//! [`AttemptTimeoutLayer`] (bounds each attempt) and finally [`AwsService`](crate::AwsService).
//! [`Stack`](crate::Stack) assembles them; they are public so that a custom stack can reuse them.

mod rate_limit;
mod retry;
mod timeout;
mod trace;

pub use rate_limit::{Quota, QuotaScope, RateLimit, RateLimitLayer, RateLimiter, RateLimits};
pub use retry::RetryConfig;
pub use retry::RetryPolicy;
pub use timeout::{AttemptTimeout, AttemptTimeoutLayer, AttemptTimeouts};
pub use trace::{Trace, TraceLayer};
