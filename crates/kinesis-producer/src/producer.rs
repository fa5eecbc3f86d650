//! [`Producer`], its builder, and the handle of a record sent: [`ProduceHandle`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use kinesis_client::{ClientConfig, IntoStreamId, PartitionKey, StreamId, Telemetry};
use kinesis_kcl_compat::hash::{effective_hash_key, parse_explicit_hash_key};
use kinesis_serde::{Raw, Serializer};
use tokio::sync::{Semaphore, TryAcquireError, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::{ProduceError, ProduceErrorKind};
use crate::kpl_metrics::KplMetrics;
use crate::metrics::{MetricsRecorder, ProducerMetrics};
use crate::pipeline::{Accepted, Buffer, BufferPermit, Clients, Command, Engine, MetricsCallback};
use crate::record::{ProduceResult, ProducerRecord};
use crate::settings::ProducerSettings;
use crate::shard_map::ShardMap;

/// Builds a [`Producer`]; see [`Producer::builder`].
#[must_use]
pub struct ProducerBuilder<T> {
    config: ClientConfig,
    /// Checked at `build()`.
    stream: Result<StreamId, kinesis_client::Error>,
    serializer: Arc<dyn Serializer<T> + Send + Sync>,
    settings: ProducerSettings,
    on_metrics: Option<MetricsCallback>,
    telemetry: Telemetry,
    #[cfg(feature = "cloudwatch-metrics")]
    cloudwatch: Option<kinesis_metrics::PublisherSettings>,
    shutdown_signal: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    build_timeout: std::time::Duration,
}

impl<T> fmt::Debug for ProducerBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProducerBuilder")
            .field("stream", &self.stream)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> ProducerBuilder<T> {
    /// How values become payloads. Default [`Raw`] (bytes as they are).
    pub fn serializer<U, S>(self, serializer: S) -> ProducerBuilder<U>
    where
        S: Serializer<U> + Send + Sync + 'static,
    {
        ProducerBuilder {
            config: self.config,
            stream: self.stream,
            serializer: Arc::new(serializer),
            settings: self.settings,
            on_metrics: self.on_metrics,
            telemetry: self.telemetry,
            #[cfg(feature = "cloudwatch-metrics")]
            cloudwatch: self.cloudwatch,
            shutdown_signal: self.shutdown_signal,
            build_timeout: self.build_timeout,
        }
    }

    /// The settings.
    pub fn settings(mut self, settings: ProducerSettings) -> Self {
        self.settings = settings;
        self
    }

    /// A callback for the metrics of every interval, and of the last one at shutdown. Called
    /// on the producer's task: keep it quick.
    pub fn on_metrics(
        mut self,
        callback: impl Fn(&ProducerMetrics) + Send + Sync + 'static,
    ) -> Self {
        self.on_metrics = Some(Arc::new(callback));
        self
    }

    /// Where the producer reports: the KPL's metrics (`UserRecordsReceived`, `UserRecordsPut`,
    /// `KinesisRecordsPut`, `BufferingTime`, `ErrorsByCode`, ... at the granularity of
    /// [`ProducerSettings::metrics_granularity`]) and each AWS call's metrics from the client
    /// stack. Recorders are added to those already set (by
    /// [`cloudwatch_metrics`](Self::cloudwatch_metrics), for one).
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = self.telemetry.and(&telemetry);
        self
    }

    /// Publishes the KPL's CloudWatch metrics at `level` under the KPL's namespace
    /// (`KinesisProducerLibrary`), uploaded every 60 s as the KPL does: what a dashboard built
    /// for a KPL application shows. Sent through this builder's [`ClientConfig`];
    /// [`Producer::shutdown`] sends what is left.
    ///
    /// ```no_run
    /// # async fn run(config: kinesis_client::ClientConfig) -> Result<(), Box<dyn std::error::Error>> {
    /// use kinesis_client::StreamId;
    /// use kinesis_producer::{MetricsLevel, Producer};
    ///
    /// let producer = Producer::builder(&config, "orders".parse::<StreamId>()?)
    ///     .cloudwatch_metrics(MetricsLevel::Detailed)
    ///     .build()
    ///     .await?;
    /// # let _ = producer; Ok(()) }
    /// ```
    #[cfg(feature = "cloudwatch-metrics")]
    pub fn cloudwatch_metrics(self, level: kinesis_client::telemetry::MetricsLevel) -> Self {
        use kinesis_kcl_compat::metrics::kpl;
        let settings = kinesis_metrics::PublisherSettings::new(kpl::NAMESPACE)
            .with_level(level)
            .with_buffer_time(kpl::UPLOAD_DELAY);
        self.cloudwatch_metrics_with(settings)
    }

    /// Publishes the KPL's CloudWatch metrics with `settings` (namespace, level, enabled
    /// dimensions, upload interval, queue bound).
    #[cfg(feature = "cloudwatch-metrics")]
    pub fn cloudwatch_metrics_with(mut self, settings: kinesis_metrics::PublisherSettings) -> Self {
        self.cloudwatch = Some(settings);
        self
    }

    /// Shuts the producer down when `signal` completes: everything it accepted is delivered (or
    /// handed back with its reason), as [`Producer::shutdown`] does. The signal's task holds no
    /// handle: dropping every producer handle stops the producer as usual.
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown_signal = Some(Box::pin(signal));
        self
    }

    /// Shuts the producer down gracefully on SIGTERM or SIGINT
    /// ([`kinesis_client::shutdown_signal`]); the same as
    /// `shutdown_on(kinesis_client::shutdown_signal())`.
    ///
    /// ```no_run
    /// # async fn run(config: kinesis_client::ClientConfig) -> Result<(), Box<dyn std::error::Error>> {
    /// use kinesis_client::StreamId;
    /// use kinesis_producer::Producer;
    ///
    /// let producer = Producer::builder(&config, "orders".parse::<StreamId>()?)
    ///     .shutdown_on_signals()
    ///     .build()
    ///     .await?;
    /// # let _ = producer; Ok(()) }
    /// ```
    pub fn shutdown_on_signals(self) -> Self {
        self.shutdown_on(kinesis_client::shutdown_signal())
    }

    /// How long [`build`](Self::build) may take before it gives up. Default 30 s: against a
    /// service that accepts connections but never answers, the shard map's calls time out and
    /// are retried (each retry a WARN line with its cause) until this deadline.
    pub fn build_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.build_timeout = timeout;
        self
    }

    /// Checks the settings, reads the stream's shard map (failing for a missing stream) and
    /// starts the producer's task, within the [`build_timeout`](Self::build_timeout).
    ///
    /// # Errors
    ///
    /// [`ProduceErrorKind::Setup`] for settings outside the service's limits, an invalid
    /// stream name, a stream that cannot be read (missing, access denied), or no answer within
    /// the build timeout.
    pub async fn build(self) -> Result<Producer<T>, ProduceError> {
        let deadline = self.build_timeout;
        let what = match &self.stream {
            Ok(stream) => format!("the producer of stream {stream}"),
            Err(_) => "the producer".to_owned(),
        };
        match tokio::time::timeout(deadline, self.build_now()).await {
            Ok(built) => built,
            Err(_) => Err(ProduceError::new(
                ProduceErrorKind::Setup,
                format!(
                    "{what} was not built within {deadline:?}: Kinesis did not answer (each \
                     retry is logged at WARN with its cause)"
                ),
            )),
        }
    }

    async fn build_now(self) -> Result<Producer<T>, ProduceError> {
        self.settings.validate()?;
        let stream = self.stream.map_err(|e| {
            ProduceError::new(ProduceErrorKind::Setup, format!("invalid stream: {e}"))
                .with_source(e)
        })?;
        #[cfg(feature = "cloudwatch-metrics")]
        let publisher = self.cloudwatch.map(|settings| {
            kinesis_metrics::CloudWatchPublisher::start(
                settings,
                Arc::new(kinesis_metrics::CloudWatchSink::new(&self.config)),
            )
        });
        let telemetry = self.telemetry;
        #[cfg(feature = "cloudwatch-metrics")]
        let telemetry = match &publisher {
            Some(p) => telemetry.with(p.clone()),
            None => telemetry,
        };
        // Every AWS call of this producer reports to the same recorders.
        let config = self.config.with_telemetry(telemetry.clone());
        let clients = Clients::new(&config);
        let client = clients.reads.clone();
        if client.put_limits().max_batch_size() < self.settings.max_batch_bytes
            || client.put_limits().max_record_size() < self.settings.max_record_size
        {
            return Err(ProduceError::new(
                ProduceErrorKind::Setup,
                "the client's PutLimits are smaller than the producer's batch or record size",
            ));
        }
        let map = ShardMap::read(&client, &stream).await.map_err(|e| {
            ProduceError::new(
                ProduceErrorKind::Setup,
                format!("cannot read the shards of stream {stream}: {e}"),
            )
            .with_source(e)
        })?;
        tracing::debug!(stream = %stream, shards = map.len(), "producer started");
        let metrics = Arc::new(MetricsRecorder::new(Instant::now()));
        let (metrics_tx, _) = broadcast::channel(16);
        let (tx, rx) = mpsc::unbounded_channel();
        let buffer = Buffer::new(self.settings.buffer_records, self.settings.buffer_bytes);
        let engine = Engine::new(
            clients,
            stream.clone(),
            self.settings.clone(),
            buffer.clone(),
            map,
            metrics,
            metrics_tx.clone(),
            self.on_metrics,
            KplMetrics::new(
                telemetry,
                stream.name().as_str().to_owned(),
                self.settings.metrics_granularity,
            ),
        );
        let task = tokio::spawn(engine.run(rx));
        let producer = Producer {
            inner: Arc::new(Inner {
                stream,
                serializer: self.serializer,
                records: buffer.records,
                bytes: buffer.bytes,
                settings: self.settings,
                tx,
                closed: AtomicBool::new(false),
                task: Mutex::new(Some(task)),
                metrics_tx,
                last_metrics: tokio::sync::Mutex::new(None),
                #[cfg(feature = "cloudwatch-metrics")]
                publisher,
            }),
        };
        if let Some(signal) = self.shutdown_signal {
            let weak = Arc::downgrade(&producer.inner);
            tokio::spawn(async move {
                signal.await;
                if let Some(inner) = weak.upgrade() {
                    Producer { inner }.shutdown().await;
                }
            });
        }
        Ok(producer)
    }
}

