//! [`Shards`]: the stream of a worker's shard streams, which ends only once the shutdown is done.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::{mpsc, watch};

use crate::shard::ShardStream;

/// Where a consumer's shutdown is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Running,
    ShuttingDown,
    /// Every shard's final checkpoint was written (or failed) and the leases released.
    ShutDown,
}

/// The stream of a worker's [`ShardStream`]s; see [`Consumer::shards`](crate::Consumer::shards).
///
/// It ends once the consumer has shut down: after every shard's final checkpoint, so that an
/// application whose `main` returns when it ends loses no checkpoint.
#[must_use = "streams do nothing unless polled"]
pub struct Shards<T> {
    rx: mpsc::Receiver<ShardStream<T>>,
    /// Resolves when the shutdown is done; `None` once it has.
    finished: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<T> Shards<T> {
    /// The streams from `rx`; the end waits for `lifecycle` to reach
    /// [`Lifecycle::ShutDown`] when a shutdown has begun.
    pub(crate) fn new(
        rx: mpsc::Receiver<ShardStream<T>>,
        mut lifecycle: watch::Receiver<Lifecycle>,
    ) -> Self {
        let finished = Box::pin(async move {
            // The streams stopped coming without a shutdown (the consumer was dropped): end.
            if *lifecycle.borrow_and_update() == Lifecycle::Running {
                return;
            }
            // Err: the consumer is gone, so nothing more will happen.
            let _ = lifecycle.wait_for(|l| *l == Lifecycle::ShutDown).await;
        });
        Self {
            rx,
            finished: Some(finished),
        }
    }
}

impl<T> fmt::Debug for Shards<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shards").finish_non_exhaustive()
    }
}

impl<T> Stream for Shards<T> {
    type Item = ShardStream<T>;

    /// Cancel safe.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ShardStream<T>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => {}
            other => return other,
        }
        if let Some(finished) = self.finished.as_mut() {
            std::task::ready!(finished.as_mut().poll(cx));
            self.finished = None;
        }
        Poll::Ready(None)
    }
}
