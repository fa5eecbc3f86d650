//! [`TestEnv`] and its builder.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use ferrokinesis::store::StoreOptions;

use crate::backend::{self, Backend, Placement, Service};
use crate::capability::{self, Capability};
use crate::cloudwatch::CloudWatchReceiver;
use crate::embedded::{EmbeddedConfig, EmbeddedServers};
use crate::faults::Faults;
use crate::names;
use crate::sdk::{self, Endpoints};

/// Why a [`TestEnv`] could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError {
    message: String,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kinesis-testkit: {}", self.message)
    }
}

impl std::error::Error for StartError {}

impl From<String> for StartError {
    fn from(message: String) -> Self {
        Self { message }
    }
}

/// Options for a [`TestEnv`]; get one from [`TestEnv::builder`].
///
/// The Kinesis options configure the embedded ferrokinesis store and have no effect on an
/// external Kinesis (see [`Capability::ConfigurableIteratorTtl`] and friends).
#[derive(Debug, Clone)]
pub struct TestEnvBuilder {
    embedded_only: bool,
    enforce_limits: bool,
    iterator_ttl: Duration,
    subscribe_to_shard_session: Duration,
    subscribe_to_shard_event_record_limit: usize,
    shard_limit: u32,
    create_stream_delay: Duration,
    delete_stream_delay: Duration,
    update_stream_delay: Duration,
    worker_threads: usize,
}

