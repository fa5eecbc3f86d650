//! The producer: batching within `PutRecords` limits, KPL-compatible aggregation by predicted
//! shard, per-shard throttling, retries, metrics and back-pressure, losing no record on shutdown.

mod error;
mod metrics;
mod pipeline;
mod producer;
mod record;
mod settings;
mod shard_map;
mod throttle;

pub use error::{ProduceError, ProduceErrorKind};
pub use metrics::ProducerMetrics;
pub use producer::{ProduceHandle, Producer, ProducerBuilder, TrySendError};
pub use record::{ProduceResult, ProducerRecord};
pub use settings::{AggregationSettings, ProducerSettings};
pub use throttle::ThrottleSettings;