/// Puts records into a stream efficiently and reliably: batches within the `PutRecords` limits,
/// aggregates (KPL format) by predicted shard when asked, keeps each shard within its write
/// limits, retries what failed for a retryable reason, and answers every record: stored (where)
/// or not (why, with the record handed back).
///
/// A cheap-clone handle, usable from many tasks. Records wait in a bounded buffer (records and
/// bytes): when it is full, [`produce`](Self::produce) and [`send`](Self::send) wait, and
/// [`try_send`](Self::try_send) hands the record back.
///
/// Call [`shutdown`](Self::shutdown) to deliver everything accepted before stopping. Dropping
/// the last handle without it stops the producer at once: the records not yet stored are
/// answered with [`ProduceErrorKind::Closed`] (their [`ProduceHandle`]s resolve; none hangs).
///
/// ```no_run
/// use kinesis_client::{ClientConfig, StreamId};
/// use kinesis_producer::{AggregationSettings, Producer, ProducerRecord, ProducerSettings};
/// use kinesis_serde::Utf8;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ClientConfig::from_env().await?;
/// let producer = Producer::builder(&config, "orders".parse::<StreamId>()?)
///     .serializer(Utf8)
///     .settings(ProducerSettings::default().with_aggregation(AggregationSettings::default()))
///     .build()
///     .await?;
/// let stored = producer
///     .produce(ProducerRecord::new("customer-42", "order placed".to_owned()))
///     .await?;
/// println!("stored in {} at {}", stored.shard_id(), stored.sequence_number());
/// let metrics = producer.shutdown().await;
/// println!("{metrics}");
/// # Ok(()) }
/// ```
pub struct Producer<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Producer<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("stream", &self.inner.stream)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Inner<T> {
    stream: StreamId,
    serializer: Arc<dyn Serializer<T> + Send + Sync>,
    settings: ProducerSettings,
    records: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Command>,
    closed: AtomicBool,
    task: Mutex<Option<JoinHandle<ProducerMetrics>>>,
    metrics_tx: broadcast::Sender<ProducerMetrics>,
    last_metrics: tokio::sync::Mutex<Option<ProducerMetrics>>,
    /// The CloudWatch publisher this producer started, flushed at shutdown.
    #[cfg(feature = "cloudwatch-metrics")]
    publisher: Option<kinesis_metrics::CloudWatchPublisher>,
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // Dropped without shutdown: stop now; pending records are answered `Closed`.
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

/// A record checked and serialized, not yet in the buffer.
struct Prepared {
    data: Bytes,
    key: PartitionKey,
    explicit_hash_key: Option<kinesis_client::HashKey>,
    hash: kinesis_client::HashKey,
}

impl Prepared {
    fn size(&self) -> usize {
        self.data.len() + self.key.byte_len()
    }
}

impl Producer<Bytes> {
    /// A builder for a producer writing to `stream` (a name or an ARN) with the clients of
    /// `config`.
    ///
    /// ```no_run
    /// # async fn run(config: kinesis_client::ClientConfig) -> Result<(), Box<dyn std::error::Error>> {
    /// use kinesis_client::StreamId;
    /// use kinesis_producer::Producer;
    ///
    /// let producer = Producer::builder(&config, "orders".parse::<StreamId>()?).build().await?;
    /// # let _ = producer; Ok(()) }
    /// ```
    pub fn builder(config: &ClientConfig, stream: impl IntoStreamId) -> ProducerBuilder<Bytes> {
        ProducerBuilder {
            config: config.clone(),
            stream: stream.into_stream_id(),
            serializer: Arc::new(Raw),
            settings: ProducerSettings::default(),
            on_metrics: None,
            telemetry: Telemetry::none(),
            #[cfg(feature = "cloudwatch-metrics")]
            cloudwatch: None,
            shutdown_signal: None,
            build_timeout: std::time::Duration::from_secs(30),
        }
    }
}

impl<T: Send + 'static> Producer<T> {
    /// Produces one record and waits until it is stored: where, or why not.
    ///
    /// # Errors
    ///
    /// [`ProduceErrorKind::InvalidRecord`] at once for a bad record; otherwise as
    /// [`ProduceHandle`].
    ///
    /// # Cancel safety
    ///
    /// Dropped after the record entered the buffer, the record is still sent; only its answer
    /// is lost.
    pub async fn produce(&self, record: ProducerRecord<T>) -> Result<ProduceResult, ProduceError> {
        self.send(record).await?.await
    }

