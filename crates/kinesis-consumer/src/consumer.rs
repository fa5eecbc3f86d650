//! [`Consumer`] and its builder: one worker of an application reading a stream.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use tracing::Instrument as _;

use bytes::Bytes;
use kinesis_client::layer::{Quota, QuotaScope, RateLimiter, RateLimits};
use kinesis_client::{
    AdminClient, Client, ClientConfig, ConsumerArn, IntoStreamId, StreamId, Telemetry,
};
use kinesis_lease::coordinator::{Handover, LeaseCoordinator};
use kinesis_lease::{AssignmentStrategy, DynamoDbLeaseRepository, LeaseRepository};
use kinesis_serde::{Deserializer, Raw};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::consume_with::PoisonRecords;
use crate::error::{ConsumerError, ConsumerErrorKind};
use crate::events::{DiagnosticEvent, Diagnostics, EventCallback};
use crate::health::{ConsumerHealth, ShardBoard};
use crate::metrics;
use crate::settings::{ConsumerSettings, FetchMode};
use crate::shard::{ShardContext, ShardStream};
use crate::shards::{Lifecycle, Shards};
use crate::worker_tasks::{dispatch_acquisitions, start_coordinator, sync_shards};

type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long `build()` may take by default.
const DEFAULT_BUILD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Builds a [`Consumer`]; see [`Consumer::builder`].
#[must_use]
pub struct ConsumerBuilder<T> {
    config: ClientConfig,
    /// Checked at `build()`.
    stream: Result<StreamId, kinesis_client::Error>,
    application_name: String,
    worker_id: Option<String>,
    deserializer: Arc<dyn Deserializer<T> + Send + Sync>,
    settings: ConsumerSettings,
    strategy: Option<Arc<dyn AssignmentStrategy>>,
    repository: Option<Arc<dyn LeaseRepository>>,
    handover: Option<Handover>,
    on_event: Option<EventCallback>,
    shutdown_signal: Option<ShutdownSignal>,
    build_timeout: std::time::Duration,
    poison_records: PoisonRecords,
    telemetry: Telemetry,
    #[cfg(feature = "cloudwatch-metrics")]
    cloudwatch: Option<kinesis_metrics::PublisherSettings>,
}

