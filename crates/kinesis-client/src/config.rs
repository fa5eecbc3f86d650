//! Client configuration: AWS settings, endpoints, and the layers' settings.

use std::fmt;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::budget::RetryBudget;
use crate::error::Error;
use crate::layer::RetryConfig;
use crate::layer::{AttemptTimeouts, RateLimiter, RateLimits, RetryPolicy};
use crate::stack::Stack;
use crate::telemetry::Telemetry;

/// Size and count limits checked before a write is sent.
///
/// The defaults are the Kinesis defaults: records up to 1 MiB (payload plus partition key),
/// `PutRecords` calls of up to 500 entries and 5 MiB. Streams configured for larger records
/// (up to 10 MiB) and the 10 MiB request limit can be allowed here.
///
/// ```
/// use kinesis_client::PutLimits;
///
/// let limits = PutLimits::default().with_max_record_size(10 << 20);
/// assert_eq!(limits.max_record_size(), 10 << 20);
/// assert_eq!(limits.max_batch_entries(), 500);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutLimits {
    max_record_size: usize,
    max_batch_entries: usize,
    max_batch_size: usize,
}

impl Default for PutLimits {
    fn default() -> Self {
        Self {
            max_record_size: 1 << 20,
            max_batch_entries: 500,
            max_batch_size: 5 << 20,
        }
    }
}

impl PutLimits {
    /// The largest record, payload plus partition key, in bytes (default 1 MiB, at most 10 MiB).
    #[must_use]
    pub fn with_max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes.min(10 << 20);
        self
    }
    /// The largest `PutRecords` request, in bytes (default 5 MiB, at most 10 MiB).
    #[must_use]
    pub fn with_max_batch_size(mut self, bytes: usize) -> Self {
        self.max_batch_size = bytes.min(10 << 20);
        self
    }
    /// The largest record, payload plus partition key, in bytes.
    pub fn max_record_size(&self) -> usize {
        self.max_record_size
    }
    /// The most entries in one `PutRecords` call (500).
    pub fn max_batch_entries(&self) -> usize {
        self.max_batch_entries
    }
    /// The largest `PutRecords` request, in bytes.
    pub fn max_batch_size(&self) -> usize {
        self.max_batch_size
    }
}

/// How admin calls wait for a stream or consumer to reach its target state.
///
/// ```
/// use std::time::Duration;
/// use kinesis_client::WaitConfig;
///
/// let wait = WaitConfig::default().with_poll_interval(Duration::from_millis(100));
/// assert_eq!(wait.timeout(), Duration::from_secs(600));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitConfig {
    poll_interval: Duration,
    timeout: Duration,
}

impl Default for WaitConfig {
    /// Poll every second, for at most 10 minutes.
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(600),
        }
    }
}

impl WaitConfig {
    /// How often to poll the state.
    #[must_use]
    pub fn with_poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }
    /// How long to wait in all before failing with [`ErrorKind::WaitTimeout`](crate::ErrorKind::WaitTimeout).
    #[must_use]
    pub fn with_timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// How often to poll the state.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }
    /// How long to wait in all.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// The configuration every client of the workspace is built from.