    /// Puts a record into the buffer (waiting for space) and returns a handle that resolves
    /// when it is stored or failed: produce now, await the outcome later.
    ///
    /// # Errors
    ///
    /// [`ProduceErrorKind::InvalidRecord`] for a bad record, [`ProduceErrorKind::Closed`] after
    /// shutdown; nothing is buffered then.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while waiting for space, nothing was buffered.
    pub async fn send(&self, record: ProducerRecord<T>) -> Result<ProduceHandle, ProduceError> {
        // The record is not handed back here, so its key is taken rather than copied.
        let ProducerRecord {
            partition_key,
            explicit_hash_key,
            value,
        } = record;
        let prepared = self.prepare(partition_key, explicit_hash_key.as_deref(), |s| {
            s.serialize_owned(value)
        })?;
        let size = u32::try_from(prepared.size()).unwrap_or(u32::MAX);
        let closed = || ProduceError::new(ProduceErrorKind::Closed, "the producer is shut down");
        let records = self.inner.records.acquire().await.map_err(|_| closed())?;
        let bytes = self
            .inner
            .bytes
            .acquire_many(size)
            .await
            .map_err(|_| closed())?;
        // The engine gives the space back when it answers the record.
        records.forget();
        bytes.forget();
        self.enqueue(prepared, BufferPermit { bytes: size })
    }