impl<T> fmt::Debug for ConsumerBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerBuilder")
            .field("stream", &self.stream)
            .field("application_name", &self.application_name)
            .field("worker_id", &self.worker_id)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> ConsumerBuilder<T> {
    /// This worker's id: unique among the application's workers. Default: a random id.
    pub fn worker_id(mut self, worker_id: impl Into<String>) -> Self {
        self.worker_id = Some(worker_id.into());
        self
    }

    /// How payloads become values. Default [`Raw`] (the bytes as they are).
    pub fn deserializer<U, D>(self, deserializer: D) -> ConsumerBuilder<U>
    where
        D: Deserializer<U> + Send + Sync + 'static,
    {
        ConsumerBuilder {
            config: self.config,
            stream: self.stream,
            application_name: self.application_name,
            worker_id: self.worker_id,
            deserializer: Arc::new(deserializer),
            settings: self.settings,
            strategy: self.strategy,
            repository: self.repository,
            handover: self.handover,
            on_event: self.on_event,
            shutdown_signal: self.shutdown_signal,
            build_timeout: self.build_timeout,
            poison_records: self.poison_records,
            telemetry: self.telemetry,
            #[cfg(feature = "cloudwatch-metrics")]
            cloudwatch: self.cloudwatch,
        }
    }

    /// All settings at once.
    pub fn settings(mut self, settings: ConsumerSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Polling or enhanced fan-out.
    pub fn fetch_mode(mut self, mode: FetchMode) -> Self {
        self.settings.fetch_mode = mode;
        self
    }

    /// Where shards without a checkpoint start.
    pub fn initial_position(mut self, position: kinesis_lease::lineage::InitialPosition) -> Self {
        self.settings.initial_position = position;
        self
    }

    /// The lease coordinator's settings.
    pub fn lease_settings(mut self, lease: kinesis_lease::CoordinatorSettings) -> Self {
        self.settings.lease = lease;
        self
    }

    /// How leases are shared among workers. Default [`Balanced`](kinesis_lease::Balanced).
    pub fn strategy(mut self, strategy: Arc<dyn AssignmentStrategy>) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// Where leases are stored. Default: the DynamoDB table named after the application, in
    /// the KCL's format (created when missing).
    pub fn lease_repository(mut self, repository: Arc<dyn LeaseRepository>) -> Self {
        self.repository = Some(repository);
        self
    }

    /// The channel on which released leases are announced to the application's other workers.
    /// Default: [`Handover::for_table`] of the application name (the workers of this process).
    pub fn handover(mut self, handover: Handover) -> Self {
        self.handover = Some(handover);
        self
    }

    /// A callback for every [`DiagnosticEvent`], called inline: keep it quick and
    /// non-blocking.
    pub fn on_event(mut self, callback: impl Fn(&DiagnosticEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(callback));
        self
    }

    /// Where the consumer reports: the KCL's metrics (`ProcessTask`, `InitializeTask`,
    /// `ShutdownTask` per shard; `RenewAllLeases`, `TakeLeases`, ... from the lease
    /// coordinator), each AWS call's metrics from the client stack, the consumer's own
    /// [`DiagnosticEvent`]s and its coordinator's [`LeaseEvent`](kinesis_lease::LeaseEvent)s
    /// (once: not again as `DiagnosticEvent::Lease`, which only the event stream and the
    /// callback get). Recorders are added to those already set (by
    /// [`cloudwatch_metrics`](Self::cloudwatch_metrics), for one).
    ///
    /// ```no_run
    /// # async fn run(config: kinesis_client::ClientConfig, telemetry: kinesis_client::Telemetry) -> Result<(), kinesis_consumer::ConsumerError> {
    /// use kinesis_client::StreamId;
    /// use kinesis_consumer::Consumer;
    ///
    /// let consumer = Consumer::builder(&config, "orders".parse::<StreamId>()?, "order-audit")
    ///     .telemetry(telemetry)
    ///     .build()
    ///     .await?;
    /// # let _ = consumer; Ok(()) }
    /// ```
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = self.telemetry.and(&telemetry);
        self
    }

    /// Publishes the KCL's CloudWatch metrics at `level`, under the application name as the
    /// namespace, with the KCL's other defaults (10 s buffer, every dimension): what a
    /// dashboard built for a Java KCL application of the same name shows. Sent through this
    /// builder's [`ClientConfig`]; [`Consumer::shutdown`] sends what is left.
    ///
    /// ```no_run
    /// # async fn run(config: kinesis_client::ClientConfig) -> Result<(), kinesis_consumer::ConsumerError> {
    /// use kinesis_client::StreamId;
    /// use kinesis_consumer::{Consumer, MetricsLevel};
    ///
    /// let consumer = Consumer::builder(&config, "orders".parse::<StreamId>()?, "order-audit")
    ///     .cloudwatch_metrics(MetricsLevel::Detailed)
    ///     .build()
    ///     .await?;
    /// # let _ = consumer; Ok(()) }
    /// ```
    #[cfg(feature = "cloudwatch-metrics")]
    pub fn cloudwatch_metrics(self, level: kinesis_client::telemetry::MetricsLevel) -> Self {
        let settings = kinesis_metrics::PublisherSettings::new(self.application_name.clone())
            .with_level(level);
        self.cloudwatch_metrics_with(settings)
    }

    /// Publishes the KCL's CloudWatch metrics with `settings` (namespace, level, enabled
    /// dimensions, buffer time, queue bound).
    #[cfg(feature = "cloudwatch-metrics")]
    pub fn cloudwatch_metrics_with(mut self, settings: kinesis_metrics::PublisherSettings) -> Self {
        self.cloudwatch = Some(settings);
        self
    }

    /// What [`consume_with`](Consumer::consume_with) does with a record whose payload cannot
    /// be deserialized. Default: [`PoisonRecords::Fail`].
    ///
    /// ```no_run
    /// # async fn run(config: kinesis_client::ClientConfig) -> Result<(), kinesis_consumer::ConsumerError> {
    /// use kinesis_client::StreamId;
    /// use kinesis_consumer::{Consumer, PoisonRecords};
    /// use kinesis_serde::Utf8;
    ///
    /// let consumer: Consumer<String> = Consumer::builder(&config, "orders".parse::<StreamId>()?, "order-audit")
    ///     .deserializer(Utf8)
    ///     .on_poison_record(PoisonRecords::dead_letter(|raw, error| async move {
    ///         eprintln!("not UTF-8 at {}: {error}", raw.position());
    ///     }))
    ///     .build()
    ///     .await?;
    /// # let _ = consumer; Ok(()) }
    /// ```
    pub fn on_poison_record(mut self, policy: PoisonRecords) -> Self {
        self.poison_records = policy;
        self
    }

    /// Shuts the consumer down when `signal` completes (for instance `tokio::signal::ctrl_c`).
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown_signal = Some(Box::pin(signal));
        self
    }

    /// Shuts the consumer down gracefully on SIGTERM or SIGINT
    /// ([`kinesis_client::shutdown_signal`]): every shard checkpoints what was staged and
    /// releases its lease, so other workers continue at once. The same as
    /// `shutdown_on(kinesis_client::shutdown_signal())`.
    pub fn shutdown_on_signals(self) -> Self {
        self.shutdown_on(kinesis_client::shutdown_signal())
    }

    /// How long [`build`](Self::build) may take before it gives up. Default 30 s: against a
    /// service that accepts connections but never answers, each call's attempts time out and
    /// are retried (each retry a WARN line with its cause) until this deadline.
    pub fn build_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.build_timeout = timeout;
        self
    }

    /// Checks the stream, registers the fan-out consumer (when fetching so), ensures the lease
    /// table, reads the shard list and starts the lease coordinator, within the
    /// [`build_timeout`](Self::build_timeout).
    ///
    /// # Errors
    ///
    /// [`ConsumerErrorKind::Kinesis`] when the stream is missing or cannot be described, or
    /// the fan-out consumer cannot be registered; [`ConsumerErrorKind::Lease`] when the lease
    /// table cannot be used; [`ConsumerErrorKind::Usage`] for an empty application name or an
    /// invalid stream name; [`ConsumerErrorKind::Timeout`] when the services did not answer
    /// within the build timeout.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropped part way, leases may have been taken; they expire.
    pub async fn build(self) -> Result<Consumer<T>, ConsumerError> {
        let deadline = self.build_timeout;
        let what = match &self.stream {
            Ok(stream) => format!("the consumer {} of stream {stream}", self.application_name),
            Err(_) => "the consumer".to_owned(),
        };
        match tokio::time::timeout(deadline, self.build_now()).await {
            Ok(built) => built,
            Err(_) => Err(ConsumerError::new(
                ConsumerErrorKind::Timeout,
                format!(
                    "{what} was not built within {deadline:?}: its calls to Kinesis or DynamoDB \
                     did not answer (each retry is logged at WARN with its cause)"
                ),
            )),
        }
    }

    async fn build_now(self) -> Result<Consumer<T>, ConsumerError> {
        let ConsumerBuilder {
            config,
            stream,
            application_name,
            worker_id,
            deserializer,
            settings,
            strategy,
            repository,
            handover,
            on_event,
            shutdown_signal,
            build_timeout: _,
            poison_records,
            telemetry,
            #[cfg(feature = "cloudwatch-metrics")]
            cloudwatch,
        } = self;
        let stream = stream.map_err(ConsumerError::from)?;
        if application_name.is_empty() {
            return Err(ConsumerError::new(
                ConsumerErrorKind::Usage,
                "the application name (the lease table's name) must not be empty",
            ));
        }
        #[cfg(feature = "cloudwatch-metrics")]
        let publisher = cloudwatch.map(|settings| {
            kinesis_metrics::CloudWatchPublisher::start(
                settings,
                Arc::new(kinesis_metrics::CloudWatchSink::new(&config)),
            )
        });
        #[cfg(feature = "cloudwatch-metrics")]
        let telemetry = match &publisher {
            Some(p) => telemetry.with(p.clone()),
            None => telemetry,
        };
        // Every AWS call of this consumer reports to the same recorders.
        let config = config.with_telemetry(telemetry.clone());
        let client = Client::new(&config);
        let admin = AdminClient::new(&config);
        client
            .describe_stream_summary(stream.clone())
            .await
            .map_err(|e| {
                ConsumerError::kinesis_while(format_args!("cannot read stream {stream}"), e)
            })?;
        let worker_id = worker_id.unwrap_or_else(random_worker_id);
        // Every task of this worker logs in its span: application, stream and worker id.
        let span = tracing::info_span!(
            "kinesis_consumer",
            application = %application_name,
            stream = %stream,
            worker_id = %worker_id
        );
        let diagnostics = Diagnostics::new(settings.event_capacity, on_event, telemetry.clone());
        let fan_out = FanOut::prepare(&admin, &stream, &application_name, &settings).await?;

        let repository = repository.unwrap_or_else(|| {
            Arc::new(DynamoDbLeaseRepository::new(
                &config,
                application_name.clone(),
            ))
        });
        let handover = handover.unwrap_or_else(|| Handover::for_table(&application_name));
        // Built in the worker's span, so that the coordinator's span is its child.
        let coordinator = span.in_scope(|| {
            coordinator(
                repository, &worker_id, &settings, handover, strategy, telemetry,
            )
        });
        let (stop, _) = watch::channel(false);
        let started = start_coordinator(&client, &stream, &coordinator, &diagnostics, &stop)
            .instrument(span.clone())
            .await;
        metrics::scheduler_initialized(diagnostics.telemetry(), started.is_ok());
        let started = started?;

        let shard_sync = Arc::new(Notify::new());
        let board = ShardBoard::default();
        let ctx = Arc::new(ShardContext {
            client: client.clone(),
            fetch_client: Client::new(&config.single_attempt()),
            retry_budget: config.retry_budget().clone(),
            stream: stream.clone(),
            deserializer,
            diagnostics: diagnostics.clone(),
            initial_position: settings.initial_position,
            prefetch_batches: settings.fetch_mode.prefetch_batches(),
            release_timeout: settings.lease.release_timeout,
            skip_aggregated_records_outside_shard: settings.skip_aggregated_records_outside_shard,
            shard_sync: Arc::clone(&shard_sync),
            span: span.clone(),
            board: board.clone(),
        });
        let (shards_tx, shards_rx) = mpsc::channel(settings.lease.acquisition_capacity.max(1));
        let dispatch = tokio::spawn(
            dispatch_acquisitions(
                Arc::clone(&ctx),
                started.acquisitions,
                settings.fetch_mode.clone(),
                fan_out.clone(),
                shards_tx,
            )
            .instrument(span.clone()),
        );
        let sync = tokio::spawn(
            sync_shards(
                client,
                stream.clone(),
                coordinator.clone(),
                diagnostics.clone(),
                started.known,
                settings.shard_sync_interval,
                shard_sync,
                stop.subscribe(),
            )
            .instrument(span.clone()),
        );

        let consumer = Consumer {
            inner: Arc::new(Inner {
                stream,
                application_name,
                worker_id,
                admin,
                coordinator,
                diagnostics,
                settings,
                fan_out_consumer: fan_out.map(|f| f.arn),
                shards: Mutex::new(Some(shards_rx)),
                tasks: Mutex::new(vec![dispatch, sync, started.forward]),
                stop,
                shut_down: tokio::sync::Mutex::new(false),
                lifecycle: watch::channel(Lifecycle::Running).0,
                span: span.clone(),
                poison_records,
                board,
                #[cfg(feature = "cloudwatch-metrics")]
                publisher,
            }),
        };
        if let Some(signal) = shutdown_signal {
            let handle = consumer.clone();
            tokio::spawn(async move {
                signal.await;
                handle.shutdown().await;
            });
        }
        Ok(consumer)
    }
}

