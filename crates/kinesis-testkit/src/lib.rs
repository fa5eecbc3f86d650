//! Kinesis, DynamoDB and CloudWatch for your tests: embedded in the test process by default,
//! or external servers when the standard endpoint variables say so, with fault injection and
//! a record of the metrics your code published.
//!
//! No Docker, no JVM, no Node, no AWS account: `cargo test` starts
//! [ferrokinesis](https://crates.io/crates/ferrokinesis) (Kinesis),
//! [dynoxide](https://crates.io/crates/dynoxide-rs) (DynamoDB) and a small CloudWatch
//! receiver inside the test process, on `127.0.0.1` with ports of their own, in a few
//! milliseconds. The same tests can run unchanged against kinesis-local, moto, LocalStack or
//! AWS.
//!
//! # A first test
//!
//! ```no_run
//! use aws_sdk_kinesis::primitives::Blob;
//! use kinesis_testkit::TestEnv;
//!
//! #[tokio::test]
//! async fn records_come_back() {
//!     let env = TestEnv::start().await;
//!     let stream = env.unique_name("orders");
//!     env.create_stream(&stream, 1).await.unwrap(); // waits until ACTIVE
//!
//!     let kinesis = env.kinesis_sdk();
//!     kinesis
//!         .put_record()
//!         .stream_name(&stream)
//!         .partition_key("k")
//!         .data(Blob::new("hello"))
//!         .send()
//!         .await
//!         .unwrap();
//!     // ... GetShardIterator + GetRecords, or run your own consumer ...
//!
//!     // Code that takes an `SdkConfig` gets one whose Kinesis, DynamoDB and CloudWatch
//!     // clients each reach their own server:
//!     let config = env.sdk_config();
//!     let dynamodb = aws_sdk_dynamodb::Client::new(&config);
//!     # let _ = dynamodb;
//! }
//! ```
//!
//! Start one [`TestEnv`] per test. Embedded servers are cheap, so tests never share state; with
//! an external server, name every stream and table with [`TestEnv::unique_name`] (streams also
//! get an account of their own on kinesis-local, see [`TestEnv::access_key_id`]). Dropping the
//! `TestEnv` stops its servers within a second at most, even with SubscribeToShard streams
//! open; `env.shutdown().await` does the same without blocking.
//!
//! The embedded servers run on a tokio runtime of their own in a background thread. Your test
//! may use any runtime flavour, and may call `tokio::time::pause()`: the emulators keep real
//! time (a stream still becomes ACTIVE), only your own timers are virtual.
//!
//! # Embedded or external: the environment variables
//!
//! For each service, [`TestEnv::start`] looks at the standard AWS variables:
//!
//! | service | endpoint variable (falls back to `AWS_ENDPOINT_URL`) | backend name variable |
//! |---|---|---|
//! | Kinesis | `AWS_ENDPOINT_URL_KINESIS` | `KINESIS_TESTKIT_KINESIS_BACKEND` |
//! | DynamoDB | `AWS_ENDPOINT_URL_DYNAMODB` | `KINESIS_TESTKIT_DYNAMODB_BACKEND` |
//! | CloudWatch | `AWS_ENDPOINT_URL_CLOUDWATCH` | `KINESIS_TESTKIT_CLOUDWATCH_BACKEND` |
//!
//! - No endpoint set: the service is embedded.
//! - An endpoint set: the service is that external server. The backend name variable says
//!   what it is (`kinesis-local`, `moto`, `localstack`, `dynalite`, `aws`, ...), so that
//!   [`TestEnv::supports`] can answer for it; unset, the server is assumed to behave like AWS.
//! - No endpoint but the backend name `aws`: real AWS, with credentials from the default
//!   credential chain. Any other name without an endpoint is an error rather than a silent
//!   fall-back to the embedded server.
//! - `AWS_REGION` sets the region (default `us-east-1`). Empty variables count as unset.
//! - With an external Kinesis, `KINESIS_TESTKIT_KINESIS_TLS_ENDPOINT` and
//!   `KINESIS_TESTKIT_CA_PEM` name its HTTPS (HTTP/2) endpoint and the PEM file of the CA that
//!   signed its certificate, for tests of the TLS path
//!   ([`TestEnv::kinesis_tls_endpoint`]); `cargo xtask emulators up` exports both.
//!
//! For example, to run a suite against kinesis-local and moto:
//!
//! ```text
//! AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:4568 KINESIS_TESTKIT_KINESIS_BACKEND=kinesis-local \
//! AWS_ENDPOINT_URL=http://127.0.0.1:4566 KINESIS_TESTKIT_DYNAMODB_BACKEND=moto \
//! cargo test
//! ```
//!
//! Except for real AWS, the SDK config uses fixed test credentials and never reads profiles or
//! instance metadata. SDK retries are disabled everywhere, so a test sees every error itself.
//! Tests that need the embedded tier whatever the variables say (fault injection, say) use
//! [`TestEnvBuilder::embedded_only`].
//!
//! # Options
//!
//! [`TestEnv::builder`] configures the embedded Kinesis: write throttling
//! ([`enforce_limits`](TestEnvBuilder::enforce_limits)), a short
//! [`iterator_ttl`](TestEnvBuilder::iterator_ttl) for expired-iterator tests, a short
//! [`subscribe_to_shard_session`](TestEnvBuilder::subscribe_to_shard_session) so EFO tests
//! resubscribe, the [`shard_limit`](TestEnvBuilder::shard_limit) (200) and the time stream
//! transitions take ([`stream_transition_delay`](TestEnvBuilder::stream_transition_delay),
//! 50 ms).
//!
//! ```no_run
//! # use std::time::Duration;
//! # use kinesis_testkit::TestEnv;
//! # async fn example() {
//! let env = TestEnv::builder()
//!     .iterator_ttl(Duration::from_secs(1))
//!     .subscribe_to_shard_session(Duration::from_secs(3))
//!     .start()
//!     .await;
//! # }
//! ```
//!
//! # Capabilities
//!
//! The backends differ. A test that relies on a behaviour some backend lacks asks first, and
//! skips (with a message on stderr) where it is missing:
//!
//! ```no_run
//! use kinesis_testkit::{Capability, TestEnv, require_capability};
//!
//! #[tokio::test]
//! async fn polling_consumer_follows_child_shards() {
//!     let env = TestEnv::start().await;
//!     require_capability!(env, Capability::GetRecordsChildShards);
//!     // ...
//! }
//! ```
//!
//! What each backend does (✔ has it, ✘ lacks it; "AWS-like" is AWS and any external backend
//! whose name is unknown or unset; LocalStack counts as kinesis-local for Kinesis and as moto
//! for DynamoDB, the engines it runs):
//!
//! | [`Capability`] | ferrokinesis (embedded) | kinesis-local | AWS-like |
//! |---|---|---|---|
//! | `IsolatedStreams` | ✔ | ✔ | ✘ |
//! | `EnhancedFanOut` | ✔ | ✔ | ✔ |
//! | `GetRecordsChildShards` | ✘ | ✔ | ✔ |
//! | `UpdateShardCountLineage` | ✘ | ✔ | ✔ |
//! | `ListShardsFilter` | ✘ | ✔ | ✔ |
//! | `ListShardsPagination` | ✘ | ✔ | ✔ |
//! | `StreamArnAddressing` | ✘ | ✔ | ✔ |
//! | `MillisBehindLatest` | ✘ (always 0) | ✔ | ✔ |
//! | `SubSecondAtTimestamp` | ✘ | ✔ | ✔ |
//! | `AtTimestampAfterTipIsLatest` | ✘ | ✔ | ✔ |
//! | `DuplicateSubscriptionRejected` | ✘ | ✔ | ✔ |
//! | `EfoShardEnd` | ✔ | ✘ | ✔ |
//! | `EfoStartingPosition` | ✘ (always TRIM_HORIZON) | ✔ | ✔ |
//! | `EfoInitialResponse` | ✔ | ✘ | ✔ |
//! | `ConfigurableEfoSession` | ✔ | ✘ | ✘ |
//! | `WriteThrottling` | with `enforce_limits` | ✘ | ✔ |
//! | `ReadThrottling` | ✘ (inject it) | ✘ | ✔ |
//! | `ConfigurableIteratorTtl` | ✔ | ✘ | ✘ |
//! | `FaultInjection` | ✔ | ✘ | ✘ |
//! | `InvalidIteratorIs4xx` | ✔ | ✘ (HTTP 500) | ✔ |
//! | `OnDemandStreams` | ✘ | ✔ | ✔ |
//!
//! | [`Capability`] | dynoxide (embedded) | moto | dynalite | AWS-like |
//! |---|---|---|---|---|
//! | `DynamoDbContinuousBackups` | ✘ | ✔ | ✘ | ✔ |
//! | `DynamoDbTransactions` | ✔ | ✔ | ✘ | ✔ |
//! | `AtomicConditionalWrites` | ✔ | ✘ (races) | ✔ | ✔ |
//!
//! | [`Capability`] | CloudWatch receiver (embedded) | any external |
//! |---|---|---|
//! | `MetricCapture` | ✔ | ✘ |
//!
//! moto is not a usable Kinesis backend (no SubscribeToShard, records lost under concurrent
//! PutRecords), so it has no Kinesis column.
//!
//! # Fault injection
//!
//! With the embedded Kinesis, [`TestEnv::faults`] changes what the server answers, per
//! operation, while the test runs. The faults happen on the server, so your code's whole
//! client stack (retry policy, timeouts, error classification) sees them as it would in
//! production:
//!
//! ```no_run
//! use std::time::Duration;
//! use kinesis_testkit::{Fault, FaultRule, TestEnv};
//!
//! # async fn example() {
//! let env = TestEnv::builder().embedded_only().start().await;
//! let faults = env.faults();
//! // The next two GetRecords calls are throttled (HTTP 400 ProvisionedThroughputExceededException).
//! let throttled = faults.add(FaultRule::new("GetRecords", Fault::throttle()).times(2));
//! // Every PutRecords takes 200 ms longer.
//! faults.add(FaultRule::new("PutRecords", Fault::latency(Duration::from_millis(200))));
//! // The third ListShards loses its connection.
//! faults.add(FaultRule::new("ListShards", Fault::drop_connection()).after(2).times(1));
//! // GetRecords reports a lag of 5 s.
//! faults.set_millis_behind_latest(5_000);
//!
//! // ... run the code under test ...
//!
//! assert_eq!(throttled.fired(), 2);
//! assert!(faults.calls("GetRecords") >= 3);
//! faults.clear();
//! # }
//! ```
//!
//! Any other server (the embedded DynamoDB and CloudWatch, kinesis-local, moto) gets the same
//! rules through a [`FaultProxy`] in front of it, which also injects what only a proxy can: a
//! request held until the client gives up ([`Fault::timeout`]), a request applied whose answer
//! is lost ([`Fault::answer_lost`]), and `PutRecords` entries failed one by one
//! ([`Fault::partial_failure`]). Rules can fire with a probability, drawn from a seed
//! ([`FaultRule::with_probability`], [`Faults::seed`]), so a run with faults repeats.
//!
//! # Virtual time: a scripted connection
//!
//! To assert *when* your code calls AWS (backoffs, rate limits, poll intervals, timeouts)
//! under `tokio::time::pause()`, give the real SDK a [`scripted::Scripted`] connection
//! instead of a server: it answers from a script of canned JSON answers (or a function of the
//! request) and records every request with the virtual time it arrived at.
//!
//! ```
//! use kinesis_testkit::scripted::{Answer, Scripted};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let http = Scripted::new([Answer::ok(serde_json::json!({"StreamNames": []}))]);
//! let kinesis = aws_sdk_kinesis::Client::new(&http.sdk_config());
//! kinesis.list_streams().send().await.unwrap();
//! assert_eq!(http.seen()[0].operation, "ListStreams");
//! # }
//! ```
//!
//! # Metrics
//!
//! With the embedded CloudWatch, [`TestEnv::cloudwatch`] returns every PutMetricData call
//! (plain or gzip-compressed Smithy RPC v2 CBOR, as aws-sdk-cloudwatch sends it) decoded:
//!
//! ```no_run
//! # use kinesis_testkit::TestEnv;
//! # async fn example() {
//! let env = TestEnv::start().await;
//! // ... publish metrics through env.cloudwatch_sdk() or a client built from env.sdk_config() ...
//! let calls = env.cloudwatch().wait_for_requests(1).await;
//! assert_eq!(calls[0].namespace, "MyApp");
//! let data = env.cloudwatch().metric_data();
//! assert!(data.iter().any(|d| d.metric_name == "RecordsProcessed"));
//! # }
//! ```

#![allow(
    clippy::disallowed_methods,
    reason = "the test kit measures real servers and processes"
)]

mod backend;
mod capability;
mod cloudwatch;
mod conn;
mod embedded;
mod env;
mod faults;
#[cfg(feature = "instant")]
pub mod instant;
mod local;
mod names;
mod proxy;
pub mod scripted;
mod sdk;

pub use backend::{Backend, Service};
pub use capability::Capability;
pub use cloudwatch::{
    CloudWatchReceiver, Dimension, MetricDatum, MetricId, PutMetricData, StatisticSet,
};
pub use env::{StartError, TestEnv, TestEnvBuilder};
pub use faults::{Fault, FaultRule, Faults, RuleHandle};
pub use local::{DEFAULT_PORTS, LocalServers, LocalServersBuilder};
pub use names::unique_name;
pub use proxy::FaultProxy;