///
/// It holds the AWS settings (region, credentials, endpoints) and the shared state of the layers:
/// one retry budget and one rate limiter for every client made from it. Cloning is cheap and
/// shares that state.
///
/// Endpoints follow the AWS standard variables, so one binary runs against AWS, LocalStack or a
/// local emulator unchanged: `AWS_ENDPOINT_URL_KINESIS`, `AWS_ENDPOINT_URL_DYNAMODB` and
/// `AWS_ENDPOINT_URL_CLOUDWATCH` per service, `AWS_ENDPOINT_URL` for all. An endpoint set on the
/// builder wins over the variables.
///
/// ```no_run
/// # async fn run() -> Result<(), kinesis_client::Error> {
/// use kinesis_client::{ClientConfig, Client};
///
/// // Region, credentials and endpoints from the environment, as the AWS SDKs read them.
/// let config = ClientConfig::from_env().await?;
///
/// // Or explicitly, for a local emulator:
/// let local = ClientConfig::builder()
///     .region("us-east-1")
///     .static_credentials("AKIDLOCAL", "secret")
///     .endpoint_url("http://127.0.0.1:4568")
///     .build()
///     .await?;
/// let client = Client::new(&local);
/// # let _ = (config, client); Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientConfig {
    sdk: SdkConfig,
    kinesis_endpoint: Option<String>,
    dynamodb_endpoint: Option<String>,
    cloudwatch_endpoint: Option<String>,
    retry: RetryPolicy,
    limiter: RateLimiter,
    timeouts: AttemptTimeouts,
    put_limits: PutLimits,
    wait: WaitConfig,
    telemetry: Telemetry,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("region", &self.sdk.region())
            .field("endpoint_url", &self.sdk.endpoint_url())
            .field("kinesis_endpoint", &self.kinesis_endpoint)
            .field("dynamodb_endpoint", &self.dynamodb_endpoint)
            .field("cloudwatch_endpoint", &self.cloudwatch_endpoint)
            .field("timeouts", &self.timeouts)
            .field("put_limits", &self.put_limits)
            .field("wait", &self.wait)
            .field("telemetry", &self.telemetry)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A builder.
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder::default()
    }

    /// Loads region, credentials and endpoints from the environment (the AWS default chain) with
    /// every other setting at its default.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Configuration`](crate::ErrorKind::Configuration) when no region can be found.
    pub async fn from_env() -> Result<Self, Error> {
        Self::builder().build().await
    }

    /// The AWS SDK configuration (region, credentials, shared endpoint).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The region calls go to.
    pub fn region(&self) -> Option<&str> {
        self.sdk.region().map(|r| r.as_ref())
    }

    /// The checks applied to writes before they are sent.
    pub fn put_limits(&self) -> PutLimits {
        self.put_limits
    }

    /// How admin calls wait for state changes.
    pub fn wait_config(&self) -> WaitConfig {
        self.wait
    }

    /// The retry policy shared by every stack of this configuration.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The retry budget every stack and every retry loop built from this configuration spends
    /// from.
    pub fn retry_budget(&self) -> &RetryBudget {
        self.retry.budget()
    }

    /// The same configuration (clients, budget, rate limiter, timeouts shared) whose stacks make
    /// one attempt per call: for a caller that owns its retries in an outer loop (the consumer's
    /// shard fetch, the producer's record retries), so that the stack does not multiply them and
    /// the caller learns of throttling at once.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), kinesis_client::Error> {
    /// use kinesis_client::{Client, ClientConfig};
    ///
    /// let config = ClientConfig::from_env().await?;
    /// let once = config.single_attempt();
    /// assert_eq!(once.retry_policy().config().max_attempts(), 1);
    /// let client = Client::new(&once);
    /// # let _ = client; Ok(()) }
    /// ```
    #[must_use]
    pub fn single_attempt(&self) -> ClientConfig {
        let mut config = self.clone();
        config.retry = self.retry.with_max_attempts(1);
        config
    }

    /// Where the stacks of this configuration report each call (none by default).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The same configuration (clients, budget, rate limiter, timeouts shared) whose stacks
    /// report every call to `telemetry`: its success and time, its throttled attempts and its
    /// retries, under the names of [`telemetry::call`](crate::telemetry::call). The consumer
    /// and the producer call it with their metrics recorder.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), kinesis_client::Error> {
    /// use kinesis_client::{ClientConfig, Telemetry};
    ///
    /// let config = ClientConfig::from_env().await?;
    /// let observed = config.with_telemetry(Telemetry::none());
    /// assert!(!observed.telemetry().has_recorders());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_telemetry(&self, telemetry: Telemetry) -> ClientConfig {
        let mut config = self.clone();
        config.retry = self.retry.with_telemetry(telemetry.clone());
        config.telemetry = telemetry;
        config
    }

    /// The rate limiter shared by every stack of this configuration.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// The attempt timeouts.
    pub fn attempt_timeouts(&self) -> &AttemptTimeouts {
        &self.timeouts
    }

    /// A Kinesis SDK client with the SDK's retries disabled (this workspace's retry layer owns
    /// retries).
    pub fn kinesis_sdk(&self) -> aws_sdk_kinesis::Client {
        let mut b = aws_sdk_kinesis::config::Builder::from(&self.sdk)
            .retry_config(aws_config::retry::RetryConfig::disabled());
        if let Some(url) = &self.kinesis_endpoint {
            b = b.endpoint_url(url);
        }
        aws_sdk_kinesis::Client::from_conf(b.build())
    }

    /// A DynamoDB SDK client with the SDK's retries disabled.
    pub fn dynamodb_sdk(&self) -> aws_sdk_dynamodb::Client {
        let mut b = aws_sdk_dynamodb::config::Builder::from(&self.sdk)
            .retry_config(aws_config::retry::RetryConfig::disabled());
        if let Some(url) = &self.dynamodb_endpoint {
            b = b.endpoint_url(url);
        }
        aws_sdk_dynamodb::Client::from_conf(b.build())
    }

    /// A CloudWatch SDK client with the SDK's retries disabled.
    #[cfg(feature = "cloudwatch")]
    pub fn cloudwatch_sdk(&self) -> aws_sdk_cloudwatch::Client {
        let mut b = aws_sdk_cloudwatch::config::Builder::from(&self.sdk)
            .retry_config(aws_config::retry::RetryConfig::disabled());
        if let Some(url) = &self.cloudwatch_endpoint {
            b = b.endpoint_url(url);
        }
        aws_sdk_cloudwatch::Client::from_conf(b.build())
    }

    /// The layered service for Kinesis calls.
    pub fn kinesis_stack(&self) -> Stack<aws_sdk_kinesis::Client> {
        Stack::new(self.kinesis_sdk(), self)
    }

    /// The layered service for DynamoDB calls (the lease table).
    pub fn dynamodb_stack(&self) -> Stack<aws_sdk_dynamodb::Client> {
        Stack::new(self.dynamodb_sdk(), self)
    }

    /// The layered service for CloudWatch calls (metrics).
    #[cfg(feature = "cloudwatch")]
    pub fn cloudwatch_stack(&self) -> Stack<aws_sdk_cloudwatch::Client> {
        Stack::new(self.cloudwatch_sdk(), self)
    }
}

