//! The consumer: parallel per-shard streams of deserialized records over polling or enhanced
//! fan-out, with checkpointing, lease coordination shared with Java KCL workers, resharding,
//! graceful shutdown and diagnostic events.
//!
//! # A worker
//!
//! A [`Consumer`] is one worker of an *application* (its name is the DynamoDB lease table's,
//! as in the KCL). Workers of one application share the stream's shards through the lease
//! table: each shard is processed by one worker at a time; a new worker steals its fair share;
//! a worker that stops releases its leases and the others take them at once.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use kinesis_client::{ClientConfig, StreamId};
//! use kinesis_consumer::{Consumer, ConsumerErrorKind};
//! use kinesis_lease::lineage::InitialPosition;
//! use kinesis_serde::Utf8;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::from_env().await?;
//! let consumer: Consumer<String> = Consumer::builder(&config, "orders".parse::<StreamId>()?, "order-audit")
//!     .deserializer(Utf8)
//!     .initial_position(InitialPosition::TrimHorizon)
//!     .build()
//!     .await?;
//! let mut shards = consumer.shards()?;
//! while let Some(mut shard) = shards.next().await {
//!     tokio::spawn(async move {
//!         while let Some(item) = shard.next().await {
//!             match item {
//!                 Ok(record) => {
//!                     println!("{}: {}", record.partition_key(), record.data());
//!                     shard.checkpointer().stage(record.position());
//!                 }
//!                 // A record that is not UTF-8: the stream goes on after it. Its bytes come
//!                 // along (`raw_record`); stage its position to move past it.
//!                 Err(e) if e.kind() == ConsumerErrorKind::Deserialize => {
//!                     eprintln!("skipped: {e}");
//!                     if let Some(position) = e.record_position() {
//!                         shard.checkpointer().stage(position.clone());
//!                     }
//!                 }
//!                 // A fetch that failed for good: the stream's last item.
//!                 Err(e) => eprintln!("{}: {e}", shard.shard_id()),
//!             }
//!         }
//!         // The stream ended (`shard.end_reason()` says why): the last staged position was
//!         // checkpointed.
//!     });
//! }
//! # Ok(()) }
//! ```
//!
//! # Checkpoints
//!
//! A checkpoint means "up to and including": after a restart, or on another worker, processing
//! resumes with the record after the checkpointed one. [`stage`](kinesis_lease::Checkpointer::stage)
//! is free; [`checkpoint`](kinesis_lease::Checkpointer::checkpoint) writes. When a shard stream
//! ends or is dropped, the last staged position is checkpointed and the lease released in one
//! write. [`Consumer::consume_with`] checkpoints for you, every N records or T seconds.
//!
//! KPL aggregates are split; each user record has a sub-sequence number, and a checkpoint
//! inside an aggregate resumes at the next user record.
//!
//! # Fetching
//!
//! [`FetchMode::Polling`] calls `GetRecords` (within 5 calls per second per shard, again at
//! once while behind); [`FetchMode::EnhancedFanOut`] registers a stream consumer and holds a
//! `SubscribeToShard` subscription per shard, renewed from its continuation sequence number.
//! Either way a bounded prefetch buffer stops fetching while the handler is busy.
//!
//! # Resharding
//!
//! When a shard ends (split or merge), its stream ends after its last record; stage that
//! record and its checkpoint becomes `SHARD_END`. Children start only once all their parents
//! are at `SHARD_END`, on whichever worker holds them, so records of one partition key stay in
//! order.
//!
//! # Diagnostics
//!
//! Every poll, subscription event, lease change, shard start and end, and checkpoint is a
//! [`DiagnosticEvent`], to a callback ([`ConsumerBuilder::on_event`]) or a broadcast receiver
//! ([`Consumer::events`]); neither ever blocks the consumer.
//!
//! # Metrics
//!
//! The consumer reports the Java KCL's metrics, under its names, units, dimensions and levels
//! (`ProcessTask` with `RecordsProcessed`, `DataBytesProcessed`, `MillisBehindLatest` and the
//! `GetRecords` calls per shard; `RenewAllLeases`, `TakeLeases` and the other lease metrics per
//! worker), through the workspace's telemetry seam ([`kinesis_client::telemetry`]).
//! [`ConsumerBuilder::cloudwatch_metrics`] publishes them to CloudWatch under the application
//! name, as the KCL does, so that a dashboard built for a Java KCL application shows this one;
//! [`ConsumerBuilder::telemetry`] sends them to any other recorder (`kinesis-metrics` has
//! CloudWatch embedded-metric-format logs and the `metrics` facade).
//!
//! ```no_run
//! # async fn run(config: kinesis_client::ClientConfig) -> Result<(), kinesis_consumer::ConsumerError> {
//! use kinesis_client::StreamId;
//! use kinesis_consumer::{Consumer, MetricsLevel};
//!
//! let consumer = Consumer::builder(&config, "orders".parse::<StreamId>()?, "order-audit")
//!     .cloudwatch_metrics(MetricsLevel::Summary)
//!     .build()
//!     .await?;
//! # let _ = consumer; Ok(()) }
//! ```
//!
//! # Testing without Kinesis
//!
//! With the `test-util` feature, `fake::FakeConsumer` takes records per shard and delivers
//! them through the real [`Shards`], [`ShardStream`]s, checkpointers and `consume_with`,
//! recording every checkpoint: an application's record processing is unit-tested without an
//! emulator. See "Testing your processing without Kinesis" in `docs/consumer.md`.
//!
//! # Health and readiness
//!
//! [`Consumer::health`] is a snapshot for a probe, made without a call: the leases held and
//! when each was renewed, when the lease table was last read, each shard's lag and when
//! Kinesis last answered for it. [`ConsumerHealth::is_ready`] says whether the worker is
//! working; [`ConsumerHealth::problems`] names what is wrong.
//!
//! ```no_run
//! # fn probe(consumer: &kinesis_consumer::Consumer<Vec<u8>>) {
//! let health = consumer.health();
//! if !health.is_ready() {
//!     eprintln!("not ready");
//! }
//! for problem in health.problems() {
//!     eprintln!("unhealthy: {problem}");
//! }
//! println!("lag: {:?} ms", health.max_millis_behind_latest());
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod consume_with;
mod consumer;
mod deaggregate;
mod error;
mod events;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod fake;
mod fetch;
mod health;
mod metrics;
mod record;
mod settings;
mod shard;
mod shards;
mod worker_tasks;

