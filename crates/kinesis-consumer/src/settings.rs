//! How the consumer reads: [`FetchMode`], [`PollingSettings`], [`FanOutSettings`] and
//! [`ConsumerSettings`].

use std::time::Duration;

use kinesis_lease::coordinator::CoordinatorSettings;
use kinesis_lease::lineage::InitialPosition;

/// How records are fetched from a shard.
///
/// ```
/// use std::time::Duration;
/// use kinesis_consumer::{FanOutSettings, FetchMode, PollingSettings};
///
/// let polling = FetchMode::Polling(PollingSettings::default().with_batch_size(500));
/// let fan_out = FetchMode::EnhancedFanOut(FanOutSettings::default().with_consumer_name("billing"));
/// # let _ = (polling, fan_out);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchMode {
    /// `GetRecords` calls: at most 5 per second per shard, shared by every consumer of the stream.
    Polling(PollingSettings),
    /// `SubscribeToShard`: records are pushed over HTTP/2 with a dedicated 2 MiB/s per shard.
    EnhancedFanOut(FanOutSettings),
}

impl Default for FetchMode {
    fn default() -> Self {
        FetchMode::Polling(PollingSettings::default())
    }
}

impl FetchMode {
    /// How many fetched batches (or received events) may wait for the handler, per shard.
    pub(crate) fn prefetch_batches(&self) -> usize {
        match self {
            FetchMode::Polling(p) => p.prefetch_batches,
            FetchMode::EnhancedFanOut(f) => f.prefetch_batches,
        }
    }
}

/// Settings of [`FetchMode::Polling`].
///
/// ```
/// use std::time::Duration;
/// use kinesis_consumer::PollingSettings;
///
/// let s = PollingSettings::default();
/// assert_eq!(s.batch_size, 10_000);
/// assert_eq!(s.poll_interval, Duration::from_secs(1));
/// assert_eq!(s.prefetch_batches, 2);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollingSettings {
    /// `GetRecords`'s limit: records per call, 1 to 10 000. Default 10 000 (the KCL's
    /// `maxRecords`).
    pub batch_size: u32,
    /// The pause before the next call once the shard is caught up (`MillisBehindLatest` is 0
    /// and the batch was not full). While behind, the next call is made at once, within the
    /// 5 calls per second per shard that the client's rate limiter keeps. Default 1 s (the KCL's
    /// `idleTimeBetweenReadsInMillis`).
    pub poll_interval: Duration,
    /// How many fetched batches may wait for the handler, per shard: a slow handler stops the
    /// fetching. Default 2.
    pub prefetch_batches: usize,
    /// The ceiling of the first pause after a fetch failed for a retryable reason (throttling,
    /// a transient error; each fetch call makes one attempt, the fetcher owns the retries);
    /// doubled on each further failure, the pause itself random below it (full jitter, the
    /// workspace's `Backoff`). Default 1 s.
    pub retry_base_delay: Duration,
    /// The largest ceiling of a pause between fetch retries. Default 30 s.
    pub retry_max_delay: Duration,
}

impl Default for PollingSettings {
    fn default() -> Self {
        Self {
            batch_size: 10_000,
            poll_interval: Duration::from_secs(1),
            prefetch_batches: 2,
            retry_base_delay: Duration::from_secs(1),
            retry_max_delay: Duration::from_secs(30),
        }
    }
}

impl PollingSettings {
    /// Sets the records per `GetRecords` call (clamped to 1..=10 000).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: u32) -> Self {
        self.batch_size = batch_size.clamp(1, 10_000);
        self
    }

    /// Sets the pause between calls once caught up.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets how many batches may wait for the handler (at least 1).
    #[must_use]
    pub fn with_prefetch_batches(mut self, batches: usize) -> Self {
        self.prefetch_batches = batches.max(1);
        self
    }

    /// Sets the retry pauses of failed fetches.
    #[must_use]
    pub fn with_retry_delays(mut self, base: Duration, max: Duration) -> Self {
        self.retry_base_delay = base;
        self.retry_max_delay = max.max(base);
        self
    }
}

/// Settings of [`FetchMode::EnhancedFanOut`].
///
/// ```
/// use kinesis_consumer::FanOutSettings;
///
/// let s = FanOutSettings::default();
/// assert_eq!(s.consumer_name, None); // the application name
/// assert_eq!(s.max_subscriptions_per_second, 10);
/// assert!(!s.deregister_on_shutdown);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FanOutSettings {
    /// The registered stream consumer's name. Default: the application name, as the KCL.
    pub consumer_name: Option<String>,
    /// Deregister the stream consumer on shutdown. Default false: other workers of the
    /// application share it.
    pub deregister_on_shutdown: bool,
    /// At most this many `SubscribeToShard` calls per second across the worker's shards (on
    /// top of the service's 1 per second per shard, which the client's rate limiter keeps).
    /// Default 10.
    pub max_subscriptions_per_second: u32,
    /// How many received events may wait for the handler, per shard. Default 2.
    pub prefetch_batches: usize,
    /// The ceiling of the first pause after a subscription failed for a retryable reason;
    /// doubled on each further failure, the pause itself random below it (full jitter, the
    /// workspace's `Backoff`). Default 1 s.
    pub retry_base_delay: Duration,
    /// The largest ceiling of a pause between subscription retries. Default 30 s.
    pub retry_max_delay: Duration,
}

