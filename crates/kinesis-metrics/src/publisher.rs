//! [`CloudWatchPublisher`]: records values, aggregates them per interval, and sends them with
//! `PutMetricData` from a background task, never making the caller wait.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use kinesis_client::Error;
use kinesis_client::telemetry::{Measurement, Recorder, Summary};
use kinesis_kcl_compat::metrics::{MetricsLevel, publishing};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::aggregate::{Aggregator, MetricKey, StatisticSet};
use crate::queue::DropOldest;

/// A boxed, sendable future borrowing its sink.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where aggregated data go: CloudWatch ([`CloudWatchSink`](crate::CloudWatchSink)), or a test's recorder.
pub trait MetricSink: Send + Sync + fmt::Debug + 'static {
    /// Sends one `PutMetricData` call of `data` under `namespace`.
    fn put<'a>(
        &'a self,
        namespace: &'a str,
        data: &'a [(MetricKey, StatisticSet)],
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// The settings of a [`CloudWatchPublisher`], with the KCL's defaults.
///
/// ```
/// use std::time::Duration;
/// use kinesis_kcl_compat::metrics::MetricsLevel;
/// use kinesis_metrics::PublisherSettings;
///
/// let s = PublisherSettings::new("my-application");
/// assert_eq!(s.buffer_time, Duration::from_secs(10));
/// assert_eq!((s.max_queue_size, s.batch_size), (10_000, 20));
/// assert_eq!(s.level, MetricsLevel::Detailed);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct PublisherSettings {
    /// The namespace (the KCL uses the application name, the KPL `KinesisProducerLibrary`).
    pub namespace: String,
    /// Values above this level are not recorded (`metricsLevel`, DETAILED).
    pub level: MetricsLevel,
    /// The dimensions kept (`metricsEnabledDimensions`, all by default); others are removed
    /// from a value's dimensions before it is aggregated.
    pub enabled_dimensions: Option<BTreeSet<String>>,
    /// How long values are aggregated before they are queued for sending
    /// (`metricsBufferTimeMillis`, 10 s).
    pub buffer_time: Duration,
    /// Aggregated data queued at most (`metricsMaxQueueSize`, 10 000); the oldest are dropped.
    pub max_queue_size: usize,
    /// Data per `PutMetricData` call (20, as the KCL; CloudWatch takes up to 1000).
    pub batch_size: usize,
    /// The timeout of one call (5 s).
    pub put_timeout: Duration,
}

impl PublisherSettings {
    /// The KCL's defaults under `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            level: publishing::DEFAULT_LEVEL,
            enabled_dimensions: None,
            buffer_time: publishing::BUFFER_TIME,
            max_queue_size: publishing::MAX_QUEUE_SIZE,
            batch_size: publishing::BATCH_SIZE,
            put_timeout: publishing::PUT_TIMEOUT,
        }
    }

    /// Sets the level.
    #[must_use]
    pub fn with_level(mut self, level: MetricsLevel) -> Self {
        self.level = level;
        self
    }

    /// Keeps only these dimensions.
    #[must_use]
    pub fn with_enabled_dimensions<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        self.enabled_dimensions = Some(names.into_iter().map(str::to_owned).collect());
        self
    }

    /// Sets the buffer time.
    #[must_use]
    pub fn with_buffer_time(mut self, buffer_time: Duration) -> Self {
        self.buffer_time = buffer_time;
        self
    }

    /// Sets the queue's bound (at least 1).
    #[must_use]
    pub fn with_max_queue_size(mut self, size: usize) -> Self {
        self.max_queue_size = size.max(1);
        self
    }

    /// Sets the data per call (1 to 1000).
    #[must_use]
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.clamp(1, 1000);
        self
    }
}

/// What a publisher did so far.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublisherStats {
    /// Aggregated data sent.
    pub sent: u64,
    /// Aggregated data dropped (the queue was full while CloudWatch failed or was slow), and
    /// values dropped before aggregation (not finite, or too many metrics in one interval).
    pub dropped: u64,
    /// `PutMetricData` calls that failed: retryable failures queue their data again; data the
    /// service refused (a validation error) are counted in `dropped`.
    pub failed_calls: u64,
    /// Aggregated data of calls that timed out: they may or may not have arrived, and are not
    /// sent again (that could count them twice).
    pub unknown: u64,
}

/// Records values under metric names and sends their per-interval statistic sets to CloudWatch
/// from a background task. A cheap-clone handle and a telemetry [`Recorder`]: recording never
/// waits on the network; [`shutdown`](Self::shutdown) sends what is left.
#[derive(Clone, Debug)]
pub struct CloudWatchPublisher {
    inner: Arc<Inner>,
}

struct Inner {
    settings: PublisherSettings,
    sink: Arc<dyn MetricSink>,
    aggregator: Mutex<Aggregator>,
    queue: Mutex<DropOldest<(MetricKey, StatisticSet)>>,
    sent: AtomicU64,
    failed_calls: AtomicU64,
    refused: AtomicU64,
    unknown: AtomicU64,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudWatchPublisher")
            .field("namespace", &self.settings.namespace)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CloudWatchPublisher {
    /// A publisher sending through `sink`, started at once (call within a tokio runtime).
    pub fn start(settings: PublisherSettings, sink: Arc<dyn MetricSink>) -> Self {
        let (stop, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            aggregator: Mutex::new(Aggregator::new(settings.max_queue_size)),
            queue: Mutex::new(DropOldest::new(settings.max_queue_size)),
            settings,
            sink,
            sent: AtomicU64::new(0),
            failed_calls: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
            stop,
            task: Mutex::new(None),
        });
        let task = tokio::spawn(Inner::run(Arc::downgrade(&inner), inner.stop.subscribe()));
        *lock(&inner.task) = Some(task);
        Self { inner }
    }

