//! Per-attempt timeouts that keep the error type.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::{Layer, Service, ServiceExt};

use crate::error::Error;
use crate::operation::{BoxFuture, Operation};

/// How long one attempt of a call may take.
///
/// Unlike tower's `Timeout`, which turns every error into a `BoxError`, an attempt that runs out
/// of time here becomes an [`Error`] of kind [`Transient`](crate::ErrorKind::Transient), so the
/// retry layer above treats it like any other transient failure.
///
/// ```
/// use std::time::Duration;
/// use kinesis_client::layer::AttemptTimeouts;
///
/// let t = AttemptTimeouts::new(Duration::from_secs(5))
///     .with_operation("GetRecords", Duration::from_secs(10));
/// assert_eq!(t.for_operation("GetRecords"), Duration::from_secs(10));
/// assert_eq!(t.for_operation("ListShards"), Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
pub struct AttemptTimeouts {
    default: Duration,
    per_operation: Arc<HashMap<String, Duration>>,
}

impl Default for AttemptTimeouts {
    /// 10 s for every operation; `SubscribeToShard`, whose first response can take a few seconds,
    /// gets 30 s.
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
            .with_operation("SubscribeToShard", Duration::from_secs(30))
    }
}

impl AttemptTimeouts {
    /// The same timeout for every operation.
    pub fn new(default: Duration) -> Self {
        Self {
            default,
            per_operation: Arc::default(),
        }
    }

    /// A different timeout for one operation.
    #[must_use]
    pub fn with_operation(mut self, operation: &str, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.per_operation).insert(operation.to_owned(), timeout);
        self
    }

    /// The timeout of an operation.
    pub fn for_operation(&self, operation: &str) -> Duration {
        self.per_operation
            .get(operation)
            .copied()
            .unwrap_or(self.default)
    }
}

/// A [`Layer`] that bounds each attempt by its [`AttemptTimeouts`].
///
/// ```
/// use kinesis_client::layer::{AttemptTimeoutLayer, AttemptTimeouts};
///
/// let layer = AttemptTimeoutLayer::new(AttemptTimeouts::default());
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct AttemptTimeoutLayer {
    timeouts: AttemptTimeouts,
}

impl AttemptTimeoutLayer {
    /// A layer with these timeouts.
    pub fn new(timeouts: AttemptTimeouts) -> Self {
        Self { timeouts }
    }
}

impl<S> Layer<S> for AttemptTimeoutLayer {
    type Service = AttemptTimeout<S>;
    fn layer(&self, inner: S) -> AttemptTimeout<S> {
        AttemptTimeout {
            inner,
            timeouts: self.timeouts.clone(),
        }
    }
}

/// The service made by [`AttemptTimeoutLayer`].
#[derive(Clone, Debug)]
pub struct AttemptTimeout<S> {
    inner: S,
    timeouts: AttemptTimeouts,
}

impl<S, Op> Service<Op> for AttemptTimeout<S>
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
        let limit = self.timeouts.for_operation(Op::NAME);
        let attempt = self.inner.clone().oneshot(op);
        Box::pin(async move {
            match tokio::time::timeout(limit, attempt).await {
                Ok(result) => result,
                Err(_) => Err(Error::attempt_timeout(Op::NAME, limit)),
            }
        })
    }
}