pub use consume_with::{CheckpointBehaviour, DeadLetter, HandlerError, PoisonRecords};
pub use consumer::{Consumer, ConsumerBuilder};
pub use deaggregate::deaggregate;
pub use error::{ConsumerError, ConsumerErrorKind};
pub use events::DiagnosticEvent;
pub use health::{ConsumerHealth, ConsumerProblem, FETCH_STALL, ShardHealth};
pub use kinesis_client::telemetry::MetricsLevel;
pub use shards::Shards;

// What the consumer's API exposes, so that an application needs this crate (and its serde
// choice) only.
pub use kinesis_client::{ClientConfig, ShardId, StreamId, StreamName, Telemetry, shutdown_signal};
pub use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
pub use kinesis_lease::checkpointer::CheckpointPolicy;
pub use kinesis_lease::coordinator::{
    CoordinatorHealth, Handover, HealthProblem, LeaseHealth, LeaseStatus,
};
pub use kinesis_lease::lineage::InitialPosition;
pub use kinesis_lease::{
    AssignmentStrategy, Balanced, Checkpointer, CoordinatorSettings, DynamoDbLeaseRepository,
    Explicit, InMemoryLeaseRepository, Kcl3Settings, LeaseError, LeaseEvent, LeaseProtocol,
    LeaseRepository, StrategySettings,
};
#[cfg(feature = "cloudwatch-metrics")]
pub use kinesis_metrics::PublisherSettings;
pub use kinesis_serde::{Deserializer, Raw, Utf8};
pub use record::ConsumerRecord;
pub use settings::{ConsumerSettings, FanOutSettings, FetchMode, PollingSettings};
pub use shard::{ShardStream, ShardStreamEnd};
