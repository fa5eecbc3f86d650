//! One shard's processing: [`ShardStream`], what the user reads, and the task behind it that
//! fetches, splits aggregates, skips what the checkpoint covers, deserializes, and makes the
//! final checkpoint when the shard's processing stops.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt as _;
use kinesis_client::{Client, ShardId, StartingPosition, StreamId};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber, Sentinel};
use kinesis_lease::Checkpointer;
use kinesis_lease::coordinator::{AcquiredLease, LeaseStatus};
use kinesis_lease::lineage::InitialPosition;
use kinesis_serde::Deserializer;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::deaggregate::convert;
use crate::error::ConsumerError;
use crate::events::{DiagnosticEvent, Diagnostics};
use crate::fetch::{Batch, Fetcher};
use crate::health::ShardBoard;
use crate::metrics::ShardMetrics;
use crate::record::ConsumerRecord;

/// Why a [`ShardStream`] ended ([`ShardStream::end_reason`]).
///
/// ```no_run
/// # async fn run(mut shard: kinesis_consumer::ShardStream<String>) {
/// use futures_util::StreamExt;
/// use kinesis_consumer::ShardStreamEnd;
///
/// while let Some(record) = shard.next().await {
///     // ...
/// #   let _ = record;
/// }
/// match shard.end_reason() {
///     Some(ShardStreamEnd::LeaseLost) => eprintln!("{}: another worker has it now", shard.shard_id()),
///     Some(reason) => println!("{}: {reason:?}", shard.shard_id()),
///     None => {}
/// }
/// # }
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShardStreamEnd {
    /// The shard ended (it was split or merged) and every record was delivered; the children
    /// start once its `SHARD_END` checkpoint is written.
    ShardEnd,
    /// Another worker took the lease, or it could not be renewed within the failover time: the
    /// records fetched but not delivered are read again by the new owner.
    LeaseLost,
    /// Under the KCL 3.x rules, the leader moved the lease to another worker: the final
    /// checkpoint hands it over.
    HandedOver,
    /// The consumer is shutting down (or the lease was released): the final checkpoint
    /// releases it.
    Shutdown,
    /// A fetch failed for good; the stream's last item was the error.
    Failed,
}

/// What the shard task sends to the [`ShardStream`]: one fetched batch, converted.
pub(crate) type Delivery<T> = Vec<Result<ConsumerRecord<T>, ConsumerError>>;

/// The records of one shard whose lease this worker holds, in order, deserialized, with KPL
/// aggregates split; and the shard's [`Checkpointer`].
///
/// Process the records, [`stage`](Checkpointer::stage) each one's
/// [`position`](ConsumerRecord::position) once it is done, and
/// [`checkpoint`](Checkpointer::checkpoint) from time to time (or use
/// [`Consumer::consume_with`](crate::Consumer::consume_with), which does it for you).
///
/// The stream ends when:
/// - the shard ended (it was split or merged) and every record was delivered; stage the last
///   one and its checkpoint becomes `SHARD_END`, after which the child shards start;
/// - the lease was lost to another worker (records fetched but not delivered are dropped; the
///   new owner reads them again from the checkpoint);
/// - the consumer shuts down.
///
/// When it has ended, or when it is dropped, the last staged position is checkpointed and the
/// lease released in one write, so another worker (or this one) continues from there
/// ([`defer_final_checkpoint`](Self::defer_final_checkpoint) makes that wait for the drop). An item
/// `Err` reports a record that could not be deserialized (the stream goes on) or a fetch
/// failure that ends the stream.
///
/// ```no_run
/// # async fn run(consumer: kinesis_consumer::Consumer<String>) -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::StreamExt;
///
/// let mut shards = consumer.shards()?;
/// while let Some(mut shard) = shards.next().await {
///     tokio::spawn(async move {
///         while let Some(record) = shard.next().await {
///             match record {
///                 Ok(record) => {
///                     println!("{}", record.data());
///                     shard.checkpointer().stage(record.position());
///                 }
///                 Err(e) => eprintln!("{e}"),
///             }
///         }
///     });
/// }
/// # Ok(()) }
/// ```
#[must_use = "a shard stream does nothing unless polled"]
pub struct ShardStream<T> {
    shard_id: ShardId,
    checkpointer: Checkpointer,
    rx: mpsc::Receiver<Delivery<T>>,
    current: std::vec::IntoIter<Result<ConsumerRecord<T>, ConsumerError>>,
    discard: Arc<AtomicBool>,
    done: Option<oneshot::Sender<()>>,
    /// The stream returned its end.
    ended: bool,
    /// The final checkpoint waits until the stream is dropped, not only ended.
    defer_final: bool,
    end: Arc<std::sync::OnceLock<ShardStreamEnd>>,
    metrics: ShardMetrics,
    /// When the application took the first record of the current batch.
    batch_taken: Option<Instant>,
}

