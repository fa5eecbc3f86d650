//! A tracing span per call.

use std::task::{Context, Poll};

use tower::{Layer, Service};
use tracing::Instrument;

use crate::error::Error;
use crate::operation::{BoxFuture, Operation};

/// A [`Layer`] that runs each call in a `kinesis.call` span with the operation, stream, shard
/// and consumer, and records its outcome.
///
/// ```
/// use kinesis_client::layer::TraceLayer;
///
/// let layer = TraceLayer::new();
/// # let _ = layer;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceLayer {
    _priv: (),
}

impl TraceLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace { inner }
    }
}

/// The service made by [`TraceLayer`].
#[derive(Clone, Debug)]
pub struct Trace<S> {
    inner: S,
}

impl<S, Op> Service<Op> for Trace<S>
where
    Op: Operation,
    S: Service<Op, Response = Op::Output, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = Op::Output;
    type Error = Error;
    type Future = BoxFuture<Result<Op::Output, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, op: Op) -> Self::Future {
        let span = tracing::debug_span!(
            "kinesis.call",
            operation = Op::NAME,
            stream = op.stream().map(tracing::field::display),
            shard = op.shard().map(tracing::field::display),
            consumer = op.consumer().map(tracing::field::display),
        );
        let call = self.inner.call(op);
        Box::pin(
            async move {
                let result = call.await;
                if let Err(e) = &result {
                    tracing::debug!(error = %e, kind = ?e.kind(), "call failed");
                }
                result
            }
            .instrument(span),
        )
    }
}