/// What the fetchers of an enhanced fan-out consumer share: its registered consumer, and the
/// worker-wide cap on subscribe calls (the core's rate limiter with a quota on
/// `SubscribeToShard`).
#[derive(Debug, Clone)]
pub(crate) struct FanOut {
    pub(crate) arn: ConsumerArn,
    pub(crate) limiter: RateLimiter,
}

impl FanOut {
    /// Registers (or finds) the stream consumer when the settings fetch by fan-out.
    async fn prepare(
        admin: &AdminClient,
        stream: &StreamId,
        application_name: &str,
        settings: &ConsumerSettings,
    ) -> Result<Option<FanOut>, ConsumerError> {
        let FetchMode::EnhancedFanOut(fo) = &settings.fetch_mode else {
            return Ok(None);
        };
        let name = fo.consumer_name.as_deref().unwrap_or(application_name);
        let arn = register_consumer(admin, stream, name).await?;
        let limiter = RateLimiter::new(RateLimits::none().with_quota(
            "SubscribeToShard",
            Quota::per_second(fo.max_subscriptions_per_second.max(1), QuotaScope::Account),
        ));
        Ok(Some(FanOut { arn, limiter }))
    }
}

/// The lease coordinator of this worker, not started.
fn coordinator(
    repository: Arc<dyn LeaseRepository>,
    worker_id: &str,
    settings: &ConsumerSettings,
    handover: Handover,
    strategy: Option<Arc<dyn AssignmentStrategy>>,
    telemetry: Telemetry,
) -> LeaseCoordinator {
    let lease_settings = settings
        .lease
        .clone()
        .with_initial_position(settings.initial_position);
    let mut builder = LeaseCoordinator::builder(repository, worker_id.to_owned())
        .settings(lease_settings)
        .handover(handover)
        .telemetry(telemetry);
    if let Some(strategy) = strategy {
        builder = builder.strategy(strategy);
    }
    builder.build()
}

