//! What a shard task reports through the telemetry seam, under the KCL's names: the
//! `ProcessTask` metrics of each fetched batch and call, `InitializeTask` when a shard starts,
//! `ShutdownTask` when it stops.

use std::time::Duration;

use kinesis_client::telemetry::Kind;
use kinesis_client::telemetry::MetricsLevel::{Detailed, Summary};
use kinesis_client::{ShardId, Telemetry};
use kinesis_kcl_compat::metrics::{
    SUCCESS, TIME, Unit, application_tracker, dimension, initialize_task, process_task,
    shard_sync_task, shutdown_task,
};
use tokio::time::Instant;

/// The metric of skipped poison records (under `ProcessTask`, per shard).
pub(crate) const POISON_RECORDS_SKIPPED: &str = "PoisonRecordsSkipped";

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

    /// How far behind the tip of the shard the last response was, per shard and for the whole
    /// application (`ApplicationTracker`, no shard dimension), as the KCL reports it.
    pub(crate) fn millis_behind_latest(&self, millis: i64) {
        if self.telemetry.is_enabled(Summary) {
            let dims = self.dims(process_task::OPERATION);
            let millis = millis as f64;
            self.telemetry.gauge(
                Summary,
                process_task::MILLIS_BEHIND_LATEST,
                Unit::Milliseconds,
                &dims,
                millis,
            );
            let app = [(dimension::OPERATION, application_tracker::OPERATION)];
            self.telemetry.gauge(
                Summary,
                application_tracker::MILLIS_BEHIND_LATEST,
                Unit::Milliseconds,
                &app,
                millis,
            );
        }
    }

    /// One fetched batch (empty ones too), as the KCL's `ProcessTask` reports it: a first
    /// `RecordsProcessed` and `DataBytesProcessed` of 0, then the batch's record count and one
    /// `DataBytesProcessed` value per record; its `Success`; and its `Time`, from the fetch's
    /// answer until the application's stream accepted the batch.
    pub(crate) fn process_task(&self, record_sizes: &[u64], fetched: Instant, ok: bool) {
        if !self.telemetry.is_enabled(Summary) {
            return;
        }
        let dims = self.dims(process_task::OPERATION);
        let t = &self.telemetry;
        let mut records = kinesis_client::telemetry::Summary::default();
        records.add(0.0);
        let mut bytes = records;
        if !record_sizes.is_empty() {
            records.add(record_sizes.len() as f64);
            for size in record_sizes {
                bytes.add(*size as f64);
            }
        }
        t.summary(
            Summary,
            process_task::RECORDS_PROCESSED,
            Unit::Count,
            Kind::Counter,
            &dims,
            &records,
        );
        t.summary(
            Summary,
            process_task::DATA_BYTES_PROCESSED,
            Unit::Bytes,
            Kind::Distribution,
            &dims,
            &bytes,
        );
        t.success(Summary, SUCCESS, &dims, ok);
        t.time(Summary, TIME, &dims, fetched.elapsed());
    }

    /// How long the application spent on one batch of its shard stream: from taking the
    /// batch's first record until asking for the record after its last
    /// (`RecordProcessor.processRecords.Time`).
    pub(crate) fn process_records_time(&self, took: Duration) {
        let dims = self.dims(process_task::OPERATION);
        self.telemetry.time(
            Summary,
            process_task::RECORD_PROCESSOR_PROCESS_RECORDS_TIME,
            &dims,
            took,
        );
    }

    /// A record that could not be deserialized was skipped (`PoisonRecordsSkipped`, Count,
    /// SUMMARY: not a KCL metric; the KCL hands payloads over undecoded).
    pub(crate) fn poison_record_skipped(&self) {
        let dims = self.dims(process_task::OPERATION);
        self.telemetry
            .count(Summary, POISON_RECORDS_SKIPPED, &dims, 1);
    }

    /// The shard started: `InitializeTask`'s `RecordProcessor.initialize.Time` (per
    /// application), the time from the lease's acquisition until its stream was ready.
    pub(crate) fn initialized(&self, took: Duration) {
        let dims = [(dimension::OPERATION, initialize_task::OPERATION)];
        self.telemetry.time(
            Summary,
            initialize_task::RECORD_PROCESSOR_INITIALIZE_TIME,
            &dims,
            took,
        );
    }

    /// The shard stopped: `ShutdownTask`'s `RecordProcessor.shutdown.Time`, the time from the
    /// stop until the application was done with the stream (the final checkpoint follows).
    pub(crate) fn shut_down(&self, took: Duration) {
        // Per application, as the KCL's (its shutdown scope has no shard dimension).
        let dims = [(dimension::OPERATION, shutdown_task::OPERATION)];
        self.telemetry.time(
            Summary,
            shutdown_task::RECORD_PROCESSOR_SHUTDOWN_TIME,
            &dims,
            took,
        );
    }
}

/// The consumer's own start (`Scheduler:Initialize`, `Initialize.Success`).
pub(crate) fn scheduler_initialized(telemetry: &Telemetry, ok: bool) {
    let dims = [(dimension::OPERATION, "Scheduler:Initialize")];
    telemetry.success(Summary, "Initialize.Success", &dims, ok);
}

/// One shard sync: `ShardSyncTask` `SyncShards.Success` (DETAILED), `Success` and `Time`.
pub(crate) fn shard_sync(telemetry: &Telemetry, started: Instant, ok: bool) {
    let dims = [(dimension::OPERATION, shard_sync_task::OPERATION)];
    telemetry.success(Detailed, shard_sync_task::SYNC_SHARDS, &dims, ok);
    telemetry.success(Summary, shard_sync_task::SUCCESS, &dims, ok);
    telemetry.time(Summary, shard_sync_task::TIME, &dims, started.elapsed());
}