impl Default for TestEnvBuilder {
    fn default() -> Self {
        Self {
            embedded_only: false,
            enforce_limits: false,
            iterator_ttl: Duration::from_secs(300),
            subscribe_to_shard_session: Duration::from_secs(300),
            subscribe_to_shard_event_record_limit: 10_000,
            shard_limit: 200,
            create_stream_delay: Duration::from_millis(50),
            delete_stream_delay: Duration::from_millis(50),
            update_stream_delay: Duration::from_millis(50),
            worker_threads: 0,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl TestEnvBuilder {
    /// Ignore the endpoint variables and always start the embedded servers. For tests that
    /// exercise the embedded tier itself, e.g. with [`Faults`].
    pub fn embedded_only(mut self) -> Self {
        self.embedded_only = true;
        self
    }

    /// Throttle PutRecord(s) as AWS does: 1000 records/s and 1 MiB/s per shard, in one-second
    /// windows. Off by default. ferrokinesis has no read throttling; inject it with [`Faults`].
    pub fn enforce_limits(mut self, enforce: bool) -> Self {
        self.enforce_limits = enforce;
        self
    }

    /// How long a shard iterator stays valid (default 300 s, as on AWS). Rounded up to whole
    /// seconds, at least 1.
    pub fn iterator_ttl(mut self, ttl: Duration) -> Self {
        self.iterator_ttl = ttl;
        self
    }

    /// How long one SubscribeToShard session lasts before the stream ends cleanly (default
    /// 5 minutes, as on AWS). A few seconds makes EFO tests exercise resubscription.
    pub fn subscribe_to_shard_session(mut self, session: Duration) -> Self {
        self.subscribe_to_shard_session = session;
        self
    }

    /// The most records in one SubscribeToShard event (default 10 000).
    pub fn subscribe_to_shard_event_record_limit(mut self, limit: usize) -> Self {
        self.subscribe_to_shard_event_record_limit = limit;
        self
    }

    /// The most open shards across all streams (default 200; ferrokinesis' own default of 10
    /// is too low for resharding tests). Going over gives `LimitExceededException`.
    pub fn shard_limit(mut self, limit: u32) -> Self {
        self.shard_limit = limit;
        self
    }

    /// How long CreateStream, DeleteStream and the stream updates (resharding, retention, ...)
    /// take to finish (default 50 ms each). Registering a consumer always takes 500 ms.
    pub fn stream_transition_delay(mut self, delay: Duration) -> Self {
        self.create_stream_delay = delay;
        self.delete_stream_delay = delay;
        self.update_stream_delay = delay;
        self
    }

    /// How long CreateStream takes to reach ACTIVE (default 50 ms).
    pub fn create_stream_delay(mut self, delay: Duration) -> Self {
        self.create_stream_delay = delay;
        self
    }

    /// How long DeleteStream takes (default 50 ms).
    pub fn delete_stream_delay(mut self, delay: Duration) -> Self {
        self.delete_stream_delay = delay;
        self
    }

    /// How long stream updates such as SplitShard, MergeShards and UpdateShardCount take
    /// (default 50 ms).
    pub fn update_stream_delay(mut self, delay: Duration) -> Self {
        self.update_stream_delay = delay;
        self
    }

    /// Worker threads of the embedded servers' runtime. `0` (the default) runs them on one
    /// current-thread runtime in a background thread, which is plenty for functional tests;
    /// more helps throughput measurements.
    pub fn emulator_worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads;
        self
    }

    fn store_options(&self, region: &str, account_id: &str) -> StoreOptions {
        StoreOptions {
            create_stream_ms: millis(self.create_stream_delay),
            delete_stream_ms: millis(self.delete_stream_delay),
            update_stream_ms: millis(self.update_stream_delay),
            shard_limit: self.shard_limit,
            iterator_ttl_seconds: self.iterator_ttl.as_secs_f64().ceil().max(1.0) as u64,
            subscribe_to_shard_event_record_limit: self.subscribe_to_shard_event_record_limit,
            subscribe_to_shard_session_ms: millis(self.subscribe_to_shard_session).max(1),
            enforce_limits: self.enforce_limits,
            aws_account_id: account_id.to_owned(),
            aws_region: region.to_owned(),
            ..StoreOptions::default()
        }
    }

    /// Starts the environment.
    ///
    /// # Panics
    ///
    /// If it cannot start (a misconfigured variable, no free port); use
    /// [`try_start`](Self::try_start) to handle that.
    pub async fn start(self) -> TestEnv {
        match self.try_start().await {
            Ok(env) => env,
            Err(err) => panic!("{err}"),
        }
    }

    /// Starts the environment, or says why it cannot.
    pub async fn try_start(self) -> Result<TestEnv, StartError> {
        self.start_with(&|key| std::env::var(key).ok()).await
    }

    async fn start_with(
        self,
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<TestEnv, StartError> {
        let region = backend::region(lookup);
        let access_key_id = names::account_access_key_id();
        let mut placements = Vec::with_capacity(3);
        for service in Service::ALL {
            placements.push(if self.embedded_only {
                Placement::Embedded
            } else {
                backend::placement(service, lookup)?
            });
        }
        let embedded = |service: Service| placements[index(service)] == Placement::Embedded;

        let config = EmbeddedConfig {
            kinesis: embedded(Service::Kinesis)
                .then(|| self.store_options(&region, &access_key_id)),
            dynamodb: embedded(Service::DynamoDb),
            cloudwatch: embedded(Service::CloudWatch),
            worker_threads: self.worker_threads,
            ports: crate::embedded::Ports::default(),
            dynamodb_file: None,
        };
        let any_embedded = Service::ALL.into_iter().any(embedded);
        let (servers, started) = if any_embedded {
            let (servers, started) = EmbeddedServers::start(config).await?;
            (Some(servers), Some(started))
        } else {
            (None, None)
        };
        let started = started.as_ref();
        let url = |addr: std::net::SocketAddr| format!("http://{addr}");

        let mut services = Vec::with_capacity(3);
        let mut on_aws = false;
        for service in Service::ALL {
            let info = match &placements[index(service)] {
                Placement::Embedded => {
                    let addr = match service {
                        Service::Kinesis => started.and_then(|s| s.kinesis.as_ref()).map(|k| k.0),
                        Service::DynamoDb => started.and_then(|s| s.dynamodb),
                        Service::CloudWatch => {
                            started.and_then(|s| s.cloudwatch.as_ref()).map(|c| c.0)
                        }
                    };
                    let addr =
                        addr.ok_or_else(|| format!("the embedded {service} did not start"))?;
                    ServiceInfo {
                        backend: Backend::Embedded {
                            name: service.embedded_name(),
                        },
                        endpoint: url(addr),
                        routed: Some(url(addr)),
                    }
                }
                Placement::External {
                    endpoint: Some(endpoint),
                    name,
                } => ServiceInfo {
                    backend: Backend::External { name: name.clone() },
                    endpoint: endpoint.clone(),
                    routed: Some(endpoint.clone()),
                },
                Placement::External {
                    endpoint: None,
                    name,
                } => {
                    on_aws = true;
                    ServiceInfo {
                        backend: Backend::External { name: name.clone() },
                        endpoint: format!(
                            "https://{}.{region}.amazonaws.com",
                            service.aws_host_prefix()
                        ),
                        routed: None,
                    }
                }
            };
            services.push(info);
        }
        let [kinesis, dynamodb, cloudwatch]: [ServiceInfo; 3] = services
            .try_into()
            .map_err(|_| "internal error: expected three services".to_owned())?;

        // An external Kinesis emulator's TLS port (HTTP/2, as AWS serves SubscribeToShard),
        // with the private CA that signed its certificate.
        let kinesis_tls = match &placements[index(Service::Kinesis)] {
            Placement::External {
                endpoint: Some(_), ..
            } => {
                let get = |key: &str| {
                    lookup(key)
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                };
                get(KINESIS_TLS_ENDPOINT_VARIABLE).zip(get(CA_PEM_VARIABLE).map(PathBuf::from))
            }
            _ => None,
        };

        let endpoints = Endpoints {
            kinesis: kinesis.routed.clone(),
            dynamodb: dynamodb.routed.clone(),
            cloudwatch: cloudwatch.routed.clone(),
        };
        let sdk_config = if on_aws {
            sdk::aws_config(&region, endpoints).await
        } else {
            sdk::static_config(&region, &access_key_id, endpoints)
        };

        Ok(TestEnv {
            kinesis_sdk: aws_sdk_kinesis::Client::new(&sdk_config),
            dynamodb_sdk: aws_sdk_dynamodb::Client::new(&sdk_config),
            cloudwatch_sdk: aws_sdk_cloudwatch::Client::new(&sdk_config),
            sdk_config,
            region,
            access_key_id,
            kinesis_tls,
            kinesis,
            dynamodb,
            cloudwatch,
            enforce_limits: self.enforce_limits,
            faults: started
                .and_then(|s| s.kinesis.as_ref())
                .map(|k| k.1.clone()),
            cloudwatch_receiver: started
                .and_then(|s| s.cloudwatch.as_ref())
                .map(|c| c.1.clone()),
            servers,
        })
    }
}

/// The HTTPS endpoint of an external Kinesis; see [`TestEnv::kinesis_tls_endpoint`].
const KINESIS_TLS_ENDPOINT_VARIABLE: &str = "KINESIS_TESTKIT_KINESIS_TLS_ENDPOINT";
/// The CA that signed the certificate of [`KINESIS_TLS_ENDPOINT_VARIABLE`]'s server.
const CA_PEM_VARIABLE: &str = "KINESIS_TESTKIT_CA_PEM";

fn index(service: Service) -> usize {
    match service {
        Service::Kinesis => 0,
        Service::DynamoDb => 1,
        Service::CloudWatch => 2,
    }
}

#[derive(Debug)]
struct ServiceInfo {
    backend: Backend,
    /// The URL reported by the endpoint accessors.
    endpoint: String,
    /// The URL clients are pointed at; `None` lets the SDK resolve the real AWS endpoint.
    routed: Option<String>,
}

/// Kinesis, DynamoDB and CloudWatch endpoints for one test, with ready SDK clients.
///
/// Each service is either embedded in this process (ferrokinesis, dynoxide and a CloudWatch
/// receiver, on 127.0.0.1 with a port of their own) or an external server chosen by the
/// standard endpoint variables; see the [crate documentation](crate) for the rules.
///
/// Dropping a `TestEnv` stops its embedded servers, ending open connections and
/// SubscribeToShard streams, within about a second at most (normally well under 10 ms).
/// [`shutdown`](Self::shutdown) does the same without blocking the async runtime.
pub struct TestEnv {
    region: String,
    access_key_id: String,
    kinesis_tls: Option<(String, PathBuf)>,
    kinesis: ServiceInfo,
    dynamodb: ServiceInfo,
    cloudwatch: ServiceInfo,
    enforce_limits: bool,
    sdk_config: SdkConfig,
    kinesis_sdk: aws_sdk_kinesis::Client,
    dynamodb_sdk: aws_sdk_dynamodb::Client,
    cloudwatch_sdk: aws_sdk_cloudwatch::Client,
    faults: Option<Faults>,
    cloudwatch_receiver: Option<CloudWatchReceiver>,
    servers: Option<EmbeddedServers>,
}

impl fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestEnv")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("kinesis", &self.kinesis)
            .field("dynamodb", &self.dynamodb)
            .field("cloudwatch", &self.cloudwatch)
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl TestEnv {
    /// Starts an environment with the default options (see [`TestEnvBuilder`]).
    ///
    /// # Panics
    ///
    /// If it cannot start; see [`TestEnvBuilder::try_start`].
    pub async fn start() -> TestEnv {
        Self::builder().start().await
    }

    /// Options for a new environment.
    pub fn builder() -> TestEnvBuilder {
        TestEnvBuilder::default()
    }

    fn info(&self, service: Service) -> &ServiceInfo {
        match service {
            Service::Kinesis => &self.kinesis,
            Service::DynamoDb => &self.dynamodb,
            Service::CloudWatch => &self.cloudwatch,
        }
    }

    /// The Kinesis endpoint URL, e.g. `http://127.0.0.1:40123`.
    pub fn kinesis_endpoint(&self) -> &str {
        &self.kinesis.endpoint
    }

    /// The HTTPS endpoint of an external Kinesis emulator, and the PEM file of the CA that
    /// signed its certificate (trust it with `ClientConfigBuilder::trust_ca_pem` of
    /// kinesis-client): from `KINESIS_TESTKIT_KINESIS_TLS_ENDPOINT` and
    /// `KINESIS_TESTKIT_CA_PEM`, which `cargo xtask emulators up` exports for kinesis-local's
    /// TLS port (HTTP/2, the only way AWS serves SubscribeToShard). `None` unless Kinesis is
    /// an external server and both variables are set: the embedded ferrokinesis speaks plain
    /// HTTP only.
    ///
    /// ```no_run
    /// # async fn example() {
    /// let env = kinesis_testkit::TestEnv::start().await;
    /// let Some((url, ca_pem)) = env.kinesis_tls_endpoint() else {
    ///     eprintln!("skipped: no Kinesis TLS endpoint");
    ///     return;
    /// };
    /// let ca = std::fs::read(ca_pem).unwrap();
    /// # let _ = (url, ca);
    /// # }
    /// ```
    pub fn kinesis_tls_endpoint(&self) -> Option<(&str, &Path)> {
        self.kinesis_tls
            .as_ref()
            .map(|(url, ca)| (url.as_str(), ca.as_path()))
    }

    /// The DynamoDB endpoint URL.
    pub fn dynamodb_endpoint(&self) -> &str {
        &self.dynamodb.endpoint
    }

    /// The CloudWatch endpoint URL.
    pub fn cloudwatch_endpoint(&self) -> &str {
        &self.cloudwatch.endpoint
    }

    /// The endpoint URL of `service`.
    pub fn endpoint(&self, service: Service) -> &str {
        &self.info(service).endpoint
    }

    /// The region: `AWS_REGION` when set, else `us-east-1`.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The access key id the SDK config signs with: 12 digits, different for every
    /// `TestEnv`. On kinesis-local it selects an account of its own, and the embedded
    /// ferrokinesis uses it as its account id, so stream ARNs contain it. (On real AWS the
    /// default credential chain is used instead and this is not sent.)
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// An `SdkConfig` for this environment: region, static test credentials (no environment,
    /// profile or instance-metadata lookups), SDK retries disabled, and the endpoint of each
    /// service routed per service, so that `aws_sdk_kinesis::Client::new(&config)`,
    /// `aws_sdk_dynamodb::Client::new(&config)` and `aws_sdk_cloudwatch::Client::new(&config)`
    /// each reach their own server. Pass it wherever your code takes an `SdkConfig`.
    pub fn sdk_config(&self) -> SdkConfig {
        self.sdk_config.clone()
    }

    /// A Kinesis client for this environment.
    pub fn kinesis_sdk(&self) -> &aws_sdk_kinesis::Client {
        &self.kinesis_sdk
    }

    /// A DynamoDB client for this environment.
    pub fn dynamodb_sdk(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamodb_sdk
    }

    /// A CloudWatch client for this environment.
    pub fn cloudwatch_sdk(&self) -> &aws_sdk_cloudwatch::Client {
        &self.cloudwatch_sdk
    }

    /// Which server answers `service`.
    pub fn backend(&self, service: Service) -> &Backend {
        &self.info(service).backend
    }

    /// Whether this environment's backend has `capability` (see [`Capability`] and the table
    /// in the [crate documentation](crate#capabilities)).
    pub fn supports(&self, capability: Capability) -> bool {
        capability::supports(
            capability,
            self.backend(capability.service()),
            self.enforce_limits,
        )
    }

    /// Like [`supports`](Self::supports), but when the capability is missing it also prints
    /// `skipped: <test> needs <capability>, which <backend> lacks` to stderr. Use it to end a
    /// test early, or use [`require_capability!`](crate::require_capability):
    ///
    /// ```no_run
    /// # use kinesis_testkit::{Capability, TestEnv};
    /// # async fn example() {
    /// let env = TestEnv::start().await;
    /// if !env.require(Capability::ListShardsFilter) {
    ///     return;
    /// }
    /// # }
    /// ```
    pub fn require(&self, capability: Capability) -> bool {
        if self.supports(capability) {
            return true;
        }
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("this test");
        let backend = self.backend(capability.service());
        let hint = match capability {
            Capability::WriteThrottling if backend.is_embedded() => {
                " (enable it with TestEnvBuilder::enforce_limits)"
            }
            _ => "",
        };
        // Written to the process's stderr directly, past the test harness's output capture, so
        // that a skip shows in the test run's log even when the test passes.
        let line = format!("skipped: {test} needs {capability}, which {backend} lacks{hint}\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        false
    }

    /// The fault-injection handle of the embedded Kinesis server.
    ///
    /// # Panics
    ///
    /// If Kinesis is external ([`Capability::FaultInjection`] is then unsupported); use
    /// [`try_faults`](Self::try_faults), [`require`](Self::require) or
    /// [`TestEnvBuilder::embedded_only`] to avoid that.
    pub fn faults(&self) -> &Faults {
        self.try_faults().unwrap_or_else(|| {
            panic!(
                "kinesis-testkit: fault injection needs the embedded Kinesis, but Kinesis is {}",
                self.kinesis.backend
            )
        })
    }

    /// The fault-injection handle, if Kinesis is embedded.
    pub fn try_faults(&self) -> Option<&Faults> {
        self.faults.as_ref()
    }

    /// The PutMetricData calls received by the embedded CloudWatch endpoint.
    ///
    /// # Panics
    ///
    /// If CloudWatch is external ([`Capability::MetricCapture`] is then unsupported); use
    /// [`try_cloudwatch`](Self::try_cloudwatch) to avoid that.
    pub fn cloudwatch(&self) -> &CloudWatchReceiver {
        self.try_cloudwatch().unwrap_or_else(|| {
            panic!(
                "kinesis-testkit: metric capture needs the embedded CloudWatch, but CloudWatch is {}",
                self.cloudwatch.backend
            )
        })
    }

    /// The embedded CloudWatch receiver, if CloudWatch is embedded.
    pub fn try_cloudwatch(&self) -> Option<&CloudWatchReceiver> {
        self.cloudwatch_receiver.as_ref()
    }

    /// A fresh name for a stream, table, consumer or application; see [`unique_name`](crate::unique_name).
    pub fn unique_name(&self, prefix: &str) -> String {
        names::unique_name(prefix)
    }

    /// Creates a provisioned stream with `shard_count` shards and waits until it is ACTIVE
    /// (at most 30 s of real time).
    pub async fn create_stream(
        &self,
        stream_name: &str,
        shard_count: i32,
    ) -> Result<(), aws_sdk_kinesis::Error> {
        self.kinesis_sdk
            .create_stream()
            .stream_name(stream_name)
            .shard_count(shard_count)
            .send()
            .await?;
        self.wait_for_stream_active(stream_name).await
    }

    /// Waits until the stream is ACTIVE, polling DescribeStreamSummary every 20 ms for at most
    /// 30 s of real time (a paused test clock does not shorten this). A stream that is still not
    /// ACTIVE after that gives `ResourceInUseException`.
    pub async fn wait_for_stream_active(
        &self,
        stream_name: &str,
    ) -> Result<(), aws_sdk_kinesis::Error> {
        use aws_sdk_kinesis::types::StreamStatus;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let summary = self
                .kinesis_sdk
                .describe_stream_summary()
                .stream_name(stream_name)
                .send()
                .await?;
            let status = summary
                .stream_description_summary()
                .map(|s| s.stream_status().clone());
            if status == Some(StreamStatus::Active) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(aws_sdk_kinesis::Error::ResourceInUseException(
                    aws_sdk_kinesis::types::error::ResourceInUseException::builder()
                        .message(format!(
                            "kinesis-testkit: stream {stream_name} is still {status:?} after 30 s"
                        ))
                        .build(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the embedded servers and waits for them, without blocking the async runtime.
    /// Dropping the `TestEnv` does the same, blocking for at most about a second.
    pub async fn shutdown(mut self) {
        if let Some(servers) = self.servers.take() {
            servers.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_options_follow_the_builder() {
        let options = TestEnv::builder()
            .enforce_limits(true)
            .iterator_ttl(Duration::from_millis(1500))
            .subscribe_to_shard_session(Duration::from_secs(3))
            .shard_limit(50)
            .stream_transition_delay(Duration::ZERO)
            .update_stream_delay(Duration::from_millis(7))
            .store_options("eu-west-1", "123456789012");
        assert!(options.enforce_limits);
        assert_eq!(options.iterator_ttl_seconds, 2);
        assert_eq!(options.subscribe_to_shard_session_ms, 3000);
        assert_eq!(options.shard_limit, 50);
        assert_eq!(options.create_stream_ms, 0);
        assert_eq!(options.delete_stream_ms, 0);
        assert_eq!(options.update_stream_ms, 7);
        assert_eq!(options.aws_region, "eu-west-1");
        assert_eq!(options.aws_account_id, "123456789012");
        assert_eq!(options.retention_check_interval_secs, 0);
    }

    #[test]
    fn handles_can_be_shared_across_tasks() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        send(&TestEnv::start());
        send(&TestEnv::builder().try_start());
        send(&TestEnv::builder().start());
        let _ = send_sync::<TestEnv>;
        let _ = send_sync::<Faults>;
        let _ = send_sync::<CloudWatchReceiver>;
    }

    #[test]
    fn defaults_suit_tests() {
        let options = TestEnv::builder().store_options("us-east-1", "111122223333");
        assert!(!options.enforce_limits);
        assert_eq!(options.shard_limit, 200);
        assert_eq!(options.create_stream_ms, 50);
        assert_eq!(options.iterator_ttl_seconds, 300);
        assert_eq!(options.subscribe_to_shard_session_ms, 300_000);
    }

    #[tokio::test]
    async fn a_misconfigured_backend_is_a_start_error() {
        let lookup = |key: &str| {
            (key == "KINESIS_TESTKIT_KINESIS_BACKEND").then(|| "kinesis-local".to_owned())
        };
        let err = TestEnv::builder().start_with(&lookup).await.unwrap_err();
        assert!(
            err.to_string().contains("AWS_ENDPOINT_URL_KINESIS"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn external_endpoints_are_used_as_given() {
        // Nothing listens there; only the wiring is checked, no request is sent.
        let lookup = |key: &str| match key {
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:9".to_owned()),
            "KINESIS_TESTKIT_KINESIS_BACKEND" => Some("kinesis-local".to_owned()),
            "AWS_REGION" => Some("eu-central-1".to_owned()),
            _ => None,
        };
        let env = TestEnv::builder().start_with(&lookup).await.unwrap();
        assert!(env.servers.is_none());
        assert_eq!(env.kinesis_endpoint(), "http://127.0.0.1:9");
        assert_eq!(env.dynamodb_endpoint(), "http://127.0.0.1:9");
        assert_eq!(env.region(), "eu-central-1");
        assert_eq!(env.backend(Service::Kinesis).name(), "kinesis-local");
        assert_eq!(env.backend(Service::DynamoDb).name(), "unknown");
        assert!(!env.supports(Capability::FaultInjection));
        assert!(env.supports(Capability::GetRecordsChildShards));
        assert!(env.try_faults().is_none());
        assert!(env.try_cloudwatch().is_none());
        let conf = aws_sdk_kinesis::Config::new(&env.sdk_config());
        assert_eq!(conf.region().map(|r| r.as_ref()), Some("eu-central-1"));
    }

    #[tokio::test]
    async fn the_tls_endpoint_is_read_only_for_an_external_kinesis() {
        let vars = |kinesis: Option<&'static str>| {
            move |key: &str| {
                match key {
                    "AWS_ENDPOINT_URL_KINESIS" => kinesis,
                    "KINESIS_TESTKIT_KINESIS_TLS_ENDPOINT" => Some("https://localhost:9"),
                    "KINESIS_TESTKIT_CA_PEM" => Some(" /certs/ca.pem "),
                    _ => None,
                }
                .map(str::to_owned)
            }
        };
        let env = TestEnv::builder()
            .start_with(&vars(Some("http://127.0.0.1:9")))
            .await
            .unwrap();
        assert_eq!(
            env.kinesis_tls_endpoint(),
            Some(("https://localhost:9", Path::new("/certs/ca.pem")))
        );
        // The embedded ferrokinesis has no TLS port, whatever the variables say.
        let env = TestEnv::builder().start_with(&vars(None)).await.unwrap();
        assert_eq!(env.kinesis_tls_endpoint(), None);
    }

    #[tokio::test]
    async fn each_client_reaches_its_external_endpoint() {
        // One environment's embedded servers play the external servers of another.
        let servers = TestEnv::builder().start_with(&|_| None).await.unwrap();
        let endpoints = [
            (
                "AWS_ENDPOINT_URL_KINESIS",
                servers.kinesis_endpoint().to_owned(),
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                servers.dynamodb_endpoint().to_owned(),
            ),
            (
                "AWS_ENDPOINT_URL_CLOUDWATCH",
                servers.cloudwatch_endpoint().to_owned(),
            ),
        ];
        let lookup = move |key: &str| {
            endpoints
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        };
        let env = TestEnv::builder().start_with(&lookup).await.unwrap();
        assert!(env.servers.is_none());
        for service in Service::ALL {
            assert_eq!(env.backend(service), &Backend::External { name: None });
            assert_eq!(env.endpoint(service), servers.endpoint(service));
        }

        let stream = env.unique_name("external");
        env.create_stream(&stream, 1).await.unwrap();
        servers.wait_for_stream_active(&stream).await.unwrap();
        let tables = env.dynamodb_sdk().list_tables().send().await.unwrap();
        assert!(tables.table_names().is_empty());
        let config = env.sdk_config();
        aws_sdk_cloudwatch::Client::new(&config)
            .put_metric_data()
            .namespace("External")
            .metric_data(
                aws_sdk_cloudwatch::types::MetricDatum::builder()
                    .metric_name("M")
                    .value(1.0)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(servers.cloudwatch().metric_data()[0].namespace, "External");
        drop(env);
        servers.shutdown().await;
    }

    #[tokio::test]
    async fn embedded_only_ignores_the_variables() {
        let lookup =
            |key: &str| (key == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:9".to_owned());
        let env = TestEnv::builder()
            .embedded_only()
            .start_with(&lookup)
            .await
            .unwrap();
        assert!(env.backend(Service::Kinesis).is_embedded());
        assert_ne!(env.kinesis_endpoint(), "http://127.0.0.1:9");
        env.shutdown().await;
    }
}
