//! [`DiagnosticEvent`]: what the consumer did, for logs, metrics and tests.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use kinesis_client::ShardId;
use kinesis_client::Telemetry;
use kinesis_client::telemetry::{Broadcast, Event, Measurement, MetricsLevel, Recorder};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::LeaseEvent;
use tokio::sync::broadcast;

/// Something the consumer did. Delivered without ever blocking the consumer: to the callback
/// given to [`ConsumerBuilder::on_event`](crate::ConsumerBuilder::on_event) (called inline, so
/// it must be quick), and to every [`Consumer::events`](crate::Consumer::events) receiver (a
/// bounded broadcast: a receiver that falls behind misses the oldest events).
///
/// The lease cases (acquired, lost, released, renewal failed, stolen, checkpoint written or
/// failed, worker joined or left) come from the lease coordinator as [`LeaseEvent`]s.
///
/// ```
/// use kinesis_consumer::DiagnosticEvent;
/// use kinesis_lease::LeaseEvent;
///
/// fn log(event: &DiagnosticEvent) {
///     match event {
///         DiagnosticEvent::PollComplete { shard_id, records, .. } => {
///             println!("{shard_id}: {records} records")
///         }
///         DiagnosticEvent::Lease(LeaseEvent::Lost { key }) => println!("lost {key}"),
///         _ => {}
///     }
/// }
/// # log(&DiagnosticEvent::ShardStarted {
/// #     shard_id: "shardId-000000000000".parse().unwrap(),
/// #     checkpoint: kinesis_kcl_compat::sequence::Checkpoint::TRIM_HORIZON,
/// # });
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum DiagnosticEvent {
    /// A `GetRecords` call returned (polling).
    PollComplete {
        /// The shard.
        shard_id: ShardId,
        /// Kinesis records in the response (aggregates count once).
        records: usize,
        /// How far the shard's newest record is ahead of this batch.
        millis_behind_latest: Option<i64>,
        /// How long the call took, rate-limit waits and client retries included.
        duration: Duration,
    },
    /// An enhanced fan-out event arrived.
    SubscriptionEvent {
        /// The shard.
        shard_id: ShardId,
        /// Kinesis records in the event.
        records: usize,
        /// How far the shard's newest record is ahead of this event.
        millis_behind_latest: i64,
    },
    /// A fetch failed for a retryable reason; it is retried after `delay`.
    FetchRetry {
        /// The shard.
        shard_id: ShardId,
        /// The failure, as text.
        error: String,
        /// The pause before the retry.
        delay: Duration,
    },
    /// A shard's processing started (its lease was acquired), at `checkpoint`.
    ShardStarted {
        /// The shard.
        shard_id: ShardId,
        /// Where processing resumes.
        checkpoint: Checkpoint,
    },
    /// The end of a shard was reached (it was split or merged); its children follow.
    ShardEnded {
        /// The shard.
        shard_id: ShardId,
        /// Its child shards.
        children: Vec<ShardId>,
    },
    /// A shard's processing stopped on this worker (shard end, lease lost or released,
    /// shutdown, the stream dropped, or an error).
    ShardStopped {
        /// The shard.
        shard_id: ShardId,
    },
    /// KPL aggregates were skipped whole because they hold user records whose effective hash key
    /// lies outside the shard's range (see
    /// [`skip_aggregated_records_outside_shard`](crate::ConsumerSettings::skip_aggregated_records_outside_shard)).
    AggregatedRecordsSkipped {
        /// The shard.
        shard_id: ShardId,
        /// How many user records of one fetched batch were skipped.
        count: usize,
    },
    /// [`consume_with`](crate::Consumer::consume_with) skipped a record that could not be
    /// deserialized ([`PoisonRecords::Skip`](crate::PoisonRecords::Skip)), after its dead-letter
    /// handler, if any, had it.
    PoisonRecordSkipped {
        /// The shard.
        shard_id: ShardId,
        /// The record's position (staged: the checkpoint moves past it).
        position: kinesis_kcl_compat::sequence::ExtendedSequenceNumber,
        /// Why it could not be deserialized.
        error: String,
    },
    /// A shard was seen for the first time in the shard list.
    NewShardDetected {
        /// The shard.
        shard_id: ShardId,
    },
    /// A lease event of this worker's coordinator.
    Lease(LeaseEvent),
}

/// A callback for diagnostic events.
pub(crate) type EventCallback = Arc<dyn Fn(&DiagnosticEvent) + Send + Sync>;

/// The consumer's telemetry: the application's recorders, plus the diagnostic event stream and
/// callback, which are recorders over the same seam.
#[derive(Clone)]
pub(crate) struct Diagnostics {
    tx: broadcast::Sender<DiagnosticEvent>,
    /// The application's recorders and the views.
    telemetry: Telemetry,
    /// The views alone: the event stream and the callback.
    views: Telemetry,
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostics")
            .field("receivers", &self.tx.receiver_count())
            .field("telemetry", &self.telemetry)
            .finish()
    }
}

/// The [`ConsumerBuilder::on_event`](crate::ConsumerBuilder::on_event) callback as a recorder.
struct Callback(EventCallback);

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("on_event callback")
    }
}

impl Recorder for Callback {
    fn level(&self) -> MetricsLevel {
        MetricsLevel::None
    }
    fn record(&self, _: &Measurement<'_>) {}
    fn event(&self, event: &dyn Event) {
        if let Some(event) = event.downcast_ref::<DiagnosticEvent>() {
            (self.0)(event);
        }
    }
}

impl Diagnostics {
    pub(crate) fn new(
        capacity: usize,
        callback: Option<EventCallback>,
        telemetry: Telemetry,
    ) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        let mut views = Telemetry::new(Broadcast::new(tx.clone()));
        if let Some(callback) = callback {
            views = views.with(Callback(callback));
        }
        Self {
            tx,
            telemetry: telemetry.and(&views),
            views,
        }
    }

    pub(crate) fn emit(&self, event: DiagnosticEvent) {
        self.telemetry.event(&event);
    }

    /// A lease event of the coordinator, for the event stream and the callback only: the
    /// application's recorders had it from the coordinator already.
    pub(crate) fn emit_lease(&self, event: LeaseEvent) {
        self.views.event(&DiagnosticEvent::Lease(event));
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<DiagnosticEvent> {
        self.tx.subscribe()
    }

    /// Where the consumer's metrics go.
    pub(crate) fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }
}
