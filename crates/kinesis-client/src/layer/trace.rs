//! A tracing span per call.

use std::task::{Context, Poll};

use tower::{Layer, Service};
use tracing::Instrument;

use crate::error::Error;
use crate::operation::{BoxFuture, Operation};
use crate::telemetry::{Telemetry, call};

/// A [`Layer`] that runs each call in a `kinesis.call` span with the operation, stream, shard
/// and consumer, records its outcome, and reports it to the [`Telemetry`] seam.
///
/// ```
/// use kinesis_client::layer::TraceLayer;
///
/// let layer = TraceLayer::new();
/// # let _ = layer;
/// ```
#[derive(Clone, Debug, Default)]
pub struct TraceLayer {
    telemetry: Telemetry,
}

impl TraceLayer {
    /// The layer, reporting nowhere but to `tracing`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The layer, also reporting each call's [`Success`](call::SUCCESS) and
    /// [`Time`](call::TIME) to `telemetry`.
    pub fn with_telemetry(telemetry: Telemetry) -> Self {
        Self { telemetry }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace {
            inner,
            telemetry: self.telemetry.clone(),
        }
    }
}

/// The service made by [`TraceLayer`].
#[derive(Clone, Debug)]
pub struct Trace<S> {
    inner: S,
    telemetry: Telemetry,
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
        let telemetry = self.telemetry.clone();
        Box::pin(
            async move {
                let started = telemetry
                    .is_enabled(call::LEVEL)
                    .then(tokio::time::Instant::now);
                let result = call.await;
                if let Err(e) = &result {
                    tracing::debug!(error = %e, kind = ?e.kind(), "call failed");
                }
                if let Some(started) = started {
                    let dims = [(call::OPERATION, Op::NAME)];
                    telemetry.success(call::LEVEL, call::SUCCESS, &dims, result.is_ok());
                    telemetry.time(call::LEVEL, call::TIME, &dims, started.elapsed());
                }
                result
            }
            .instrument(span),
        )
    }
}