/// Builds a [`ClientConfig`]. Every setting is optional.
///
/// ```no_run
/// # async fn run() -> Result<(), kinesis_client::Error> {
/// use std::time::Duration;
/// use kinesis_client::{ClientConfig, RetryConfig, layer::RateLimits};
///
/// let config = ClientConfig::builder()
///     .region("eu-west-1")
///     .connect_timeout(Duration::from_secs(2))
///     .retry(RetryConfig::default().with_max_attempts(5))
///     .rate_limits(RateLimits::kinesis_defaults())
///     .build()
///     .await?;
/// # let _ = config; Ok(()) }
/// ```
#[must_use]
#[derive(Default)]
pub struct ClientConfigBuilder {
    sdk: Option<SdkConfig>,
    region: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    endpoint_url: Option<String>,
    kinesis_endpoint: Option<String>,
    dynamodb_endpoint: Option<String>,
    cloudwatch_endpoint: Option<String>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryConfig>,
    rate_limits: Option<RateLimits>,
    timeouts: Option<AttemptTimeouts>,
    put_limits: Option<PutLimits>,
    wait: Option<WaitConfig>,
    trusted_ca_pems: Vec<Vec<u8>>,
}

impl fmt::Debug for ClientConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfigBuilder")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .finish_non_exhaustive()
    }
}

impl ClientConfigBuilder {
    /// Starts from an existing SDK configuration instead of the default chain. Its retry
    /// settings are replaced: this workspace's retry layer owns retries. Its endpoints are kept,
    /// the per-service ones included (an `SdkConfig` loaded with `AWS_ENDPOINT_URL_KINESIS`, or
    /// built with a `service_config` that names them, as `kinesis-testkit`'s is): a
    /// `ClientConfig` from the test kit's `sdk_config()` reaches its emulators with no further
    /// endpoint settings.
    pub fn sdk_config(mut self, sdk: SdkConfig) -> Self {
        self.sdk = Some(sdk);
        self
    }

