//! The core of the workspace: configuration, identifiers, errors, and the tower stack that
//! sends every AWS call.
//!
//! # Overview
//!
//! Every AWS call this workspace makes is an [`Operation`] value sent through a [`Stack`]: a
//! tower service assembled from layers that each own one concern.
//!
//! | layer | concern |
//! |---|---|
//! | [`layer::TraceLayer`] | one `tracing` span per call |
//! | tower `RetryLayer` + [`layer::RetryPolicy`] | the only retry owner: throttling and transient failures, jittered exponential backoff, a shared retry budget; the SDK's own retries are off |
//! | [`layer::RateLimitLayer`] | client-side quotas mirroring Kinesis (`GetRecords` 5/s per shard, ...) |
//! | [`layer::AttemptTimeoutLayer`] | bounds each attempt, keeping the error type |
//! | [`AwsService`] | hands the operation to its SDK client |
//!
//! On top sit the [`Client`] (data plane: put, get, subscribe, list shards) and the
//! [`AdminClient`] (streams, shards, retention, tags, consumers, limits).
//!
//! # Quick start
//!
//! ```no_run
//! # async fn run() -> Result<(), kinesis_client::Error> {
//! use kinesis_client::{AdminClient, Client, ClientConfig, PartitionKey, PutRecordsEntry, StreamMode};
//! use futures_util::TryStreamExt;
//!
//! // Region, credentials and endpoints from the environment; AWS_ENDPOINT_URL_KINESIS
//! // points the same binary at a local emulator.
//! let config = ClientConfig::from_env().await?;
//! let admin = AdminClient::new(&config);
//! let client = Client::new(&config);
//!
//! let stream = admin.create_stream(&"orders".parse()?, StreamMode::Provisioned { shard_count: 2 }).await?;
//! client.put_record(&stream.name, PutRecordsEntry::new("hello", PartitionKey::new("k")?)).await?;
//! let shards: Vec<_> = client.list_shards(&stream.name, None).try_collect().await?;
//! println!("{} shards", shards.len());
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! One [`Error`] type with a non-exhaustive [`ErrorKind`] named for what the caller should do,
//! and predicates ([`Error::is_retryable`], [`Error::is_throttling`], [`Error::is_not_found`],
//! ...). SDK errors are only reachable through [`std::error::Error::source`]. Bad input (a record
//! over the size limit, an empty partition key, a malformed hash key or stream name) is refused
//! with [`ErrorKind::InvalidInput`] before anything is sent.
//!
//! # Feature flags
//!
//! - `sdk` (default): the AWS SDK clients, the operation stack, [`Client`], [`AdminClient`] and
//!   [`ClientConfig`]. Without it the crate holds only the identifiers, records and [`Error`],
//!   and builds in seconds without the AWS SDK; `kinesis-kcl-compat` depends on it that way.
//! - `cloudwatch`: `ClientConfig::cloudwatch_sdk` and `ClientConfig::cloudwatch_stack`, used by
//!   `kinesis-metrics`.

#[cfg(feature = "sdk")]
mod admin;
#[cfg(feature = "sdk")]
pub mod api;
#[cfg(feature = "sdk")]
mod backoff;
#[cfg(feature = "sdk")]
mod budget;
#[cfg(feature = "sdk")]
mod config;
mod error;
#[cfg(feature = "sdk")]
pub mod layer;
#[cfg(feature = "sdk")]
mod operation;
#[cfg(feature = "sdk")]
mod service;
#[cfg(feature = "sdk")]
mod signal;
#[cfg(feature = "sdk")]
mod stack;
pub mod telemetry;
mod types;

#[cfg(feature = "sdk")]
pub use admin::{
    AdminClient, ConsumerStatus, Limits, ListStreamConsumersStream, ListStreamsStream,
    ListedStream, StreamConsumer,
};
#[cfg(feature = "sdk")]
pub use api::client::{Client, ListShardsStream};
#[cfg(feature = "sdk")]
pub use api::data::{GetRecordsOutput, ShardFilter, StreamMode, StreamStatus, StreamSummary};
#[cfg(feature = "sdk")]
pub use api::position::{ShardIterator, StartingPosition};
#[cfg(feature = "sdk")]
pub use api::subscribe::{SubscribeToShardEvent, SubscribeToShardStream};
#[cfg(feature = "sdk")]
pub use backoff::Backoff;
#[cfg(feature = "sdk")]
pub use budget::RetryBudget;
#[cfg(feature = "sdk")]
pub use config::{ClientConfig, ClientConfigBuilder, PutLimits, WaitConfig};
#[cfg(feature = "sdk")]
pub use error::RawResponse;
pub use error::{BoxError, DisplayErrorChain, Error, ErrorKind};
#[cfg(feature = "sdk")]
pub use layer::RetryConfig;
#[cfg(feature = "sdk")]
pub use operation::{BoxFuture, Operation};
#[cfg(feature = "sdk")]
pub use service::AwsService;
#[cfg(feature = "sdk")]
pub use signal::shutdown_signal;
#[cfg(feature = "sdk")]
pub use stack::Stack;
pub use telemetry::Telemetry;
pub use types::record::{
    PartitionKey, PutRecordsEntry, PutRecordsOutput, PutRecordsResultEntry, Record, RecordPosition,
};
pub use types::shard::{ChildShard, HashKey, HashKeyRange, SequenceNumber, Shard, ShardId};
pub use types::stream::{ConsumerArn, IntoStreamId, StreamArn, StreamId, StreamName};

#[cfg(feature = "sdk")]
/// The AWS SDK crates this one is built on, for the workspace's other crates (lease rows are
/// DynamoDB items, metrics are CloudWatch data), so that every crate uses the same versions.
pub mod sdk {
    pub use aws_sdk_dynamodb as dynamodb;
    pub use aws_sdk_kinesis as kinesis;
    pub use aws_smithy_types as smithy_types;
}
