//! The producer: batching within `PutRecords` limits, KPL-compatible aggregation by predicted
//! shard, per-shard throttling, retries, metrics and back-pressure, losing no record on shutdown.
//!
//! # Producing
//!
//! ```no_run
//! use kinesis_client::{ClientConfig, StreamId};
//! use kinesis_producer::{AggregationSettings, Producer, ProducerRecord, ProducerSettings};
//! use kinesis_serde::Utf8;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::from_env().await?;
//! let producer: Producer<String> = Producer::builder(&config, "orders".parse::<StreamId>()?)
//!     .serializer(Utf8)
//!     .settings(ProducerSettings::default().with_aggregation(AggregationSettings::default()))
//!     .on_metrics(|m| println!("{m}"))
//!     .build()
//!     .await?;
//!
//! // Wait for the outcome...
//! let stored = producer.produce(ProducerRecord::new("customer-1", "hello".to_owned())).await?;
//! println!("{} {}", stored.shard_id(), stored.sequence_number());
//!
//! // ...or send now and look at the outcome later.
//! let handle = producer.send(ProducerRecord::new("customer-2", "world".to_owned())).await?;
//! producer.flush().await?;
//! handle.await?;
//!
//! // Deliver everything accepted, then stop.
//! producer.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # What happens to a record
//!
//! 1. [`Producer::produce`] (or [`send`](Producer::send), [`try_send`](Producer::try_send))
//!    checks it — partition key of 1 to 256 characters, explicit hash key below 2^128, payload
//!    plus key within the maximum record size — and serializes it; a bad record is refused with
//!    [`ProduceErrorKind::InvalidRecord`] before anything is sent. It then takes its place in a
//!    buffer bounded in records and bytes: when the buffer is full, `produce` waits.
//! 2. Its shard is predicted from the shard map (`ListShards`). With aggregation it joins the
//!    shard's open KPL aggregate; an aggregate never mixes shards.
//! 3. Batches of up to 500 entries and 5 MiB leave when full, or when their oldest record has
//!    waited the linger time (100 ms); a full aggregate, a flush, or a buffer with at most an
//!    eighth free does not wait for it. Each shard stays within its throttle (1000 entries and 1 MiB
//!    per second, lowered while Kinesis throttles and raised again as calls succeed). A
//!    partition key is in one call in flight at a time (other keys of its shard go alongside),
//!    so the records of a key are stored in order, retries included (around a reshard, an
//!    aggregate sent again can still land after records of its keys that left after it).
//! 4. Entries refused for a retryable reason (throttling, internal errors) are sent again —
//!    only those — after a doubling pause, until the record's time to live (30 s) or attempt
//!    limit (10) runs out; any other code fails the record with that code. An aggregate that
//!    landed on another shard than predicted (a reshard) waits for a shard map that lists that
//!    shard: if the shard owns all its records they are stored; otherwise all of them are sent
//!    again, as the KPL does, since KCL consumers skip such an aggregate whole.
//! 5. The record is answered: [`ProduceResult`] (shard, sequence number, sub-sequence number)
//!    only when Kinesis returned a sequence number; otherwise a [`ProduceError`] carrying the
//!    record.
//!
//! [`Producer::shutdown`] delivers everything accepted before returning; dropping the producer
//! without it answers pending records with [`ProduceErrorKind::Closed`].
//!
//! # Metrics
//!
//! Every [`metrics_interval`](ProducerSettings::metrics_interval) (30 s) and once at shutdown,
//! [`ProducerMetrics`]: records and bytes published, failed and retried, `PutRecords` calls,
//! shard mispredictions, and HdrHistograms of latency, attempts, record and batch sizes; they
//! combine with `+`.

mod error;
mod kpl_metrics;
mod metrics;
mod pipeline;
mod producer;
mod record;
mod send_all;
mod settings;
mod shard_map;
mod throttle;

pub use error::{ProduceError, ProduceErrorKind};
pub use kinesis_client::telemetry::MetricsLevel;
pub use send_all::SendAllError;
// What the producer's API exposes, so that an application needs this crate (and its serde
// choice) only.
pub use kinesis_client::{ClientConfig, StreamId, StreamName, Telemetry, shutdown_signal};
pub use kinesis_kcl_compat::metrics::kpl::Granularity;
#[cfg(feature = "cloudwatch-metrics")]
pub use kinesis_metrics::PublisherSettings;
pub use kinesis_serde::{Raw, Serializer, Utf8};
pub use metrics::ProducerMetrics;
pub use producer::{ProduceHandle, Producer, ProducerBuilder, TrySendError};
pub use record::{ProduceResult, ProducerRecord};
pub use settings::{AggregationSettings, ProducerSettings};
pub use throttle::ThrottleSettings;