    /// The region, instead of the one from the environment.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Static credentials, instead of the default credential chain.
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        let creds = Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "kinesis-client",
        );
        self.credentials = Some(SharedCredentialsProvider::new(creds));
        self
    }

    /// Any credentials provider, instead of the default credential chain.
    pub fn credentials_provider(
        mut self,
        provider: impl aws_credential_types::provider::ProvideCredentials + 'static,
    ) -> Self {
        self.credentials = Some(SharedCredentialsProvider::new(provider));
        self
    }

    /// One endpoint for every service (as `AWS_ENDPOINT_URL` does).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// The Kinesis endpoint (as `AWS_ENDPOINT_URL_KINESIS` does).
    pub fn kinesis_endpoint(mut self, url: impl Into<String>) -> Self {
        self.kinesis_endpoint = Some(url.into());
        self
    }

    /// The DynamoDB endpoint (as `AWS_ENDPOINT_URL_DYNAMODB` does).
    pub fn dynamodb_endpoint(mut self, url: impl Into<String>) -> Self {
        self.dynamodb_endpoint = Some(url.into());
        self
    }

    /// The CloudWatch endpoint (as `AWS_ENDPOINT_URL_CLOUDWATCH` does).
    pub fn cloudwatch_endpoint(mut self, url: impl Into<String>) -> Self {
        self.cloudwatch_endpoint = Some(url.into());
        self
    }

    /// How long to wait for a TCP/TLS connection (SDK default 3.1 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }

    /// How long each attempt of a call may take.
    pub fn attempt_timeouts(mut self, t: AttemptTimeouts) -> Self {
        self.timeouts = Some(t);
        self
    }

    /// How calls are retried.
    pub fn retry(mut self, r: RetryConfig) -> Self {
        self.retry = Some(r);
        self
    }

    /// Client-side rate limits (default [`RateLimits::kinesis_defaults`]).
    pub fn rate_limits(mut self, l: RateLimits) -> Self {
        self.rate_limits = Some(l);
        self
    }

    /// Checks applied to writes before they are sent.
    pub fn put_limits(mut self, l: PutLimits) -> Self {
        self.put_limits = Some(l);
        self
    }

    /// How admin calls wait for state changes.
    pub fn wait(mut self, w: WaitConfig) -> Self {
        self.wait = Some(w);
        self
    }

    /// Also trusts the CA certificates in `pem` (PEM text with one or more `CERTIFICATE`
    /// blocks) for `https://` endpoints, on top of the platform's roots. Call it again to add
    /// more.
    ///
    /// For a server whose certificate a private CA signed, such as a local emulator's TLS port:
    /// AWS serves `SubscribeToShard` only over HTTP/2 with TLS, and kinesis-local's TLS port
    /// does the same (`cargo xtask emulators up` generates a CA for it and exports its path as
    /// `KINESIS_TESTKIT_CA_PEM`).
    ///
    /// The HTTP client is then built here, as the SDK's default one (rustls with aws-lc; ALPN
    /// offers `h2` and `http/1.1`; proxy from the environment), and replaces the HTTP client of
    /// an SDK configuration given to [`sdk_config`](Self::sdk_config).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), kinesis_client::Error> {
    /// use kinesis_client::ClientConfig;
    ///
    /// let config = ClientConfig::builder()
    ///     .region("us-east-1")
    ///     .static_credentials("AKIDLOCAL", "secret")
    ///     .kinesis_endpoint("https://localhost:4567")
    ///     .trust_ca_pem(std::fs::read(".emulators/certs/ca.pem").expect("the CA"))
    ///     .build()
    ///     .await?;
    /// # let _ = config; Ok(()) }
    /// ```
    pub fn trust_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.trusted_ca_pems.push(pem.into());
        self
    }

    /// Loads what was not given from the environment and builds the configuration.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Configuration`](crate::ErrorKind::Configuration) when no region is set and
    /// none can be found in the environment, or an endpoint is not an `http(s)://` URL.
    pub async fn build(self) -> Result<ClientConfig, Error> {
        for url in [
            &self.endpoint_url,
            &self.kinesis_endpoint,
            &self.dynamodb_endpoint,
            &self.cloudwatch_endpoint,
        ]
        .into_iter()
        .flatten()
        {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::configuration(format!(
                    "endpoint {url:?} must start with http:// or https://"
                )));
            }
        }
        let http_client = if self.trusted_ca_pems.is_empty() {
            None
        } else {
            Some(https_client_trusting(&self.trusted_ca_pems)?)
        };
        let sdk = match self.sdk {
            Some(sdk) => {
                let mut b = sdk.into_builder();
                if let Some(client) = http_client {
                    b.set_http_client(Some(client));
                }
                if let Some(r) = self.region {
                    b.set_region(Some(Region::new(r)));
                }
                if let Some(c) = self.credentials {
                    b.set_credentials_provider(Some(c));
                }
                if let Some(u) = self.endpoint_url {
                    b.set_endpoint_url(Some(u));
                }
                if let Some(t) = self.connect_timeout {
                    b.set_timeout_config(Some(
                        aws_config::timeout::TimeoutConfig::builder()
                            .connect_timeout(t)
                            .build(),
                    ));
                }
                b.set_retry_config(Some(aws_config::retry::RetryConfig::disabled()));
                b.build()
            }
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .retry_config(aws_config::retry::RetryConfig::disabled());
                if let Some(r) = self.region {
                    loader = loader.region(Region::new(r));
                }
                if let Some(c) = self.credentials {
                    loader = loader.credentials_provider(c);
                }
                if let Some(u) = self.endpoint_url {
                    loader = loader.endpoint_url(u);
                }
                if let Some(client) = http_client {
                    loader = loader.http_client(client);
                }
                if let Some(t) = self.connect_timeout {
                    loader = loader.timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .connect_timeout(t)
                            .build(),
                    );
                }
                loader.load().await
            }
        };
        if sdk.region().is_none() {
            return Err(Error::configuration(
                "no AWS region: set AWS_REGION, a profile region, or ClientConfigBuilder::region",
            ));
        }
        Ok(ClientConfig {
            sdk,
            kinesis_endpoint: self.kinesis_endpoint,
            dynamodb_endpoint: self.dynamodb_endpoint,
            cloudwatch_endpoint: self.cloudwatch_endpoint,
            retry: RetryPolicy::new(self.retry.unwrap_or_default()),
            limiter: RateLimiter::new(
                self.rate_limits
                    .unwrap_or_else(RateLimits::kinesis_defaults),
            ),
            timeouts: self.timeouts.unwrap_or_default(),
            put_limits: self.put_limits.unwrap_or_default(),
            wait: self.wait.unwrap_or_default(),
            telemetry: Telemetry::none(),
        })
    }
}