fn random_worker_id() -> String {
    format!("worker-{:016x}", rand::random::<u64>())
}

async fn register_consumer(
    admin: &AdminClient,
    stream: &StreamId,
    name: &str,
) -> Result<ConsumerArn, ConsumerError> {
    let fail = |e| {
        ConsumerError::kinesis_while(
            format_args!("cannot register the fan-out consumer {name} of stream {stream}"),
            e,
        )
    };
    match admin
        .describe_stream_consumer_by_name(stream.clone(), name)
        .await
    {
        Ok(existing) => {
            let active = admin
                .wait_until_consumer_active(&existing.arn)
                .await
                .map_err(fail)?;
            Ok(active.arn)
        }
        Err(e) if e.is_not_found() => {
            match admin.register_stream_consumer(stream.clone(), name).await {
                Ok(registered) => Ok(registered.arn),
                // Registered by another worker meanwhile.
                Err(e) if e.kind() == kinesis_client::ErrorKind::ResourceInUse => {
                    let existing = admin
                        .describe_stream_consumer_by_name(stream.clone(), name)
                        .await
                        .map_err(fail)?;
                    let active = admin
                        .wait_until_consumer_active(&existing.arn)
                        .await
                        .map_err(fail)?;
                    Ok(active.arn)
                }
                Err(e) => Err(fail(e)),
            }
        }
        Err(e) => Err(fail(e)),
    }
}