    /// Puts a record into the buffer if there is space now; otherwise hands it back.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] with the record when the buffer is full;
    /// [`TrySendError::Rejected`] for a bad record or after shutdown.
    pub fn try_send(&self, record: ProducerRecord<T>) -> Result<ProduceHandle, TrySendError<T>> {
        let prepared = match self.prepare(
            record.partition_key.clone(),
            record.explicit_hash_key.as_deref(),
            |s| s.serialize(&record.value),
        ) {
            Ok(p) => p,
            Err(e) => return Err(TrySendError::Rejected(e)),
        };
        let size = u32::try_from(prepared.size()).unwrap_or(u32::MAX);
        let permit = |e: TryAcquireError| match e {
            TryAcquireError::NoPermits => None,
            TryAcquireError::Closed => Some(ProduceError::new(
                ProduceErrorKind::Closed,
                "the producer is shut down",
            )),
        };
        let records = match self.inner.records.try_acquire() {
            Ok(p) => p,
            Err(e) => {
                return Err(match permit(e) {
                    Some(e) => TrySendError::Rejected(e),
                    None => TrySendError::Full(record),
                });
            }
        };
        let bytes = match self.inner.bytes.try_acquire_many(size) {
            Ok(p) => p,
            Err(e) => {
                return Err(match permit(e) {
                    Some(e) => TrySendError::Rejected(e),
                    None => TrySendError::Full(record),
                });
            }
        };
        records.forget();
        bytes.forget();
        self.enqueue(prepared, BufferPermit { bytes: size })
            .map_err(TrySendError::Rejected)
    }

