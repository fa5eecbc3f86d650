//! CloudWatch metrics under the KCL's and KPL's names.
//!
//! A [`CloudWatchPublisher`] takes values ([`record`](CloudWatchPublisher::record): a metric
//! name, a unit, a level and dimensions, as listed in `kinesis_kcl_compat::metrics`), aggregates
//! each metric's values per interval into one statistic set ([`Aggregator`]), and sends the sets
//! with `PutMetricData` from a background task, in batches, through the client stack
//! ([`CloudWatchSink`]). The application never waits on metrics: recording is a map update, and
//! when CloudWatch is slow or down the queue ([`DropOldest`]) keeps the newest data up to its
//! bound and counts what it drops ([`PublisherStats`]).
//!
//! The defaults are the KCL's: 10 s buffer, 10 000 queued data, 20 data per call, DETAILED level,
//! every dimension enabled.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kinesis_client::ClientConfig;
//! use kinesis_kcl_compat::metrics::{dimension, process_task, MetricsLevel, Unit};
//! use kinesis_metrics::{CloudWatchPublisher, CloudWatchSink, PublisherSettings};
//!
//! # async fn run() -> Result<(), kinesis_client::Error> {
//! let config = ClientConfig::from_env().await?;
//! let metrics = CloudWatchPublisher::start(
//!     PublisherSettings::new("my-application"),
//!     Arc::new(CloudWatchSink::new(&config)),
//! );
//! metrics.record(
//!     process_task::RECORDS_PROCESSED,
//!     Unit::Count,
//!     MetricsLevel::Summary,
//!     &[(dimension::OPERATION, process_task::OPERATION), (dimension::SHARD_ID, "shardId-000000000000")],
//!     42.0,
//! );
//! metrics.shutdown().await; // sends what is left
//! # Ok(()) }
//! ```

mod aggregate;
mod cloudwatch;
mod publisher;
mod queue;

pub use aggregate::{Aggregator, MetricKey, StatisticSet};
pub use cloudwatch::CloudWatchSink;
pub use publisher::{
    BoxFuture, CloudWatchPublisher, MetricSink, PublisherSettings, PublisherStats,
};
pub use queue::DropOldest;