// === Consumer ===

/// One worker of an application consuming a Kinesis stream.
///
/// Build it with [`Consumer::builder`]; then either take [`shards`](Self::shards), a stream of
/// per-shard record streams to process in parallel, or hand a record handler to
/// [`consume_with`](Self::consume_with). [`shutdown`](Self::shutdown) stops it cleanly:
/// every shard's last staged position is checkpointed and its lease released, so another worker
/// continues at once.
///
/// A cheap-clone handle: clone it to shut down from another task.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use kinesis_client::{ClientConfig, StreamId};
/// use kinesis_consumer::Consumer;
/// use kinesis_serde::Utf8;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ClientConfig::from_env().await?;
/// let consumer: Consumer<String> = Consumer::builder(&config, "orders".parse::<StreamId>()?, "order-audit")
///     .worker_id("audit-1")
///     .deserializer(Utf8)
///     .build()
///     .await?;
/// let mut shards = consumer.shards()?;
/// let stopper = consumer.clone();
/// tokio::spawn(async move {
///     tokio::signal::ctrl_c().await.ok();
///     stopper.shutdown().await;
/// });
/// while let Some(mut shard) = shards.next().await {
///     tokio::spawn(async move {
///         while let Some(Ok(record)) = shard.next().await {
///             println!("{}", record.data());
///             shard.checkpointer().stage(record.position());
///         }
///     });
/// }
/// # Ok(()) }
/// ```
pub struct Consumer<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Consumer<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("stream", &self.inner.stream)
            .field("application_name", &self.inner.application_name)
            .field("worker_id", &self.inner.worker_id)
            .finish_non_exhaustive()
    }
}