    /// Produces several records and waits for all; the outcomes come in the order given.
    ///
    /// # Cancel safety
    ///
    /// As [`produce`](Self::produce): records already buffered are still sent.
    pub async fn produce_batch(
        &self,
        records: impl IntoIterator<Item = ProducerRecord<T>>,
    ) -> Vec<Result<ProduceResult, ProduceError>> {
        let mut handles = Vec::new();
        for record in records {
            handles.push(self.send(record).await);
        }
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            out.push(match handle {
                Ok(h) => h.await,
                Err(e) => Err(e),
            });
        }
        out
    }

    /// Sends everything buffered at once (no linger) and waits until every record accepted
    /// before this call is answered.
    ///
    /// # Errors
    ///
    /// [`ProduceErrorKind::Closed`] when the producer is shut down.
    pub async fn flush(&self) -> Result<(), ProduceError> {
        let (tx, rx) = oneshot::channel();
        self.inner.tx.send(Command::Flush(tx)).map_err(|_| {
            ProduceError::new(ProduceErrorKind::Closed, "the producer is shut down")
        })?;
        rx.await
            .map_err(|_| ProduceError::new(ProduceErrorKind::Closed, "the producer is shut down"))
    }

    /// Stops accepting records, delivers everything accepted (or answers what cannot be
    /// delivered with its reason), and returns the metrics of the last interval (also given to
    /// the metrics callback). Idempotent: later calls return the same metrics.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the producer's task goes on delivering; calling again waits for it.
    pub async fn shutdown(&self) -> ProducerMetrics {
        let mut last = self.inner.last_metrics.lock().await;
        if let Some(metrics) = &*last {
            return metrics.clone();
        }
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.records.close();
        self.inner.bytes.close();
        let _ = self.inner.tx.send(Command::Close);
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let metrics = match task {
            Some(task) => match task.await {
                Ok(metrics) => metrics,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => ProducerMetrics::default(),
            },
            None => ProducerMetrics::default(),
        };
        // Last: the metrics of the final deliveries are sent too.
        #[cfg(feature = "cloudwatch-metrics")]
        if let Some(publisher) = &self.inner.publisher {
            publisher.shutdown().await;
        }
        *last = Some(metrics.clone());
        metrics
    }

    /// The metrics of every interval from now on (and of the last one at shutdown).
    pub fn metrics(&self) -> broadcast::Receiver<ProducerMetrics> {
        self.inner.metrics_tx.subscribe()
    }

    /// The stream.
    pub fn stream(&self) -> &StreamId {
        &self.inner.stream
    }

    /// The settings.
    pub fn settings(&self) -> &ProducerSettings {
        &self.inner.settings
    }

    /// Checks and serializes a record.
    fn prepare(
        &self,
        partition_key: String,
        explicit_hash_key: Option<&str>,
        serialize: impl FnOnce(
            &(dyn Serializer<T> + Send + Sync),
        ) -> Result<Bytes, kinesis_serde::Error>,
    ) -> Result<Prepared, ProduceError> {
        let invalid = |m: String| ProduceError::new(ProduceErrorKind::InvalidRecord, m);
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(ProduceError::new(
                ProduceErrorKind::Closed,
                "the producer is shut down",
            ));
        }
        let key = PartitionKey::new(partition_key)
            .map_err(|e| invalid(format!("invalid partition key: {e}")).with_source(e))?;
        let explicit_hash_key =
            match explicit_hash_key {
                Some(text) => Some(parse_explicit_hash_key(text).map_err(|e| {
                    invalid(format!("invalid explicit hash key: {e}")).with_source(e)
                })?),
                None => None,
            };
        let data = serialize(&*self.inner.serializer).map_err(|e| {
            invalid(format!("the value could not be serialized: {e}")).with_source(e)
        })?;
        let prepared = Prepared {
            hash: effective_hash_key(key.as_str(), explicit_hash_key),
            data,
            key,
            explicit_hash_key,
        };
        if prepared.size() > self.inner.settings.max_record_size {
            return Err(invalid(format!(
                "record of {} bytes (payload plus partition key) exceeds the maximum record size of {} bytes",
                prepared.size(),
                self.inner.settings.max_record_size
            ))
            .with_record(prepared.data, prepared.key.as_str().to_owned(), 0));
        }
        Ok(prepared)
    }

    fn enqueue(
        &self,
        prepared: Prepared,
        permit: BufferPermit,
    ) -> Result<ProduceHandle, ProduceError> {
        let (reply, rx) = oneshot::channel();
        let accepted = Accepted {
            data: prepared.data,
            key: prepared.key,
            explicit: prepared.explicit_hash_key.is_some(),
            hash: prepared.hash,
            accepted_at: Instant::now(),
            attempts: 0,
            id: 0,
            reply,
            permit,
            maybe_stored: None,
        };
        self.inner.tx.send(Command::Record(accepted)).map_err(|_| {
            // Not buffered after all: its space goes back.
            self.inner.records.add_permits(1);
            self.inner.bytes.add_permits(permit.bytes as usize);
            ProduceError::new(ProduceErrorKind::Closed, "the producer is shut down")
        })?;
        Ok(ProduceHandle { rx })
    }
}

/// The outcome of a record sent with [`Producer::send`]: a future resolving to where it was
/// stored, or why not.
///
/// Resolves with [`ProduceErrorKind::Closed`] if the producer was dropped without shutdown
/// before the record was stored.
#[must_use = "the outcome of a record is only known by awaiting its handle"]
#[derive(Debug)]
pub struct ProduceHandle {
    rx: oneshot::Receiver<Result<ProduceResult, ProduceError>>,
}

impl Future for ProduceHandle {
    type Output = Result<ProduceResult, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(ProduceError::new(
                    ProduceErrorKind::Closed,
                    "the producer stopped before the record was stored",
                ))
            })
        })
    }
}

/// Why [`Producer::try_send`] did not take a record.
pub enum TrySendError<T> {
    /// The buffer is full: the record is handed back.
    Full(ProducerRecord<T>),
    /// The record is invalid, or the producer is shut down.
    Rejected(ProduceError),
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(r) => f
                .debug_struct("Full")
                .field("partition_key", &r.partition_key)
                .finish_non_exhaustive(),
            TrySendError::Rejected(e) => f.debug_tuple("Rejected").field(e).finish(),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the producer's buffer is full"),
            TrySendError::Rejected(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}
