//! The producer: batching within `PutRecords` limits, KPL-compatible aggregation by predicted
//! shard, per-shard throttling, retries, metrics and back-pressure, losing no record on shutdown.
//!
//! This crate is being built (see the project's issue list); no API is published yet.
