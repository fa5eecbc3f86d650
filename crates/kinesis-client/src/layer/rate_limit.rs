//! Client-side rate limits that mirror the Kinesis quotas.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt};

use crate::error::Error;
use crate::operation::{BoxFuture, Operation};

/// What one quota is counted per.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum QuotaScope {
    /// One count for the whole account and region (most control-plane calls).
    Account,
    /// One count per stream.
    Stream,
    /// One count per shard (`GetRecords`, `GetShardIterator`).
    Shard,
    /// One count per enhanced fan-out consumer and shard (`SubscribeToShard`).
    ConsumerShard,
}

/// At most `calls` calls in any window of `per`, counted per [`QuotaScope`].
///
/// ```
/// use std::time::Duration;
/// use kinesis_client::layer::{Quota, QuotaScope};
///
/// let q = Quota::new(5, Duration::from_secs(1), QuotaScope::Shard);
/// assert_eq!(q.calls(), 5);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    calls: u32,
    per: Duration,
    scope: QuotaScope,
}

impl Quota {
    /// A quota of `calls` calls per `per`, counted per `scope`. `calls` is at least 1.
    pub fn new(calls: u32, per: Duration, scope: QuotaScope) -> Self {
        Self {
            calls: calls.max(1),
            per,
            scope,
        }
    }

    /// `calls` calls per second.
    pub fn per_second(calls: u32, scope: QuotaScope) -> Self {
        Self::new(calls, Duration::from_secs(1), scope)
    }

    /// The calls allowed per window.
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// The window.
    pub fn per(&self) -> Duration {
        self.per
    }

    /// What the quota is counted per.
    pub fn scope(&self) -> QuotaScope {
        self.scope
    }
}

/// The quotas a [`RateLimiter`] enforces, by operation name.
///
/// [`RateLimits::kinesis_defaults`] mirrors the published Kinesis quotas, so a well-behaved
/// client waits on its own side instead of being throttled by the service. Writes
/// (`PutRecord`, `PutRecords`) have no quota here: their limit is per shard in bytes and records,
/// which the producer enforces per predicted shard.
///
/// ```
/// use kinesis_client::layer::{Quota, QuotaScope, RateLimits};
///
/// let limits = RateLimits::kinesis_defaults()
///     .with_quota("ListShards", Quota::per_second(10, QuotaScope::Account))
///     .without("DescribeLimits");
/// assert_eq!(limits.get("GetRecords").unwrap().calls(), 5);
/// assert!(limits.get("DescribeLimits").is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct RateLimits {
    quotas: HashMap<String, Quota>,
}

impl RateLimits {
    /// No limits at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// The Kinesis quotas: `GetRecords` and `GetShardIterator` 5/s per shard,
    /// `SubscribeToShard` 1/s per consumer and shard, `ListShards` 100/s, `DescribeStream` 10/s,
    /// `DescribeStreamSummary` 20/s, `ListStreams` 5/s, `DescribeLimits` 1/s, the other control
    /// plane calls 5/s per account, and the consumer calls per stream
    /// (`DescribeStreamConsumer` 20/s, the others 5/s).
    pub fn kinesis_defaults() -> Self {
        use QuotaScope::*;
        let mut limits = Self::none()
            .with_quota("GetRecords", Quota::per_second(5, Shard))
            .with_quota("GetShardIterator", Quota::per_second(5, Shard))
            .with_quota("SubscribeToShard", Quota::per_second(1, ConsumerShard))
            .with_quota("ListShards", Quota::per_second(100, Account))
            .with_quota("DescribeStream", Quota::per_second(10, Account))
            .with_quota("DescribeStreamSummary", Quota::per_second(20, Account))
            .with_quota("ListStreams", Quota::per_second(5, Account))
            .with_quota("DescribeLimits", Quota::per_second(1, Account))
            .with_quota("DescribeStreamConsumer", Quota::per_second(20, Stream));
        for op in [
            "RegisterStreamConsumer",
            "DeregisterStreamConsumer",
            "ListStreamConsumers",
        ] {
            limits = limits.with_quota(op, Quota::per_second(5, Stream));
        }
        for op in [
            "CreateStream",
            "DeleteStream",
            "SplitShard",
            "MergeShards",
            "UpdateShardCount",
            "AddTagsToStream",
            "RemoveTagsFromStream",
            "ListTagsForStream",
            "IncreaseStreamRetentionPeriod",
            "DecreaseStreamRetentionPeriod",
        ] {
            limits = limits.with_quota(op, Quota::per_second(5, Account));
        }
        limits
    }

    /// Sets the quota of an operation.
    #[must_use]
    pub fn with_quota(mut self, operation: &str, quota: Quota) -> Self {
        self.quotas.insert(operation.to_owned(), quota);
        self
    }

    /// Removes the quota of an operation.
    #[must_use]
    pub fn without(mut self, operation: &str) -> Self {
        self.quotas.remove(operation);
        self
    }

    /// The quota of an operation, if it has one.
    pub fn get(&self, operation: &str) -> Option<&Quota> {
        self.quotas.get(operation)
    }
}

/// Start times of the last calls of one key, oldest first.
type Window = VecDeque<Instant>;