/// The SDK's default HTTPS client (see `aws_smithy_runtime`'s `default_https_client`), trusting
/// the platform's roots and every certificate of `pems`.
///
/// The PEM is checked here, with the parsers rustls uses, because the SDK only reads it when
/// the first connection is made, and panics there on a malformed certificate.
fn https_client_trusting(
    pems: &[Vec<u8>],
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, Error> {
    use aws_smithy_http_client::{ConnectorBuilder, proxy::ProxyConfig, tls};
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut trust = tls::TrustStore::default();
    for pem in pems {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::configuration(format!("a trusted CA is not valid PEM: {e}")))?;
        if certificates.is_empty() {
            return Err(Error::configuration(
                "a trusted CA PEM holds no CERTIFICATE block",
            ));
        }
        for certificate in &certificates {
            webpki::anchor_from_trusted_cert(certificate).map_err(|e| {
                Error::configuration(format!("a trusted CA certificate cannot be used: {e}"))
            })?;
        }
        trust = trust.with_pem_certificate(pem.clone());
    }
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| Error::configuration(format!("TLS configuration: {e}")))?;
    Ok(
        aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, runtime_components| {
                let mut connector = ConnectorBuilder::default()
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::AwsLc,
                    ))
                    .tls_context(context.clone());
                connector.set_connector_settings(settings.cloned());
                if let Some(components) = runtime_components {
                    connector.set_sleep_impl(components.sleep_impl());
                }
                connector.set_proxy_config(Some(ProxyConfig::from_env()));
                connector.build()
            },
        ),
    )
}
