//! What a shard task reports through the telemetry seam, under the KCL's names: the
//! `ProcessTask` metrics of each fetched batch and call, `InitializeTask` when a shard starts,
//! `ShutdownTask` when it stops.

use std::time::Duration;

use kinesis_client::telemetry::MetricsLevel::{Detailed, Summary};
use kinesis_client::{ShardId, Telemetry};
use kinesis_kcl_compat::metrics::{
    SUCCESS, TIME, Unit, dimension, initialize_task, process_task, shutdown_task,
};
use tokio::time::Instant;

/// One shard's metrics.
#[derive(Debug, Clone)]
pub(crate) struct ShardMetrics {
    telemetry: Telemetry,
    shard_id: ShardId,
}

impl ShardMetrics {
    pub(crate) fn new(telemetry: Telemetry, shard_id: ShardId) -> Self {
        Self {
            telemetry,
            shard_id,
        }
    }

    fn dims(&self, operation: &'static str) -> [(&'static str, &str); 2] {
        [
            (dimension::OPERATION, operation),
            (dimension::SHARD_ID, self.shard_id.as_str()),
        ]
    }

    /// One `GetRecords` call (`KinesisDataFetcher.getRecords.Success` / `.Time`).
    pub(crate) fn get_records(&self, started: Instant, ok: bool) {
        if self.telemetry.is_enabled(Detailed) {
            let dims = self.dims(process_task::OPERATION);
            self.telemetry
                .success(Detailed, process_task::GET_RECORDS_SUCCESS, &dims, ok);
            self.telemetry.time(
                Detailed,
                process_task::GET_RECORDS_TIME,
                &dims,
                started.elapsed(),
            );
        }
    }

    /// One `GetShardIterator` call.
    pub(crate) fn get_shard_iterator(&self, started: Instant, ok: bool) {
        if self.telemetry.is_enabled(Detailed) {
            let dims = self.dims(process_task::OPERATION);
            self.telemetry.success(
                Detailed,
                process_task::GET_SHARD_ITERATOR_SUCCESS,
                &dims,
                ok,
            );
            self.telemetry.time(
                Detailed,
                process_task::GET_SHARD_ITERATOR_TIME,
                &dims,
                started.elapsed(),
            );
        }
    }

    /// An iterator that expired and was replaced.
    pub(crate) fn expired_iterator(&self) {
        let dims = self.dims(process_task::OPERATION);
        self.telemetry
            .count(Summary, process_task::EXPIRED_ITERATOR, &dims, 1);
    }

    /// How far behind the tip of the shard the last response was.
    pub(crate) fn millis_behind_latest(&self, millis: i64) {
        let dims = self.dims(process_task::OPERATION);
        self.telemetry.gauge(
            Summary,
            process_task::MILLIS_BEHIND_LATEST,
            Unit::Milliseconds,
            &dims,
            millis as f64,
        );
    }

    /// One batch handed to the application: its Kinesis records and their bytes, and how long
    /// it took from the fetch's answer until the application's stream accepted it (the
    /// `ProcessTask` time of a stream whose records the application processes itself).
    pub(crate) fn batch(&self, records: usize, bytes: u64, fetched: Instant) {
        if self.telemetry.is_enabled(Summary) {
            let dims = self.dims(process_task::OPERATION);
            self.telemetry.count(
                Summary,
                process_task::RECORDS_PROCESSED,
                &dims,
                records as u64,
            );
            self.telemetry.distribution(
                Summary,
                process_task::DATA_BYTES_PROCESSED,
                Unit::Bytes,
                &dims,
                bytes as f64,
            );
            self.telemetry.success(Summary, SUCCESS, &dims, true);
            self.telemetry.time(Summary, TIME, &dims, fetched.elapsed());
        }
    }

    /// A fetch that failed for good (the `ProcessTask` failed).
    pub(crate) fn failed(&self) {
        let dims = self.dims(process_task::OPERATION);
        self.telemetry.success(Summary, SUCCESS, &dims, false);
    }

    /// The shard started: `InitializeTask` (per application, as the KCL).
    pub(crate) fn initialized(&self, took: Duration) {
        let dims = [(dimension::OPERATION, initialize_task::OPERATION)];
        self.telemetry
            .success(Summary, initialize_task::SUCCESS, &dims, true);
        self.telemetry
            .time(Summary, initialize_task::TIME, &dims, took);
    }

    /// The shard stopped: `ShutdownTask`, `ok` unless its final checkpoint failed.
    pub(crate) fn shut_down(&self, started: Instant, ok: bool) {
        let dims = self.dims(shutdown_task::OPERATION);
        self.telemetry
            .success(Summary, shutdown_task::SUCCESS, &dims, ok);
        self.telemetry
            .time(Summary, shutdown_task::TIME, &dims, started.elapsed());
    }
}