    /// The settings.
    pub fn settings(&self) -> &PublisherSettings {
        &self.inner.settings
    }

    /// What the publisher did so far.
    pub fn stats(&self) -> PublisherStats {
        PublisherStats {
            sent: self.inner.sent.load(Ordering::Relaxed),
            dropped: lock(&self.inner.queue).dropped()
                + lock(&self.inner.aggregator).dropped()
                + self.inner.refused.load(Ordering::Relaxed),
            failed_calls: self.inner.failed_calls.load(Ordering::Relaxed),
            unknown: self.inner.unknown.load(Ordering::Relaxed),
        }
    }

    /// Stops the background task and sends what is recorded and queued, each call bounded by the
    /// put timeout; what still fails is dropped. Idempotent. (Dropping every handle without it
    /// stops the task too, and loses what was not sent.)
    ///
    /// # Cancel safety
    ///
    /// Dropped part way, the data not sent yet are lost.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let task = lock(&self.inner.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.inner.move_to_queue();
        self.inner.send_queued().await;
    }
}

impl Recorder for CloudWatchPublisher {
    fn level(&self) -> MetricsLevel {
        self.inner.settings.level
    }

    /// Aggregates the measurement into the current interval, keeping only the enabled
    /// dimensions. Never waits on the network.
    fn record(&self, m: &Measurement<'_>) {
        self.add(m, StatisticSet::of(m.value));
    }

    /// Adds the summary's samples as one statistic set.
    fn record_summary(&self, m: &Measurement<'_>, summary: &Summary) {
        if let Some(set) = StatisticSet::of_summary(summary) {
            self.add(m, set);
        }
    }
}

impl CloudWatchPublisher {
    fn add(&self, m: &Measurement<'_>, set: StatisticSet) {
        let settings = &self.inner.settings;
        if !settings.level.enables(m.level) {
            return;
        }
        let kept = m.dimensions.iter().copied().filter(|(n, _)| {
            settings
                .enabled_dimensions
                .as_ref()
                .is_none_or(|enabled| enabled.contains(*n))
        });
        let key = MetricKey::new(m.name, m.unit, kept);
        lock(&self.inner.aggregator).record_set(key, set);
    }
}

impl Inner {
    /// Sends every buffer time until shutdown, or until every handle is dropped (what was not
    /// sent then is lost).
    async fn run(inner: Weak<Self>, mut stop: watch::Receiver<bool>) {
        let Some(period) = inner.upgrade().map(|i| i.settings.buffer_time) else {
            return;
        };
        let period = period.max(Duration::from_millis(1));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return,
                _ = ticks.tick() => {}
            }
            let Some(this) = inner.upgrade() else { return };
            this.move_to_queue();
            this.send_queued().await;
        }
    }

    fn move_to_queue(&self) {
        let sets = lock(&self.aggregator).drain();
        let mut queue = lock(&self.queue);
        for set in sets {
            queue.push(set);
        }
    }

    /// Sends the queue in batches until it is empty or a call fails (its batch is queued
    /// again, and the next interval tries again).
    async fn send_queued(&self) {
        loop {
            let batch = lock(&self.queue).take(self.settings.batch_size);
            if batch.is_empty() {
                return;
            }
            let sent = tokio::time::timeout(
                self.settings.put_timeout,
                self.sink.put(&self.settings.namespace, &batch),
            )
            .await;
            match sent {
                Ok(Ok(())) => {
                    self.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                Ok(Err(e)) if e.is_retryable() => {
                    self.failed_calls.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        namespace = %self.settings.namespace,
                        data = batch.len(),
                        error = %e,
                        "PutMetricData failed; the data are queued for the next interval"
                    );
                    lock(&self.queue).put_back(batch);
                    return;
                }
                Ok(Err(e)) => {
                    self.failed_calls.fetch_add(1, Ordering::Relaxed);
                    self.refused
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    tracing::warn!(
                        namespace = %self.settings.namespace,
                        data = batch.len(),
                        error = %e,
                        "PutMetricData refused the data; they are dropped"
                    );
                }
                Err(_) => {
                    // The call may have been applied: sending it again could count twice.
                    self.unknown
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    tracing::warn!(
                        namespace = %self.settings.namespace,
                        data = batch.len(),
                        timeout = ?self.settings.put_timeout,
                        "PutMetricData did not answer in time; whether the data arrived is unknown"
                    );
                    return;
                }
            }
        }
    }
}

/// A sink that accepts every call at once and keeps nothing: what recording and aggregating
/// cost the application without the network (the benchmarks use it), or a publisher whose
/// [`stats`](CloudWatchPublisher::stats) are wanted without any data leaving the process.
///
/// ```
/// use std::sync::Arc;
/// use kinesis_metrics::{CloudWatchPublisher, DiscardSink, PublisherSettings};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let publisher = CloudWatchPublisher::start(PublisherSettings::new("app"), Arc::new(DiscardSink));
/// publisher.shutdown().await;
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardSink;

impl MetricSink for DiscardSink {
    fn put<'a>(
        &'a self,
        _: &'a str,
        _: &'a [(MetricKey, StatisticSet)],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