struct Inner<T> {
    stream: StreamId,
    application_name: String,
    worker_id: String,
    admin: AdminClient,
    coordinator: LeaseCoordinator,
    diagnostics: Diagnostics,
    settings: ConsumerSettings,
    fan_out_consumer: Option<ConsumerArn>,
    shards: Mutex<Option<mpsc::Receiver<ShardStream<T>>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    stop: watch::Sender<bool>,
    shut_down: tokio::sync::Mutex<bool>,
    /// Where the shutdown is: [`Lifecycle`]. [`Shards`] ends only once it is done.
    lifecycle: watch::Sender<Lifecycle>,
    /// The worker's span (`kinesis_consumer{application, stream, worker_id}`).
    span: tracing::Span,
    /// What `consume_with` does with a record that cannot be deserialized.
    poison_records: PoisonRecords,
    /// The shard tasks' progress, for health snapshots.
    board: ShardBoard,
    /// The CloudWatch publisher this consumer started, flushed at shutdown.
    #[cfg(feature = "cloudwatch-metrics")]
    publisher: Option<kinesis_metrics::CloudWatchPublisher>,
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // Dropped without shutdown: stop the background tasks (leases then expire).
        for task in self
            .tasks
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

impl Consumer<Bytes> {
    /// A builder for a worker of `application_name` (the lease table's name, and the fan-out
    /// consumer's name by default) reading `stream` (a name or an ARN, as a [`StreamId`] or as
    /// text checked by [`build`](ConsumerBuilder::build)), with the clients of `config`.
    ///
    /// ```no_run
    /// # async fn run(config: kinesis_client::ClientConfig) -> Result<(), kinesis_consumer::ConsumerError> {
    /// use kinesis_client::StreamId;
    /// use kinesis_consumer::{Consumer, FetchMode, FanOutSettings};
    /// use kinesis_lease::lineage::InitialPosition;
    ///
    /// let consumer = Consumer::builder(&config, "orders".parse::<StreamId>()?, "order-audit")
    ///     .initial_position(InitialPosition::TrimHorizon)
    ///     .fetch_mode(FetchMode::EnhancedFanOut(FanOutSettings::default()))
    ///     .build()
    ///     .await?;
    /// # let _ = consumer; Ok(()) }
    /// ```
    pub fn builder(
        config: &ClientConfig,
        stream: impl IntoStreamId,
        application_name: impl Into<String>,
    ) -> ConsumerBuilder<Bytes> {
        ConsumerBuilder {
            config: config.clone(),
            stream: stream.into_stream_id(),
            application_name: application_name.into(),
            worker_id: None,
            deserializer: Arc::new(Raw),
            settings: ConsumerSettings::default(),
            strategy: None,
            repository: None,
            handover: None,
            on_event: None,
            shutdown_signal: None,
            build_timeout: DEFAULT_BUILD_TIMEOUT,
            poison_records: PoisonRecords::default(),
            telemetry: Telemetry::none(),
            #[cfg(feature = "cloudwatch-metrics")]
            cloudwatch: None,
        }
    }
}

impl<T: Send + 'static> Consumer<T> {
    /// The stream of this worker's shard streams: one [`ShardStream`] each time a lease is
    /// acquired (the same shard may come again after its lease was released and taken back).
    /// Process them in parallel. Ends once [`shutdown`](Self::shutdown) is done: every shard
    /// stream has ended and its final checkpoint was written.
    ///
    /// # Errors
    ///
    /// [`ConsumerErrorKind::Usage`] when called a second time (or after
    /// [`consume_with`](Self::consume_with)).
    pub fn shards(&self) -> Result<Shards<T>, ConsumerError> {
        let rx = self
            .inner
            .shards
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                ConsumerError::new(
                    ConsumerErrorKind::Usage,
                    "the shard streams were already taken",
                )
            })?;
        Ok(Shards::new(rx, self.inner.lifecycle.subscribe()))
    }

    /// Every diagnostic event from now on. A receiver that falls more than
    /// [`event_capacity`](ConsumerSettings::event_capacity) events behind misses the oldest.
    pub fn events(&self) -> broadcast::Receiver<DiagnosticEvent> {
        self.inner.diagnostics.subscribe()
    }

    /// This worker's id.
    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// The application name (the lease table's name).
    pub fn application_name(&self) -> &str {
        &self.inner.application_name
    }

    /// The stream.
    pub fn stream(&self) -> &StreamId {
        &self.inner.stream
    }

    /// The settings.
    pub fn settings(&self) -> &ConsumerSettings {
        &self.inner.settings
    }

    pub(crate) fn poison_records(&self) -> &PoisonRecords {
        &self.inner.poison_records
    }

    pub(crate) fn diagnostics(&self) -> &Diagnostics {
        &self.inner.diagnostics
    }

    /// The lease coordinator (to read the leases held, or subscribe to its events).
    pub fn lease_coordinator(&self) -> &LeaseCoordinator {
        &self.inner.coordinator
    }

    /// A snapshot of this worker's health, for a health or readiness endpoint: the leases it
    /// holds and when it last renewed them and read the lease table, and per shard read now
    /// how far behind it is, when Kinesis last answered and when the application last took
    /// records. [`ConsumerHealth::is_ready`] and [`ConsumerHealth::problems`] judge it.
    ///
    /// Cheap: it reads in-memory state under short locks and makes no call.
    ///
    /// ```no_run
    /// # async fn run(consumer: kinesis_consumer::Consumer<bytes::Bytes>) {
    /// let health = consumer.health();
    /// println!(
    ///     "ready: {}, leases: {}, max lag: {:?} ms",
    ///     health.is_ready(),
    ///     health.leases.leases.len(),
    ///     health.max_millis_behind_latest()
    /// );
    /// for problem in health.problems() {
    ///     println!("problem: {problem}");
    /// }
    /// # }
    /// ```
    pub fn health(&self) -> ConsumerHealth {
        ConsumerHealth {
            stream: self.inner.stream.clone(),
            application_name: self.inner.application_name.clone(),
            leases: self.inner.coordinator.health(),
            shards: self.inner.board.snapshot(),
        }
    }

    /// The CloudWatch publisher started by
    /// [`ConsumerBuilder::cloudwatch_metrics`], if any: its
    /// [`stats`](kinesis_metrics::CloudWatchPublisher::stats) say what was sent and dropped.
    #[cfg(feature = "cloudwatch-metrics")]
    pub fn cloudwatch_publisher(&self) -> Option<&kinesis_metrics::CloudWatchPublisher> {
        self.inner.publisher.as_ref()
    }

    /// Stops the worker: stops taking leases, ends every shard stream, writes each shard's last
    /// staged checkpoint and releases its lease (in one write), waiting up to the lease
    /// settings' release timeout for the shard streams to end; then deregisters the fan-out
    /// consumer when so configured. Idempotent.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropped part way, some leases stay held and expire. Calling it again
    /// finishes the job.
    pub async fn shutdown(&self) {
        let span = self.inner.span.clone();
        self.shutdown_in_span().instrument(span).await;
    }

    async fn shutdown_in_span(&self) {
        let mut shut_down = self.inner.shut_down.lock().await;
        if *shut_down {
            return;
        }
        self.inner.lifecycle.send_replace(Lifecycle::ShuttingDown);
        // Shard streams never taken end now (dropping them makes their final checkpoints),
        // instead of holding the shutdown for the release timeout.
        drop(
            self.inner
                .shards
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        self.inner.coordinator.shutdown().await;
        self.inner.stop.send_replace(true);
        let tasks: Vec<JoinHandle<()>> = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for task in tasks {
            let _ = task.await;
        }
        if let (Some(arn), FetchMode::EnhancedFanOut(fo)) = (
            &self.inner.fan_out_consumer,
            &self.inner.settings.fetch_mode,
        ) && fo.deregister_on_shutdown
            && let Err(e) = self.inner.admin.deregister_stream_consumer(arn).await
        {
            tracing::warn!(consumer = %arn, error = %e, "deregistering the fan-out consumer failed");
        }
        // Last: the metrics of the shutdown itself are sent too.
        #[cfg(feature = "cloudwatch-metrics")]
        if let Some(publisher) = &self.inner.publisher {
            publisher.shutdown().await;
        }
        *shut_down = true;
        self.inner.lifecycle.send_replace(Lifecycle::ShutDown);
    }
}