impl Default for FanOutSettings {
    fn default() -> Self {
        Self {
            consumer_name: None,
            deregister_on_shutdown: false,
            max_subscriptions_per_second: 10,
            prefetch_batches: 2,
            retry_base_delay: Duration::from_secs(1),
            retry_max_delay: Duration::from_secs(30),
        }
    }
}

impl FanOutSettings {
    /// Sets the stream consumer's name.
    #[must_use]
    pub fn with_consumer_name(mut self, name: impl Into<String>) -> Self {
        self.consumer_name = Some(name.into());
        self
    }

    /// Deregisters the stream consumer on shutdown.
    #[must_use]
    pub fn with_deregister_on_shutdown(mut self, deregister: bool) -> Self {
        self.deregister_on_shutdown = deregister;
        self
    }

    /// Sets the cap on `SubscribeToShard` calls per second (at least 1).
    #[must_use]
    pub fn with_max_subscriptions_per_second(mut self, per_second: u32) -> Self {
        self.max_subscriptions_per_second = per_second.max(1);
        self
    }

    /// Sets how many events may wait for the handler (at least 1).
    #[must_use]
    pub fn with_prefetch_batches(mut self, batches: usize) -> Self {
        self.prefetch_batches = batches.max(1);
        self
    }

    /// Sets the retry pauses of failed subscriptions.
    #[must_use]
    pub fn with_retry_delays(mut self, base: Duration, max: Duration) -> Self {
        self.retry_base_delay = base;
        self.retry_max_delay = max.max(base);
        self
    }
}

/// The consumer's settings, with the KCL's defaults.
///
/// ```
/// use std::time::Duration;
/// use kinesis_consumer::ConsumerSettings;
/// use kinesis_lease::lineage::InitialPosition;
///
/// let s = ConsumerSettings::default();
/// assert_eq!(s.initial_position, InitialPosition::Latest);
/// assert_eq!(s.shard_sync_interval, Duration::from_secs(60));
/// assert_eq!(s.lease.failover_time(), Duration::from_secs(10));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerSettings {
    /// Polling or enhanced fan-out. Default polling.
    pub fetch_mode: FetchMode,
    /// Where shards without a checkpoint start. Default [`InitialPosition::Latest`], as the
    /// KCL. A checkpoint always wins.
    pub initial_position: InitialPosition,
    /// The lease coordinator's timings (failover, renew and take intervals, steal limits).
    /// Its initial position is replaced by [`initial_position`](Self::initial_position).
    pub lease: CoordinatorSettings,
    /// How often the shard list is read (`ListShards`) so that new shards get leases. Also
    /// read at once whenever a shard ends. Default 60 s (the KCL's `shardSyncIntervalMillis`).
    pub shard_sync_interval: Duration,
    /// The capacity of the diagnostic event channel. Default 4096.
    pub event_capacity: usize,
    /// Skip, whole, every KPL aggregate holding a user record whose effective hash key lies
    /// outside the shard's hash key range, as the KCL does (each skip is a
    /// [`DiagnosticEvent::AggregatedRecordsSkipped`](crate::DiagnosticEvent) and a warning).
    /// Such aggregates reach a shard only when the producer's shard map was stale (around a
    /// reshard), and a KPL-compatible producer (the KPL, or this workspace's) then sends all
    /// their records again; so a worker of this crate and a Java KCL worker deliver the same
    /// records from a shard. Set `false` to deliver every record from the shard it landed on
    /// instead (the resent ones then arrive twice). Default `true`.
    pub skip_aggregated_records_outside_shard: bool,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            fetch_mode: FetchMode::default(),
            initial_position: InitialPosition::Latest,
            lease: CoordinatorSettings::default(),
            shard_sync_interval: Duration::from_secs(60),
            event_capacity: 4096,
            skip_aggregated_records_outside_shard: true,
        }
    }
}

impl ConsumerSettings {
    /// Sets the fetch mode.
    #[must_use]
    pub fn with_fetch_mode(mut self, mode: FetchMode) -> Self {
        self.fetch_mode = mode;
        self
    }

    /// Sets where shards without a checkpoint start.
    #[must_use]
    pub fn with_initial_position(mut self, position: InitialPosition) -> Self {
        self.initial_position = position;
        self
    }

    /// Sets the lease coordinator's settings.
    #[must_use]
    pub fn with_lease_settings(mut self, lease: CoordinatorSettings) -> Self {
        self.lease = lease;
        self
    }

    /// Sets how often the shard list is read.
    #[must_use]
    pub fn with_shard_sync_interval(mut self, interval: Duration) -> Self {
        self.shard_sync_interval = interval;
        self
    }

    /// Sets whether KPL aggregates holding user records outside the shard's hash key range are
    /// skipped.
    #[must_use]
    pub fn with_skip_aggregated_records_outside_shard(mut self, skip: bool) -> Self {
        self.skip_aggregated_records_outside_shard = skip;
        self
    }

    /// Sets the capacity of the diagnostic event channel (at least 1).
    #[must_use]
    pub fn with_event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }
}