impl<T> std::fmt::Debug for ShardStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardStream")
            .field("shard_id", &self.shard_id)
            .field("buffered", &self.current.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<T> ShardStream<T> {
    /// The shard.
    pub fn shard_id(&self) -> &ShardId {
        &self.shard_id
    }

    /// The shard's checkpointer (a cheap clone shares it).
    pub fn checkpointer(&self) -> &Checkpointer {
        &self.checkpointer
    }

    /// Why the stream ended: `None` while it is open (and for a stream the application
    /// dropped). Read it once `next()` returned `None`.
    pub fn end_reason(&self) -> Option<ShardStreamEnd> {
        self.end.get().copied()
    }

    /// A stream of `shard_id` and what feeds it: batches sent on the [`Ends`] are delivered in
    /// order (`capacity` of them buffered); the receiver resolves once the application is done
    /// with the stream (it ended, or was dropped).
    pub(crate) fn channel(
        shard_id: ShardId,
        checkpointer: Checkpointer,
        metrics: ShardMetrics,
        capacity: usize,
    ) -> (Self, Ends<T>, oneshot::Receiver<()>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (done_tx, done_rx) = oneshot::channel();
        let discard = Arc::new(AtomicBool::new(false));
        let end = Arc::new(std::sync::OnceLock::new());
        let stream = ShardStream {
            shard_id,
            checkpointer,
            rx,
            current: Vec::new().into_iter(),
            discard: Arc::clone(&discard),
            done: Some(done_tx),
            ended: false,
            defer_final: false,
            end: Arc::clone(&end),
            metrics,
            batch_taken: None,
        };
        (stream, Ends { tx, discard, end }, done_rx)
    }

    /// Keeps the lease, and the checkpointer usable, after the stream has ended, until the
    /// stream is dropped: the final checkpoint (with the lease's release) is written on drop
    /// rather than when `next()` returns `None`. For work that follows the end and may still
    /// checkpoint — a record processor told of the shard's end, or of a shutdown, say. A lost
    /// lease ends at once all the same, and at a shutdown the consumer waits at most its release
    /// timeout for the drop.
    ///
    /// ```no_run
    /// # async fn run(mut shard: kinesis_consumer::ShardStream<bytes::Bytes>) {
    /// use futures_util::StreamExt;
    ///
    /// shard.defer_final_checkpoint();
    /// let mut last = None;
    /// while let Some(Ok(record)) = shard.next().await {
    ///     last = Some(record.position());
    /// }
    /// // Ended: still time to decide what to checkpoint.
    /// if let Some(last) = last {
    ///     shard.checkpointer().stage(last);
    ///     let _ = shard.checkpointer().checkpoint().await;
    /// }
    /// drop(shard); // the final checkpoint and the release
    /// # }
    /// ```
    pub fn defer_final_checkpoint(&mut self) {
        self.defer_final = true;
    }

    fn finish(&mut self) {
        self.ended = true;
        self.current = Vec::new().into_iter();
        self.rx.close();
        if !self.defer_final
            && let Some(done) = self.done.take()
        {
            let _ = done.send(());
        }
    }
}

impl<T> Unpin for ShardStream<T> {}

impl<T> Stream for ShardStream<T> {
    type Item = Result<ConsumerRecord<T>, ConsumerError>;

    /// Cancel safe: records are only taken out of the stream when returned.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            if self.discard.load(Ordering::Acquire) {
                self.finish();
                return Poll::Ready(None);
            }
            if let Some(item) = self.current.next() {
                return Poll::Ready(Some(item));
            }
            // The application asks for the record after a batch's last: it is done with it.
            if let Some(taken) = self.batch_taken.take() {
                self.metrics.process_records_time(taken.elapsed());
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(batch)) => {
                    self.current = batch.into_iter();
                    self.batch_taken = Some(Instant::now());
                }
                Poll::Ready(None) => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// What a shard task needs from its consumer.
pub(crate) struct ShardContext<T> {
    pub(crate) client: Client,
    /// The fetchers' client: one attempt per call, their loops own the retries.
    pub(crate) fetch_client: Client,
    pub(crate) retry_budget: kinesis_client::RetryBudget,
    pub(crate) stream: StreamId,
    pub(crate) deserializer: Arc<dyn Deserializer<T> + Send + Sync>,
    pub(crate) diagnostics: Diagnostics,
    pub(crate) initial_position: InitialPosition,
    pub(crate) prefetch_batches: usize,
    pub(crate) release_timeout: Duration,
    pub(crate) skip_aggregated_records_outside_shard: bool,
    /// Wakes the shard sync (after a shard ended).
    pub(crate) shard_sync: Arc<tokio::sync::Notify>,
    /// The worker's span: each shard task runs in a child span naming its shard.
    pub(crate) span: tracing::Span,
    /// Where the shard tasks keep their progress, for health snapshots.
    pub(crate) board: ShardBoard,
}

/// Where to start reading a shard, from its checkpoint; `None` when the shard is finished.
pub(crate) fn starting_position(
    checkpoint: &Checkpoint,
    initial: &InitialPosition,
) -> Option<StartingPosition> {
    if let Some(esn) = checkpoint.sequence() {
        // AT, not AFTER: the checkpoint may be inside an aggregate; records up to and
        // including it are skipped after fetching.
        return Some(StartingPosition::AtSequenceNumber(
            esn.sequence_number().clone(),
        ));
    }
    match checkpoint.sentinel()? {
        Sentinel::TrimHorizon => Some(StartingPosition::TrimHorizon),
        Sentinel::Latest => Some(StartingPosition::Latest),
        Sentinel::AtTimestamp => Some(match initial {
            InitialPosition::AtTimestamp(t) => StartingPosition::AtTimestamp(*t),
            // The time is not stored in the lease: without it in the settings, read everything.
            _ => StartingPosition::TrimHorizon,
        }),
        _ => None,
    }
}

/// Why a shard's fetching stopped.
enum Stop {
    /// The lease ended (lost, released, shutdown).
    Lease(LeaseStatus),
    /// The shard's end was delivered.
    ShardEnd,
    /// A fetch failed for good (delivered as the stream's last item).
    Failed,
    /// The user dropped the stream.
    Dropped,
}

/// How a [`ShardStream`]'s producer feeds and ends it: its channel, the discard flag (set: the
/// stream ends at once, dropping what is buffered), and the end reason (set before the channel
/// closes).
pub(crate) struct Ends<T> {
    pub(crate) tx: mpsc::Sender<Delivery<T>>,
    pub(crate) discard: Arc<AtomicBool>,
    pub(crate) end: Arc<std::sync::OnceLock<ShardStreamEnd>>,
}

/// Creates the stream of an acquired lease and spawns its task.
pub(crate) fn start<T: Send + 'static>(
    ctx: Arc<ShardContext<T>>,
    lease: AcquiredLease,
    fetcher: impl FnOnce(StartingPosition) -> Fetcher,
) -> ShardStream<T> {
    let initializing = Instant::now();
    let shard_id = lease.lease_key.shard_id().clone();
    let position = starting_position(&lease.checkpoint, &ctx.initial_position);
    let fetcher = position.map(fetcher);
    let (stream, ends, done_rx) = ShardStream::channel(
        shard_id.clone(),
        lease.checkpointer.clone(),
        ShardMetrics::new(ctx.diagnostics.telemetry().clone(), shard_id.clone()),
        ctx.prefetch_batches,
    );
    ctx.diagnostics.emit(DiagnosticEvent::ShardStarted {
        shard_id: shard_id.clone(),
        checkpoint: lease.checkpoint.clone(),
    });
    stream.metrics.initialized(initializing.elapsed());
    let span = tracing::info_span!(parent: &ctx.span, "shard", shard_id = %shard_id);
    tokio::spawn(tracing::Instrument::instrument(
        run(ctx, shard_id, lease, fetcher, ends, done_rx),
        span,
    ));
    stream
}