#[derive(Debug)]
struct LimiterState {
    windows: HashMap<(&'static str, String), Window>,
    quotas: RateLimits,
}

/// A cloneable rate limiter: at most N calls in any window, per operation and scope.
///
/// Clones share their counts, so one limiter serves every client built from one configuration
/// and composes under the retry layer (each attempt is counted). A call that would exceed its
/// quota reserves the earliest slot that keeps the quota and waits for it inside the response
/// future; `poll_ready` never waits, since readiness cannot depend on the request's shard.
///
/// ```
/// use kinesis_client::layer::{RateLimiter, RateLimits};
///
/// let limiter = RateLimiter::new(RateLimits::kinesis_defaults());
/// let shared = limiter.clone();
/// # let _ = shared;
/// ```
#[derive(Clone, Debug)]
pub struct RateLimiter {
    state: Arc<Mutex<LimiterState>>,
}

impl RateLimiter {
    /// A limiter enforcing `quotas`.
    pub fn new(quotas: RateLimits) -> Self {
        Self {
            state: Arc::new(Mutex::new(LimiterState {
                windows: HashMap::new(),
                quotas,
            })),
        }
    }

    /// Reserves a slot for one call of `Op` and returns when it may start, or `None` when the
    /// operation has no quota.
    pub(crate) fn reserve<Op: Operation>(&self, op: &Op) -> Option<Instant> {
        self.reserve_named(Op::NAME, |scope| scope_key(op, scope))
    }

    /// Waits until one more call of `operation` fits its quota, for the scope's `key` (empty
    /// for an account-wide quota); returns at once when the operation has no quota. For callers
    /// that pace something of their own with the same mechanism as the stack, such as a
    /// worker-wide cap on its `SubscribeToShard` calls.
    ///
    /// Cancel safety: the slot is reserved when the call starts; dropping the future gives it
    /// up unused (later callers are not moved earlier).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use kinesis_client::layer::{Quota, QuotaScope, RateLimiter, RateLimits};
    /// use tokio::time::Instant;
    ///
    /// let limiter = RateLimiter::new(
    ///     RateLimits::none().with_quota("SubscribeToShard", Quota::per_second(2, QuotaScope::Account)),
    /// );
    /// let start = Instant::now();
    /// for _ in 0..3 {
    ///     limiter.acquire("SubscribeToShard", "").await;
    /// }
    /// assert!(start.elapsed().as_secs_f64() >= 1.0); // the third call waited for the window
    /// # }
    /// ```
    pub async fn acquire(&self, operation: &'static str, key: &str) {
        if let Some(at) = self.reserve_named(operation, |_| key.to_owned()) {
            tokio::time::sleep_until(at).await;
        }
    }

    fn reserve_named(
        &self,
        operation: &'static str,
        key: impl FnOnce(QuotaScope) -> String,
    ) -> Option<Instant> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let quota = *state.quotas.get(operation)?;
        let key = key(quota.scope);
        let now = Instant::now();
        if state.windows.len() > 4096 {
            // Forget keys (shards that closed, streams gone) with nothing in the last window.
            state
                .windows
                .retain(|_, w| w.back().is_some_and(|t| *t + quota.per > now));
        }
        let window = state.windows.entry((operation, key)).or_default();
        let limit = quota.calls as usize;
        let mut start = now;
        if window.len() >= limit {
            start = start.max(window[window.len() - limit] + quota.per);
        }
        if let Some(last) = window.back() {
            start = start.max(*last);
        }
        window.push_back(start);
        while window.len() > limit {
            window.pop_front();
        }
        Some(start)
    }
}

fn scope_key<Op: Operation>(op: &Op, scope: QuotaScope) -> String {
    let stream = || {
        op.stream()
            .map(|s| s.name().to_string())
            .unwrap_or_default()
    };
    match scope {
        QuotaScope::Account => String::new(),
        QuotaScope::Stream => stream(),
        QuotaScope::Shard => format!(
            "{}/{}",
            stream(),
            op.shard().map(|s| s.as_str()).unwrap_or_default()
        ),
        QuotaScope::ConsumerShard => format!(
            "{}/{}",
            op.consumer().map(|c| c.as_str()).unwrap_or_default(),
            op.shard().map(|s| s.as_str()).unwrap_or_default()
        ),
    }
}

/// A [`Layer`] that applies a [`RateLimiter`].
///
/// ```
/// use kinesis_client::layer::{RateLimitLayer, RateLimiter, RateLimits};
///
/// let layer = RateLimitLayer::new(RateLimiter::new(RateLimits::kinesis_defaults()));
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    limiter: RateLimiter,
}

impl RateLimitLayer {
    /// A layer that waits for `limiter` before each call.
    pub fn new(limiter: RateLimiter) -> Self {
        Self { limiter }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;
    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimit<S> {
    inner: S,
    limiter: RateLimiter,
}

impl<S, Op> Service<Op> for RateLimit<S>
where
    Op: Operation,
    S: Service<Op, Response = Op::Output, Error = Error> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Op::Output;
    type Error = Error;
    type Future = BoxFuture<Result<Op::Output, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, op: Op) -> Self::Future {
        let start = self.limiter.reserve(&op);
        let inner = self.inner.clone();
        Box::pin(async move {
            if let Some(start) = start.filter(|s| *s > Instant::now()) {
                tracing::trace!(operation = Op::NAME, "waiting for rate limit");
                tokio::time::sleep_until(start).await;
            }
            inner.oneshot(op).await
        })
    }
}
