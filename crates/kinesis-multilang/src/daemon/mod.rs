//! The daemon: this workspace's consumer, one record processor process per shard it holds.

mod child;
mod session;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use kinesis_client::ClientConfig;
use kinesis_consumer::{Consumer, ConsumerSettings, FanOutSettings, FetchMode, PollingSettings};
use kinesis_lease::{CoordinatorSettings, DynamoDbLeaseRepository};
use tokio::task::JoinSet;

use crate::error::DaemonError;
use crate::properties::DaemonConfig;
use session::SessionSettings;

/// Records per `processRecords` message when `maxRecords` is not set (the KCL's default).
const DEFAULT_MAX_RECORDS: u32 = 10_000;

/// How long the processors get to exit after the consumer shut down.
const PROCESSORS_EXIT: std::time::Duration = std::time::Duration::from_secs(30);

type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A worker of a KCL application whose record processors are child processes speaking the
/// MultiLangDaemon protocol: what the Java KCL's `MultiLangDaemon` does, on this workspace's
/// consumer.
///
/// ```no_run
/// use kinesis_client::ClientConfig;
/// use kinesis_multilang::Daemon;
/// use kinesis_multilang::properties::{DaemonConfig, parse_properties};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let text = std::fs::read_to_string("app.properties")?;
/// let config = DaemonConfig::from_properties(&parse_properties(&text))?;
/// for ignored in &config.ignored {
///     eprintln!("ignored: {ignored}");
/// }
/// let client = ClientConfig::from_env().await?;
/// Daemon::new(&client, config).shutdown_on_signals().run().await?;
/// # Ok(()) }
/// ```
pub struct Daemon {
    client: ClientConfig,
    config: DaemonConfig,
    shutdown: Option<Signal>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Daemon {
    /// A daemon for `config`, reaching AWS (or local servers) through `client`.
    pub fn new(client: &ClientConfig, config: DaemonConfig) -> Self {
        Self {
            client: client.clone(),
            config,
            shutdown: None,
        }
    }

    /// Shuts down gracefully when `signal` completes: every processor gets `shutdownRequested`
    /// and may checkpoint, then the leases are released.
    #[must_use]
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Shuts down gracefully on SIGTERM or Ctrl-C.
    #[must_use]
    pub fn shutdown_on_signals(self) -> Self {
        self.shutdown_on(kinesis_client::shutdown_signal())
    }

    /// Runs until the shutdown signal, and until every processor has been told and has exited.
    ///
    /// # Errors
    ///
    /// The consumer could not start (the stream or the lease table is unreachable, the region
    /// is unknown).
    pub async fn run(self) -> Result<(), DaemonError> {
        let config = self.config;
        // A processor that cannot start would fail on every shard, over and over: refuse it now.
        find_program(&config.command)?;
        let mut polling = PollingSettings::default()
            .with_batch_size(config.max_records.unwrap_or(DEFAULT_MAX_RECORDS));
        if let Some(idle) = config.idle_time_between_reads {
            polling = polling.with_poll_interval(idle);
        }
        let fetch = match &config.fan_out_consumer {
            Some(name) => FetchMode::EnhancedFanOut(
                FanOutSettings::default().with_consumer_name(name.clone()),
            ),
            None => FetchMode::Polling(polling),
        };
        let mut lease = CoordinatorSettings::default();
        if let Some(failover) = config.failover_time {
            lease = lease.with_failover_time(failover);
        }
        let mut settings = ConsumerSettings::default()
            .with_fetch_mode(fetch)
            .with_lease_settings(lease);
        if let Some(interval) = config.shard_sync_interval {
            settings = settings.with_shard_sync_interval(interval);
        }
        let client = match &config.region {
            Some(region) => ClientConfig::builder()
                .sdk_config(self.client.sdk_config().clone())
                .region(region.clone())
                .build()
                .await
                .map_err(|e| DaemonError::new(format!("configuring region {region}"), e))?,
            None => self.client.clone(),
        };
        let mut builder = Consumer::builder(
            &client,
            config.stream.clone(),
            config.application_name.clone(),
        )
        .settings(settings)
        .initial_position(config.initial_position);
        if let Some(worker) = &config.worker_id {
            builder = builder.worker_id(worker.clone());
        }
        if let Some(table) = &config.table_name {
            builder = builder.lease_repository(Arc::new(DynamoDbLeaseRepository::new(
                &client,
                table.clone(),
            )));
        }
        if let Some(signal) = self.shutdown {
            builder = builder.shutdown_on(signal);
        }
        let consumer = builder.build().await.map_err(|e| {
            DaemonError::new(format!("starting the consumer of {}", config.stream), e)
        })?;
        let sessions = SessionSettings {
            command: config.command.clone(),
            max_records: config.max_records.unwrap_or(DEFAULT_MAX_RECORDS) as usize,
            response_timeout: config.response_timeout,
        };
        tracing::info!(
            stream = %config.stream,
            application = %config.application_name,
            worker = %consumer.worker_id(),
            command = %config.command.join(" "),
            "multilang daemon started"
        );
        let mut shards = consumer
            .shards()
            .map_err(|e| DaemonError::new("taking the shard streams", e))?;
        let mut tasks = JoinSet::new();
        while let Some(stream) = shards.next().await {
            tasks.spawn(session::run(stream, sessions.clone()));
            // Reap finished sessions as we go.
            while let Some(done) = tasks.try_join_next() {
                if let Err(e) = done
                    && e.is_panic()
                {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        // The consumer has shut down and every final checkpoint is written; the processors get
        // a bounded time to exit, then they are killed (a hung one would hold the daemon up).
        let drain = async {
            while let Some(done) = tasks.join_next().await {
                if let Err(e) = done
                    && e.is_panic()
                {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        };
        if tokio::time::timeout(PROCESSORS_EXIT, drain).await.is_err() {
            tracing::warn!(
                "{} record processors still running {PROCESSORS_EXIT:?} after the shutdown; killing them",
                tasks.len()
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        tracing::info!("multilang daemon stopped");
        Ok(())
    }
}

/// Checks that the processor's program exists: a path that names a file, or a name found in
/// `PATH`.
fn find_program(command: &[String]) -> Result<(), DaemonError> {
    let Some(program) = command.first() else {
        return Err(DaemonError::configuration("executableName is empty"));
    };
    let path = std::path::Path::new(program);
    let found = if program.contains('/') {
        executable(path)
    } else {
        std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| executable(&dir.join(program)))
        })
    };
    if found {
        Ok(())
    } else {
        Err(DaemonError::configuration(format!(
            "executableName: the program {program:?} does not exist{} or is not executable",
            if program.contains('/') {
                ""
            } else {
                " in PATH"
            }
        )))
    }
}

/// Whether `path` is a file this process may execute.
fn executable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}