async fn run<T: Send + 'static>(
    ctx: Arc<ShardContext<T>>,
    shard_id: ShardId,
    lease: AcquiredLease,
    fetcher: Option<Fetcher>,
    ends: Ends<T>,
    mut done: oneshot::Receiver<()>,
) {
    let Ends { tx, discard, end } = ends;
    let metrics = ShardMetrics::new(ctx.diagnostics.telemetry().clone(), shard_id.clone());
    let progress = ctx.board.register(&shard_id);
    tracing::info!(checkpoint = %lease.checkpoint, "processing the shard");
    let checkpointer = lease.checkpointer;
    let throughput = lease.throughput;
    let mut signal = lease.signal;
    let mut skip_through = lease.checkpoint.sequence().cloned();
    let range = lease
        .hash_key_range
        .filter(|_| ctx.skip_aggregated_records_outside_shard);
    let mut last_delivered: Option<ExtendedSequenceNumber> = None;

    let stop = match fetcher {
        // Already at SHARD_END: nothing to read.
        None => Stop::ShardEnd,
        Some(mut fetcher) => loop {
            let fetched = tokio::select! {
                biased;
                status = signal.ended() => break Stop::Lease(status),
                _ = &mut done => break Stop::Dropped,
                fetched = fetcher.next_batch() => fetched,
            };
            let fetched_at = Instant::now();
            let Batch {
                records,
                end,
                millis_behind_latest,
            } = match fetched {
                Ok(Some(batch)) => batch,
                Ok(None) => break Stop::ShardEnd,
                Err(e) => {
                    metrics.process_task(&[], fetched_at, false);
                    let _ = tx.send(vec![Err(e)]).await;
                    break Stop::Failed;
                }
            };
            progress.answered(millis_behind_latest);
            let sizes: Vec<u64> = records.iter().map(|r| r.data().len() as u64).collect();
            // The lease's throughput, which a KCL 3.x leader balances on.
            throughput.record(sizes.iter().sum());
            let (delivery, outside) = convert(
                &shard_id,
                range.as_ref(),
                records,
                &mut skip_through,
                &*ctx.deserializer,
            );
            if outside > 0 {
                ctx.diagnostics
                    .emit(DiagnosticEvent::AggregatedRecordsSkipped {
                        shard_id: shard_id.clone(),
                        count: outside,
                    });
            }
            if let Some(last) = delivery.iter().rev().find_map(|r| match r {
                Ok(record) => Some(record.position()),
                Err(e) => e.record_position().cloned(),
            }) {
                last_delivered = Some(last);
            }
            if let Some(children) = end {
                let children = children_of(&ctx, &shard_id, children).await;
                // The checkpoint of the last record delivered becomes SHARD_END.
                checkpointer.mark_shard_end(last_delivered.clone(), children.clone());
                ctx.diagnostics.emit(DiagnosticEvent::ShardEnded {
                    shard_id: shard_id.clone(),
                    children: children.clone(),
                });
                if !delivery.is_empty() {
                    let _ = tx.send(delivery).await;
                }
                metrics.process_task(&sizes, fetched_at, true);
                break Stop::ShardEnd;
            }
            if delivery.is_empty() {
                metrics.process_task(&sizes, fetched_at, true);
                continue;
            }
            let count = delivery.len();
            progress.waiting_on_application();
            tokio::select! {
                biased;
                status = signal.ended() => break Stop::Lease(status),
                _ = &mut done => break Stop::Dropped,
                sent = tx.send(delivery) => match sent {
                    Ok(()) => {
                        progress.delivered(count);
                        metrics.process_task(&sizes, fetched_at, true);
                    }
                    Err(_) => break Stop::Dropped,
                },
            }
        },
    };

    let stopping = Instant::now();
    let reason = match stop {
        Stop::Lease(LeaseStatus::Lost) => Some(ShardStreamEnd::LeaseLost),
        Stop::Lease(LeaseStatus::HandedOver) => Some(ShardStreamEnd::HandedOver),
        Stop::Lease(_) => Some(ShardStreamEnd::Shutdown),
        Stop::ShardEnd => Some(ShardStreamEnd::ShardEnd),
        Stop::Failed => Some(ShardStreamEnd::Failed),
        Stop::Dropped => None,
    };
    if let Some(reason) = reason {
        // Before the stream can end: a reader that saw its end reads the reason.
        let _ = end.set(reason);
    }
    if let Stop::Lease(_) = stop {
        // Lost, released or shutting down: end the user's stream now; what was fetched but not
        // delivered is read again by the next holder.
        discard.store(true, Ordering::Release);
    }
    drop(tx);

    // Wait until the user is done with the stream (it ended, or was dropped), so that the
    // final checkpoint covers the last record staged. A lost lease needs no wait.
    let lost =
        matches!(stop, Stop::Lease(LeaseStatus::Lost)) || signal.status() == LeaseStatus::Lost;
    if lost {
        // Another worker may hold the shard now: what the application has not taken yet (after
        // a shard end or a failed fetch, the stream keeps what was fetched) is not delivered.
        discard.store(true, Ordering::Release);
    } else if !matches!(stop, Stop::Dropped) {
        loop {
            tokio::select! {
                biased;
                _ = &mut done => break,
                status = signal.ended(), if !signal.is_ended() => {
                    discard.store(true, Ordering::Release);
                    if status == LeaseStatus::Lost {
                        break;
                    }
                }
                // Shutting down: the coordinator waits this long for the final checkpoint.
                () = tokio::time::sleep(ctx.release_timeout), if signal.is_ended() => break,
            }
        }
    }

    metrics.shut_down(stopping.elapsed());
    if signal.status() != LeaseStatus::Lost {
        final_checkpoint(&checkpointer, &mut signal, &shard_id).await;
    }
    tracing::info!(
        reason = match stop {
            Stop::Lease(LeaseStatus::Lost) => "lease lost",
            Stop::Lease(LeaseStatus::HandedOver) => "handed over",
            Stop::Lease(_) => "lease released or shutting down",
            Stop::ShardEnd => "shard end",
            Stop::Failed => "fetch failed",
            Stop::Dropped => "stream dropped",
        },
        "stopped processing the shard"
    );
    ctx.diagnostics.emit(DiagnosticEvent::ShardStopped {
        shard_id: shard_id.clone(),
    });
    if let Stop::ShardEnd = stop {
        // The children may be ready now: read the shard list and take at once.
        ctx.shard_sync.notify_one();
    }
}

