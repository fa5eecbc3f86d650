//! The embedded emulators as a long-lived local server, for development outside tests: fixed
//! or chosen ports, and optionally state kept in a directory across restarts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ferrokinesis::store::{DurableStateOptions, StoreOptions};

use crate::cloudwatch::CloudWatchReceiver;
use crate::embedded::{EmbeddedConfig, EmbeddedServers, Ports};
use crate::env::StartError;

/// The default ports of [`LocalServers`]: Kinesis, DynamoDB, CloudWatch (next to, not on, the
/// ports of LocalStack, 4566, and of kinesalite and dynalite, 4567 and 4568).
pub const DEFAULT_PORTS: [u16; 3] = [4570, 4571, 4572];

/// Configures [`LocalServers`].
#[derive(Clone, Debug)]
pub struct LocalServersBuilder {
    ports: Ports,
    data_dir: Option<PathBuf>,
    region: String,
    shard_limit: u32,
    enforce_limits: bool,
    stream_transition_delay: Duration,
}

impl Default for LocalServersBuilder {
    fn default() -> Self {
        Self {
            ports: Ports {
                kinesis: DEFAULT_PORTS[0],
                dynamodb: DEFAULT_PORTS[1],
                cloudwatch: DEFAULT_PORTS[2],
            },
            data_dir: None,
            region: "us-east-1".to_owned(),
            shard_limit: 500,
            enforce_limits: false,
            stream_transition_delay: Duration::from_millis(500),
        }
    }
}

impl LocalServersBuilder {
    /// The ports on 127.0.0.1 of Kinesis, DynamoDB and CloudWatch (default
    /// [`DEFAULT_PORTS`]); 0 picks a free port.
    #[must_use]
    pub fn ports(mut self, kinesis: u16, dynamodb: u16, cloudwatch: u16) -> Self {
        self.ports = Ports {
            kinesis,
            dynamodb,
            cloudwatch,
        };
        self
    }

    /// Keeps streams, records and DynamoDB tables in this directory across restarts (created if
    /// missing): `kinesis/` holds the Kinesis write-ahead log and snapshots, `dynamodb.sqlite`
    /// the tables. CloudWatch metrics are kept in memory only.
    #[must_use]
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The region in ARNs (default `us-east-1`).
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The most open shards across all streams (default 500).
    #[must_use]
    pub fn shard_limit(mut self, limit: u32) -> Self {
        self.shard_limit = limit;
        self
    }

    /// Throttles writes per shard as Kinesis does (1 MiB/s, 1000 records/s); off by default.
    #[must_use]
    pub fn enforce_limits(mut self, enforce: bool) -> Self {
        self.enforce_limits = enforce;
        self
    }

    /// How long a stream stays `CREATING`, `UPDATING` or `DELETING` (default 500 ms).
    #[must_use]
    pub fn stream_transition_delay(mut self, delay: Duration) -> Self {
        self.stream_transition_delay = delay;
        self
    }

    /// Starts the servers.
    ///
    /// # Errors
    ///
    /// A port in use ("cannot listen on 127.0.0.1:4567: Address in use"), or a data directory
    /// that cannot be created or opened.
    pub async fn start(self) -> Result<LocalServers, StartError> {
        let millis = u64::try_from(self.stream_transition_delay.as_millis()).unwrap_or(u64::MAX);
        let mut options = StoreOptions {
            create_stream_ms: millis,
            delete_stream_ms: millis,
            update_stream_ms: millis,
            shard_limit: self.shard_limit,
            enforce_limits: self.enforce_limits,
            aws_region: self.region.clone(),
            ..StoreOptions::default()
        };
        let mut dynamodb_file = None;
        if let Some(dir) = &self.data_dir {
            let kinesis_dir = dir.join("kinesis");
            std::fs::create_dir_all(&kinesis_dir).map_err(|e| {
                StartError::from(format!("cannot create {}: {e}", kinesis_dir.display()))
            })?;
            options.durable = Some(DurableStateOptions {
                state_dir: kinesis_dir,
                snapshot_interval_secs: 30,
                max_retained_bytes: None,
            });
            dynamodb_file = Some(dir.join("dynamodb.sqlite"));
        }
        let (servers, started) = EmbeddedServers::start(EmbeddedConfig {
            kinesis: Some(options),
            dynamodb: true,
            cloudwatch: true,
            worker_threads: 2,
            ports: self.ports,
            dynamodb_file,
        })
        .await?;
        let missing = |what: &str| StartError::from(format!("the embedded {what} did not start"));
        let (kinesis, _faults) = started.kinesis.ok_or_else(|| missing("Kinesis"))?;
        let dynamodb = started.dynamodb.ok_or_else(|| missing("DynamoDB"))?;
        let (cloudwatch, receiver) = started.cloudwatch.ok_or_else(|| missing("CloudWatch"))?;
        Ok(LocalServers {
            servers,
            kinesis,
            dynamodb,
            cloudwatch,
            receiver,
            region: self.region,
            data_dir: self.data_dir,
        })
    }
}

/// Kinesis (ferrokinesis), DynamoDB (dynoxide) and a CloudWatch receiver on 127.0.0.1, running
/// until [`shutdown`](Self::shutdown) or drop.
///
/// ```no_run
/// # async fn run() -> Result<(), kinesis_testkit::StartError> {
/// let servers = kinesis_testkit::LocalServers::builder().ports(0, 0, 0).start().await?;
/// for (name, value) in servers.environment() {
///     println!("export {name}={value}");
/// }
/// servers.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LocalServers {
    servers: EmbeddedServers,
    kinesis: SocketAddr,
    dynamodb: SocketAddr,
    cloudwatch: SocketAddr,
    receiver: CloudWatchReceiver,
    region: String,
    data_dir: Option<PathBuf>,
}

impl LocalServers {
    /// A builder with the default ports ([`DEFAULT_PORTS`]) and state in memory.
    pub fn builder() -> LocalServersBuilder {
        LocalServersBuilder::default()
    }

    /// `http://127.0.0.1:<port>` of Kinesis.
    pub fn kinesis_endpoint(&self) -> String {
        format!("http://{}", self.kinesis)
    }

    /// `http://127.0.0.1:<port>` of DynamoDB.
    pub fn dynamodb_endpoint(&self) -> String {
        format!("http://{}", self.dynamodb)
    }

    /// `http://127.0.0.1:<port>` of CloudWatch.
    pub fn cloudwatch_endpoint(&self) -> String {
        format!("http://{}", self.cloudwatch)
    }

    /// The metrics published to the CloudWatch receiver.
    pub fn cloudwatch(&self) -> &CloudWatchReceiver {
        &self.receiver
    }

    /// The directory that keeps the state, if any.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }

    /// The variables that point the AWS SDKs (and this workspace's tests and tools) at these
    /// servers: the per-service endpoints, the region, and placeholder credentials (the
    /// servers do not check them).
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_KINESIS", self.kinesis_endpoint()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb_endpoint()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", self.cloudwatch_endpoint()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", "local".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ]
    }

    /// Stops the servers (open connections are reset) and, with a data directory, leaves the
    /// state written so far in it.
    pub async fn shutdown(self) {
        self.servers.shutdown().await;
    }
}
