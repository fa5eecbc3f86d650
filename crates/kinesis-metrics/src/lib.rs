//! CloudWatch metrics under the KCL's and KPL's names.
//!
//! A [`CloudWatchPublisher`] is a recorder on the workspace's telemetry seam
//! ([`kinesis_client::telemetry`]): it takes the measurements the consumer, the lease
//! coordinator, the producer and the operation stack report (under the names listed in
//! `kinesis_kcl_compat::metrics`), aggregates each metric's values per interval into one
//! statistic set ([`Aggregator`]), and sends the sets with `PutMetricData` from a background
//! task, in batches, through the client stack ([`CloudWatchSink`]). The application never waits
//! on metrics: recording is a map update, and when CloudWatch is slow or down the queue
//! ([`DropOldest`]) keeps the newest data up to its bound and counts what it drops
//! ([`PublisherStats`]).
//!
//! The defaults are the KCL's: 10 s buffer, 10 000 queued data, 20 data per call, DETAILED level,
//! every dimension enabled.
//!
//! Most applications do not build a publisher themselves: the consumer's and the producer's
//! builders do it in one line. By hand:
//!
//! ```no_run
//! use std::sync::Arc;
//! use kinesis_client::{ClientConfig, Telemetry};
//! use kinesis_kcl_compat::metrics::{dimension, process_task, MetricsLevel};
//! use kinesis_metrics::{CloudWatchPublisher, CloudWatchSink, PublisherSettings};
//!
//! # async fn run() -> Result<(), kinesis_client::Error> {
//! let config = ClientConfig::from_env().await?;
//! let metrics = CloudWatchPublisher::start(
//!     PublisherSettings::new("my-application"),
//!     Arc::new(CloudWatchSink::new(&config)),
//! );
//! let telemetry = Telemetry::new(metrics.clone());
//! telemetry.count(
//!     MetricsLevel::Summary,
//!     process_task::RECORDS_PROCESSED,
//!     &[(dimension::OPERATION, process_task::OPERATION), (dimension::SHARD_ID, "shardId-000000000000")],
//!     42,
//! );
//! metrics.shutdown().await; // sends what is left
//! # Ok(()) }
//! ```

mod aggregate;
mod cloudwatch;
#[cfg(feature = "metrics-facade")]
mod facade;
mod publisher;
mod queue;

pub use aggregate::{Aggregator, MetricKey, StatisticSet};
pub use cloudwatch::CloudWatchSink;
#[cfg(feature = "metrics-facade")]
pub use facade::MetricsFacade;
pub use publisher::{
    BoxFuture, CloudWatchPublisher, DiscardSink, MetricSink, PublisherSettings, PublisherStats,
};
pub use queue::DropOldest;