/// How long a failed final checkpoint waits before it is written again: the KCL retries its
/// shutdown task after `taskBackoffTimeMillis` (500 ms); this ceiling doubles from there.
const FINAL_CHECKPOINT_RETRY: (Duration, Duration) =
    (Duration::from_millis(500), Duration::from_secs(10));

/// Writes the final checkpoint and releases the lease. A failed write is tried again, after a
/// pause, for as long as this worker holds the lease: the coordinator keeps renewing it, so no
/// other worker would take the shard over, and at a shard end its children could not start
/// before `SHARD_END` is written (the KCL retries its shutdown task likewise).
async fn final_checkpoint(
    checkpointer: &Checkpointer,
    signal: &mut kinesis_lease::coordinator::LeaseSignal,
    shard_id: &ShardId,
) {
    let backoff = kinesis_client::Backoff::new(FINAL_CHECKPOINT_RETRY.0, FINAL_CHECKPOINT_RETRY.1);
    let mut retry = 0;
    loop {
        let e = match checkpointer.checkpoint_and_release().await {
            Ok(()) => return,
            Err(e) if e.is_lease_lost() => return,
            Err(e) => e,
        };
        if signal.status() != LeaseStatus::Held {
            tracing::warn!(shard_id = %shard_id, error = %e, "final checkpoint failed");
            return;
        }
        retry += 1;
        let pause = backoff.delay(retry);
        tracing::warn!(shard_id = %shard_id, error = %e, retry, ?pause, "final checkpoint failed; trying again");
        tokio::select! {
            biased;
            // The lease ended meanwhile (lost, or the worker shuts down): one last attempt
            // above unless it was lost.
            status = signal.ended() => {
                if status == LeaseStatus::Lost {
                    return;
                }
            }
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// The children of an ended shard: as the service reported them, or from the shard list when
/// it did not.
async fn children_of<T>(
    ctx: &ShardContext<T>,
    shard_id: &ShardId,
    reported: Vec<kinesis_client::ChildShard>,
) -> Vec<ShardId> {
    if !reported.is_empty() {
        return reported.iter().map(|c| c.id().clone()).collect();
    }
    let mut children = Vec::new();
    let mut shards = ctx.client.list_shards(ctx.stream.clone(), None);
    while let Some(shard) = shards.next().await {
        match shard {
            Ok(shard) => {
                if shard.parents().any(|p| p == shard_id) {
                    children.push(shard.id().clone());
                }
            }
            Err(e) => {
                tracing::warn!(shard_id = %shard_id, error = %e, "listing shards to find the children of an ended shard failed");
                break;
            }
        }
    }
    children
}
