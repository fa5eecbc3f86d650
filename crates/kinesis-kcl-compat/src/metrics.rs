//! The CloudWatch metric vocabulary of the Java KCL (2.x / 3.x) and of the KPL, as data.
//!
//! Dashboards and alarms built for a Java KCL application keep working when a worker from this
//! workspace publishes under the same names. This module holds those names, nothing else:
//!
//! - [`dimension`]: the dimension names (`Operation`, `ShardId`, `WorkerIdentifier`, `StreamId`);
//! - one module per KCL operation ([`renew_all_leases`], [`take_leases`], [`process_task`], ...),
//!   each with its `OPERATION` (the value of the `Operation` dimension), one constant per metric
//!   name, and `SPEC`, an [`OperationSpec`] listing every metric with its [`Unit`] and
//!   [`MetricsLevel`];
//! - [`KCL_OPERATIONS`]: every operation's spec, for lookups and tests;
//! - [`publishing`]: the publisher's defaults (10 s buffer, 10 000 queued datums, batches of 20);
//! - [`kpl`]: the KPL's namespace, dimensions and metric names, for the producer.
//!
//! The namespace of KCL metrics is the application name, so it has no constant here.
//!
//! Names and levels follow the KCL source (v3.5.1), which differs from the AWS developer guide in
//! two places: the shard-iterator call is reported as `KinesisDataFetcher.getShardIterator`
//! (under `ProcessTask`, not `InitializeTask`), and the task-level `Success`/`Time` of every
//! task come from `MetricsCollectingTaskDecorator` at the SUMMARY level.
//!
//! ```
//! use kinesis_kcl_compat::metrics::{self, dimension, renew_all_leases, MetricsLevel, Unit};
//!
//! // What a worker publishes after each renewal pass:
//! assert_eq!(renew_all_leases::OPERATION, "RenewAllLeases");
//! let current = renew_all_leases::SPEC.metric(renew_all_leases::CURRENT_LEASES).unwrap();
//! assert_eq!((current.unit, current.level), (Unit::Count, MetricsLevel::Summary));
//! assert_eq!(renew_all_leases::SPEC.dimensions, &[dimension::OPERATION, dimension::WORKER_IDENTIFIER]);
//!
//! // A DETAILED metric is dropped when the configured level is SUMMARY.
//! let renew_time = renew_all_leases::SPEC.metric(renew_all_leases::RENEW_LEASE_TIME).unwrap();
//! assert!(!MetricsLevel::Summary.enables(renew_time.level));
//! assert_eq!(metrics::success_metric("RenewLease"), renew_all_leases::RENEW_LEASE_SUCCESS);
//! ```

use std::time::Duration;

/// The unit, level and name-error types live in the workspace's telemetry seam, where every
/// component reports; they are re-exported here with the names that use them.
pub use kinesis_client::telemetry::{MetricsLevel, Unit, UnknownName};

/// Dimension names of KCL metrics (`metrics/MetricsUtil.java`).
///
/// KCL 2.x and 3.x enable all of them by default; `Operation` is always present, `StreamId` is
/// added to per-shard metrics of multi-stream applications.
///
/// ```
/// use kinesis_kcl_compat::metrics::dimension;
///
/// assert_eq!(dimension::ALL, ["Operation", "ShardId", "WorkerIdentifier", "StreamId"]);
/// ```
pub mod dimension {
    /// The operation (task or component) that emitted the metric; always present.
    pub const OPERATION: &str = "Operation";
    /// The shard the metric is about (per-shard metrics).
    pub const SHARD_ID: &str = "ShardId";
    /// The worker that emitted the metric (lease renewal and taking).
    pub const WORKER_IDENTIFIER: &str = "WorkerIdentifier";
    /// The stream identifier `account:stream:epoch` (multi-stream applications, per-shard metrics).
    pub const STREAM_ID: &str = "StreamId";
    /// Every dimension name, in the order above.
    pub const ALL: [&str; 4] = [OPERATION, SHARD_ID, WORKER_IDENTIFIER, STREAM_ID];
}

/// Name of the success metric every KCL operation emits (Count, 0 or 1).
pub const SUCCESS: &str = "Success";
/// Name of the latency metric every KCL operation emits (Milliseconds).
pub const TIME: &str = "Time";

/// The name `MetricsUtil.addSuccess` gives a prefixed success metric: `<prefix>.Success`.
///
/// ```
/// assert_eq!(kinesis_kcl_compat::metrics::success_metric("TakeLease"), "TakeLease.Success");
/// ```
pub fn success_metric(prefix: &str) -> String {
    format!("{prefix}.{SUCCESS}")
}

/// The name `MetricsUtil.addLatency` gives a prefixed latency metric: `<prefix>.Time`.
///
/// ```
/// assert_eq!(kinesis_kcl_compat::metrics::time_metric("RenewLease"), "RenewLease.Time");
/// ```
pub fn time_metric(prefix: &str) -> String {
    format!("{prefix}.{TIME}")
}

/// One metric: its exact name, unit and level.
///
/// ```
/// use kinesis_kcl_compat::metrics::{process_task, MetricsLevel, Unit};
///
/// let m = process_task::SPEC.metric(process_task::DATA_BYTES_PROCESSED).unwrap();
/// assert_eq!(m.unit, Unit::Bytes);
/// assert_eq!(m.level, MetricsLevel::Summary);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MetricSpec {
    /// The metric name, e.g. `RenewLease.Success`.
    pub name: &'static str,
    /// The unit it is published with.
    pub unit: Unit,
    /// The level at which it is published.
    pub level: MetricsLevel,
}

impl MetricSpec {
    const fn new(name: &'static str, unit: Unit, level: MetricsLevel) -> Self {
        Self { name, unit, level }
    }
}

/// One KCL operation: the value of its `Operation` dimension, the other dimensions its metrics
/// carry, and its metrics.
///
/// ```
/// use kinesis_kcl_compat::metrics::{take_leases, KCL_OPERATIONS};
///
/// assert!(KCL_OPERATIONS.iter().any(|op| op.operation == take_leases::OPERATION));
/// assert!(take_leases::SPEC.metric("NoSuchMetric").is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationSpec {
    /// The `Operation` dimension value.
    pub operation: &'static str,
    /// Every dimension name its metrics carry, `Operation` first. `StreamId` is listed for
    /// per-shard operations and is only present in multi-stream applications.
    pub dimensions: &'static [&'static str],
    /// Its metrics.
    pub metrics: &'static [MetricSpec],
    /// Whether the operation exists only from KCL 3.x on.
    pub kcl3_only: bool,
}

impl OperationSpec {
    /// The metric called `name`, if the operation publishes one.
    pub fn metric(&self, name: &str) -> Option<&'static MetricSpec> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

use MetricsLevel::{Detailed as D, Summary as S};
use Unit::{Bytes, Count, Milliseconds as Ms};

const PER_APP: &[&str] = &[dimension::OPERATION];
const PER_WORKER: &[&str] = &[dimension::OPERATION, dimension::WORKER_IDENTIFIER];
const PER_SHARD: &[&str] = &[
    dimension::OPERATION,
    dimension::SHARD_ID,
    dimension::STREAM_ID,
];

/// `InitializeTask`: starting a shard consumer (per application).
///
/// ```
/// use kinesis_kcl_compat::metrics::initialize_task;
///
/// assert_eq!(initialize_task::OPERATION, "InitializeTask");
/// assert_eq!(initialize_task::SPEC.operation, initialize_task::OPERATION);
/// ```
pub mod initialize_task {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "InitializeTask";
    /// Time spent in the record processor's `initialize` (ms, SUMMARY).
    pub const RECORD_PROCESSOR_INITIALIZE_TIME: &str = "RecordProcessor.initialize.Time";
    /// Whether the task succeeded (Count 0/1, SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the task took (ms, SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[
            MetricSpec::new(RECORD_PROCESSOR_INITIALIZE_TIME, Ms, S),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: false,
    };
}

/// `ShutdownTask`: ending a shard consumer (lease lost, shard end, shutdown).
///
/// ```
/// use kinesis_kcl_compat::metrics::shutdown_task;
///
/// assert_eq!(shutdown_task::OPERATION, "ShutdownTask");
/// assert_eq!(shutdown_task::SPEC.operation, shutdown_task::OPERATION);
/// ```
pub mod shutdown_task {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "ShutdownTask";
    /// Whether creating a child lease at shard end succeeded (DETAILED).
    pub const CREATE_LEASE_SUCCESS: &str = "CreateLease.Success";
    /// Time to create a child lease (DETAILED).
    pub const CREATE_LEASE_TIME: &str = "CreateLease.Time";
    /// Whether the final lease update succeeded (DETAILED).
    pub const UPDATE_LEASE_SUCCESS: &str = "UpdateLease.Success";
    /// Time of the final lease update (DETAILED).
    pub const UPDATE_LEASE_TIME: &str = "UpdateLease.Time";
    /// Time spent in the record processor's shutdown callbacks (SUMMARY).
    pub const RECORD_PROCESSOR_SHUTDOWN_TIME: &str = "RecordProcessor.shutdown.Time";
    /// A merged child whose other parent is not yet known (SUMMARY).
    pub const MISSING_MERGE_PARENT: &str = "MissingMergeParent";
    /// A merged child whose other parent has no lease (SUMMARY).
    pub const MISSING_MERGE_PARENT_LEASE: &str = "MissingMergeParentLease";
    /// Whether the task succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the task took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_SHARD,
        metrics: &[
            MetricSpec::new(CREATE_LEASE_SUCCESS, Count, D),
            MetricSpec::new(CREATE_LEASE_TIME, Ms, D),
            MetricSpec::new(UPDATE_LEASE_SUCCESS, Count, D),
            MetricSpec::new(UPDATE_LEASE_TIME, Ms, D),
            MetricSpec::new(RECORD_PROCESSOR_SHUTDOWN_TIME, Ms, S),
            MetricSpec::new(MISSING_MERGE_PARENT, Count, S),
            MetricSpec::new(MISSING_MERGE_PARENT_LEASE, Count, S),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: false,
    };
}

/// `ShardSyncTask`: creating leases for new shards.
///
/// ```
/// use kinesis_kcl_compat::metrics::shard_sync_task;
///
/// assert_eq!(shard_sync_task::OPERATION, "ShardSyncTask");
/// assert_eq!(shard_sync_task::SPEC.operation, shard_sync_task::OPERATION);
/// ```
pub mod shard_sync_task {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "ShardSyncTask";
    /// Whether creating a lease succeeded (DETAILED).
    pub const CREATE_LEASE_SUCCESS: &str = "CreateLease.Success";
    /// Time to create a lease (DETAILED).
    pub const CREATE_LEASE_TIME: &str = "CreateLease.Time";
    /// Whether the shard sync succeeded (Count 0/1, DETAILED).
    pub const SYNC_SHARDS: &str = "SyncShards.Success";
    /// Whether the task succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the task took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[
            MetricSpec::new(CREATE_LEASE_SUCCESS, Count, D),
            MetricSpec::new(CREATE_LEASE_TIME, Ms, D),
            MetricSpec::new(SYNC_SHARDS, Count, D),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: false,
    };
}

/// `BlockOnParentShardTask`: waiting until every parent shard reached SHARD_END.
///
/// ```
/// use kinesis_kcl_compat::metrics::block_on_parent_shard_task;
///
/// assert_eq!(block_on_parent_shard_task::OPERATION, "BlockOnParentShardTask");
/// assert_eq!(block_on_parent_shard_task::SPEC.operation, block_on_parent_shard_task::OPERATION);
/// ```
pub mod block_on_parent_shard_task {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "BlockOnParentShardTask";
    /// Whether the task succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the task took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: false,
    };
}

/// `PeriodicShardSyncManager`: the leader's periodic check for holes in the lease table.
///
/// ```
/// use kinesis_kcl_compat::metrics::periodic_shard_sync_manager;
///
/// assert_eq!(periodic_shard_sync_manager::OPERATION, "PeriodicShardSyncManager");
/// assert_eq!(periodic_shard_sync_manager::SPEC.operation, periodic_shard_sync_manager::OPERATION);
/// ```
pub mod periodic_shard_sync_manager {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "PeriodicShardSyncManager";
    /// Streams that need a shard sync (SUMMARY).
    pub const NUM_STREAMS_TO_SYNC: &str = "NumStreamsToSync";
    /// Streams whose leases do not cover the hash-key space (SUMMARY).
    pub const NUM_STREAMS_WITH_PARTIAL_LEASES: &str = "NumStreamsWithPartialLeases";
    /// Shard syncs skipped because one was already queued (SUMMARY).
    pub const NUM_SKIPPED_SHARD_SYNC_TASK: &str = "NumSkippedShardSyncTask";
    /// Whether the run succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the run took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[
            MetricSpec::new(NUM_STREAMS_TO_SYNC, Count, S),
            MetricSpec::new(NUM_STREAMS_WITH_PARTIAL_LEASES, Count, S),
            MetricSpec::new(NUM_SKIPPED_SHARD_SYNC_TASK, Count, S),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: false,
    };
}

/// `MultiStreamTracker`: the streams a multi-stream application follows.
///
/// ```
/// use kinesis_kcl_compat::metrics::multi_stream_tracker;
///
/// assert_eq!(multi_stream_tracker::OPERATION, "MultiStreamTracker");
/// assert_eq!(multi_stream_tracker::SPEC.operation, multi_stream_tracker::OPERATION);
/// ```
pub mod multi_stream_tracker {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "MultiStreamTracker";
    /// Streams currently consumed (SUMMARY).
    pub const ACTIVE_STREAMS_COUNT: &str = "ActiveStreams.Count";
    /// Streams waiting for their leases to be deleted (SUMMARY).
    pub const STREAMS_PENDING_DELETION_COUNT: &str = "StreamsPendingDeletion.Count";
    /// Streams whose leases were deleted (SUMMARY).
    pub const DELETED_STREAMS_COUNT: &str = "DeletedStreams.Count";
    /// Streams that no longer exist and are being deleted (SUMMARY).
    pub const NON_EXISTING_STREAM_DELETE_COUNT: &str = "NonExistingStreamDelete.Count";
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[
            MetricSpec::new(ACTIVE_STREAMS_COUNT, Count, S),
            MetricSpec::new(STREAMS_PENDING_DELETION_COUNT, Count, S),
            MetricSpec::new(DELETED_STREAMS_COUNT, Count, S),
            MetricSpec::new(NON_EXISTING_STREAM_DELETE_COUNT, Count, S),
        ],
        kcl3_only: false,
    };
}

/// `RenewAllLeases`: one pass of the lease renewer (per worker).
///
/// ```
/// use kinesis_kcl_compat::metrics::renew_all_leases;
///
/// assert_eq!(renew_all_leases::OPERATION, "RenewAllLeases");
/// assert_eq!(renew_all_leases::SPEC.operation, renew_all_leases::OPERATION);
/// ```
pub mod renew_all_leases {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "RenewAllLeases";
    /// Whether one lease renewal succeeded (DETAILED).
    pub const RENEW_LEASE_SUCCESS: &str = "RenewLease.Success";
    /// Time of one lease renewal (DETAILED).
    pub const RENEW_LEASE_TIME: &str = "RenewLease.Time";
    /// Leases the worker holds after the pass (SUMMARY).
    pub const CURRENT_LEASES: &str = "CurrentLeases";
    /// Leases the pass found taken by another worker (SUMMARY).
    pub const LOST_LEASES: &str = "LostLeases";
    /// Whether the pass succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the pass took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_WORKER,
        metrics: &[
            MetricSpec::new(RENEW_LEASE_SUCCESS, Count, D),
            MetricSpec::new(RENEW_LEASE_TIME, Ms, D),
            MetricSpec::new(CURRENT_LEASES, Count, S),
            MetricSpec::new(LOST_LEASES, Count, S),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: false,
    };
}

/// `TakeLeases`: one pass of the 2.x lease taker (per worker).
///
/// ```
/// use kinesis_kcl_compat::metrics::take_leases;
///
/// assert_eq!(take_leases::OPERATION, "TakeLeases");
/// assert_eq!(take_leases::SPEC.operation, take_leases::OPERATION);
/// ```
pub mod take_leases {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "TakeLeases";
    /// Whether scanning the lease table succeeded (DETAILED).
    pub const LIST_LEASES_SUCCESS: &str = "ListLeases.Success";
    /// Time to scan the lease table (DETAILED).
    pub const LIST_LEASES_TIME: &str = "ListLeases.Time";
    /// Whether taking one lease succeeded (DETAILED).
    pub const TAKE_LEASE_SUCCESS: &str = "TakeLease.Success";
    /// Time to take one lease (DETAILED).
    pub const TAKE_LEASE_TIME: &str = "TakeLease.Time";
    /// Workers seen in the table (SUMMARY).
    pub const NUM_WORKERS: &str = "NumWorkers";
    /// Leases this worker needs to reach its target (DETAILED).
    pub const NEEDED_LEASES: &str = "NeededLeases";
    /// Leases this pass tries to take (DETAILED).
    pub const LEASES_TO_TAKE: &str = "LeasesToTake";
    /// Leases taken (SUMMARY).
    pub const TAKEN_LEASES: &str = "TakenLeases";
    /// Leases the pass failed to take (SUMMARY).
    pub const UNTAKEN_LEASES: &str = "UntakenLeases";
    /// Leases in the table (DETAILED).
    pub const TOTAL_LEASES: &str = "TotalLeases";
    /// Expired or unowned leases (SUMMARY).
    pub const EXPIRED_LEASES: &str = "ExpiredLeases";
    /// Leases over `maxLeasesForWorker` (SUMMARY).
    pub const LEASE_SPILLOVER: &str = "LeaseSpillover";
    /// Leases not renewed for 3 × failover time (SUMMARY).
    pub const VERY_OLD_LEASES: &str = "VeryOldLeases";
    /// Whether the pass succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the pass took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_WORKER,
        metrics: &[
            MetricSpec::new(LIST_LEASES_SUCCESS, Count, D),
            MetricSpec::new(LIST_LEASES_TIME, Ms, D),
            MetricSpec::new(TAKE_LEASE_SUCCESS, Count, D),
            MetricSpec::new(TAKE_LEASE_TIME, Ms, D),
            MetricSpec::new(NUM_WORKERS, Count, S),
            MetricSpec::new(NEEDED_LEASES, Count, D),
            MetricSpec::new(LEASES_TO_TAKE, Count, D),
            MetricSpec::new(TAKEN_LEASES, Count, S),
            MetricSpec::new(UNTAKEN_LEASES, Count, S),
            MetricSpec::new(TOTAL_LEASES, Count, D),
            MetricSpec::new(EXPIRED_LEASES, Count, S),
            MetricSpec::new(LEASE_SPILLOVER, Count, S),
            MetricSpec::new(VERY_OLD_LEASES, Count, S),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: false,
    };
}

/// `ProcessTask`: fetching and processing one batch of a shard (per shard).
///
/// ```
/// use kinesis_kcl_compat::metrics::process_task;
///
/// assert_eq!(process_task::OPERATION, "ProcessTask");
/// assert_eq!(process_task::SPEC.operation, process_task::OPERATION);
/// ```
pub mod process_task {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "ProcessTask";
    /// Whether a `GetRecords` call succeeded (DETAILED).
    pub const GET_RECORDS_SUCCESS: &str = "KinesisDataFetcher.getRecords.Success";
    /// Time of a `GetRecords` call (DETAILED).
    pub const GET_RECORDS_TIME: &str = "KinesisDataFetcher.getRecords.Time";
    /// Whether a `GetShardIterator` call succeeded (DETAILED).
    pub const GET_SHARD_ITERATOR_SUCCESS: &str = "KinesisDataFetcher.getShardIterator.Success";
    /// Time of a `GetShardIterator` call (DETAILED).
    pub const GET_SHARD_ITERATOR_TIME: &str = "KinesisDataFetcher.getShardIterator.Time";
    /// Whether a checkpoint write succeeded (DETAILED).
    pub const UPDATE_LEASE_SUCCESS: &str = "UpdateLease.Success";
    /// Time of a checkpoint write (DETAILED).
    pub const UPDATE_LEASE_TIME: &str = "UpdateLease.Time";
    /// Payload bytes processed (Bytes, SUMMARY).
    pub const DATA_BYTES_PROCESSED: &str = "DataBytesProcessed";
    /// Records processed (SUMMARY).
    pub const RECORDS_PROCESSED: &str = "RecordsProcessed";
    /// Shard iterators that expired and were renewed (SUMMARY).
    pub const EXPIRED_ITERATOR: &str = "ExpiredIterator";
    /// How far behind the tip of the shard the batch was (ms, SUMMARY).
    pub const MILLIS_BEHIND_LATEST: &str = "MillisBehindLatest";
    /// Time spent in the record processor's `processRecords` (SUMMARY).
    pub const RECORD_PROCESSOR_PROCESS_RECORDS_TIME: &str = "RecordProcessor.processRecords.Time";
    /// Whether the task succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the task took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_SHARD,
        metrics: &[
            MetricSpec::new(GET_RECORDS_SUCCESS, Count, D),
            MetricSpec::new(GET_RECORDS_TIME, Ms, D),
            MetricSpec::new(GET_SHARD_ITERATOR_SUCCESS, Count, D),
            MetricSpec::new(GET_SHARD_ITERATOR_TIME, Ms, D),
            MetricSpec::new(UPDATE_LEASE_SUCCESS, Count, D),
            MetricSpec::new(UPDATE_LEASE_TIME, Ms, D),
            MetricSpec::new(DATA_BYTES_PROCESSED, Bytes, S),
            MetricSpec::new(RECORDS_PROCESSED, Count, S),
            MetricSpec::new(EXPIRED_ITERATOR, Count, S),
            MetricSpec::new(MILLIS_BEHIND_LATEST, Ms, S),
            MetricSpec::new(RECORD_PROCESSOR_PROCESS_RECORDS_TIME, Ms, S),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: false,
    };
}

/// `ApplicationTracker`: the application-wide lag, without a `ShardId` dimension.
///
/// ```
/// use kinesis_kcl_compat::metrics::application_tracker;
///
/// assert_eq!(application_tracker::OPERATION, "ApplicationTracker");
/// assert_eq!(application_tracker::SPEC.operation, application_tracker::OPERATION);
/// ```
pub mod application_tracker {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "ApplicationTracker";
    /// How far behind the tip each shard's batch was, aggregated per application (SUMMARY).
    pub const MILLIS_BEHIND_LATEST: &str = "MillisBehindLatest";
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[MetricSpec::new(MILLIS_BEHIND_LATEST, Ms, S)],
        kcl3_only: false,
    };
}

/// `LeaseRenewerInitialize`: loading the worker's own leases at start.
///
/// ```
/// use kinesis_kcl_compat::metrics::lease_renewer_initialize;
///
/// assert_eq!(lease_renewer_initialize::OPERATION, "LeaseRenewerInitialize");
/// assert_eq!(lease_renewer_initialize::SPEC.operation, lease_renewer_initialize::OPERATION);
/// ```
pub mod lease_renewer_initialize {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "LeaseRenewerInitialize";
    /// 1 when initialisation failed, else 0 (DETAILED).
    pub const FAULT: &str = "Fault";
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[MetricSpec::new(FAULT, Count, D)],
        kcl3_only: false,
    };
}

/// `LeaseAssignmentManager` (KCL 3.x): one run of the leader's lease assignment.
///
/// ```
/// use kinesis_kcl_compat::metrics::lease_assignment_manager;
///
/// assert_eq!(lease_assignment_manager::OPERATION, "LeaseAssignmentManager");
/// assert_eq!(lease_assignment_manager::SPEC.operation, lease_assignment_manager::OPERATION);
/// ```
pub mod lease_assignment_manager {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "LeaseAssignmentManager";
    /// Leases in the table (SUMMARY).
    pub const TOTAL_LEASES: &str = "TotalLeases";
    /// Workers with active worker metrics (SUMMARY).
    pub const NUM_WORKERS: &str = "NumWorkers";
    /// Expired or unassigned leases (SUMMARY).
    pub const EXPIRED_LEASES: &str = "ExpiredLeases";
    /// Leases that could not be assigned within the limits (SUMMARY).
    pub const LEASE_SPILLOVER: &str = "LeaseSpillover";
    /// Leases moved by variance balancing (SUMMARY).
    pub const NUM_OF_LEASES_REASSIGNMENT: &str = "NumOfLeasesReassignment";
    /// Workers whose metrics report a failure (SUMMARY).
    pub const NUM_WORKERS_WITH_FAILING_WORKER_METRIC: &str = "NumWorkersWithFailingWorkerMetric";
    /// Assignment writes that failed (DETAILED).
    pub const FAILED_ASSIGNMENT_COUNT: &str = "FailedAssignmentCount";
    /// The leader gave up leadership after repeated failures (SUMMARY).
    pub const FORCE_LEADER_RELEASE: &str = "ForceLeaderRelease";
    /// Time to load leases and worker metrics (DETAILED).
    pub const LEASE_AND_WORKER_METRICS_LOAD_TIME: &str = "LeaseAndWorkerMetricsLoad.Time";
    /// Time to assign expired or unassigned leases (DETAILED).
    pub const ASSIGN_EXPIRED_OR_UNASSIGNED_LEASES_TIME: &str =
        "AssignExpiredOrUnassignedLeases.Time";
    /// Time of variance balancing (DETAILED).
    pub const BALANCE_WORKER_VARIANCE_TIME: &str = "BalanceWorkerVariance.Time";
    /// Whether writing the assignments succeeded (DETAILED).
    pub const PARALLELY_ASSIGN_LEASES_SUCCESS: &str = "ParallelyAssignLeases.Success";
    /// Time to write the assignments (DETAILED).
    pub const PARALLELY_ASSIGN_LEASES_TIME: &str = "ParallelyAssignLeases.Time";
    /// Whether the run succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the run took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[
            MetricSpec::new(TOTAL_LEASES, Count, S),
            MetricSpec::new(NUM_WORKERS, Count, S),
            MetricSpec::new(EXPIRED_LEASES, Count, S),
            MetricSpec::new(LEASE_SPILLOVER, Count, S),
            MetricSpec::new(NUM_OF_LEASES_REASSIGNMENT, Count, S),
            MetricSpec::new(NUM_WORKERS_WITH_FAILING_WORKER_METRIC, Count, S),
            MetricSpec::new(FAILED_ASSIGNMENT_COUNT, Count, D),
            MetricSpec::new(FORCE_LEADER_RELEASE, Count, S),
            MetricSpec::new(LEASE_AND_WORKER_METRICS_LOAD_TIME, Ms, D),
            MetricSpec::new(ASSIGN_EXPIRED_OR_UNASSIGNED_LEASES_TIME, Ms, D),
            MetricSpec::new(BALANCE_WORKER_VARIANCE_TIME, Ms, D),
            MetricSpec::new(PARALLELY_ASSIGN_LEASES_SUCCESS, Count, D),
            MetricSpec::new(PARALLELY_ASSIGN_LEASES_TIME, Ms, D),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: true,
    };
}

/// `LeaseDiscovery` (KCL 3.x): a worker finding the leases the leader assigned to it.
///
/// ```
/// use kinesis_kcl_compat::metrics::lease_discovery;
///
/// assert_eq!(lease_discovery::OPERATION, "LeaseDiscovery");
/// assert_eq!(lease_discovery::SPEC.operation, lease_discovery::OPERATION);
/// ```
pub mod lease_discovery {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "LeaseDiscovery";
    /// Time to query the `LeaseOwnerToLeaseKeyIndex` (DETAILED).
    pub const LIST_LEASE_KEYS_FOR_WORKER_TIME: &str = "ListLeaseKeysForWorker.Time";
    /// Time to read the newly assigned leases (DETAILED).
    pub const FETCH_NEW_LEASES_TIME: &str = "FetchNewLeases.Time";
    /// Leases newly assigned to the worker (DETAILED).
    pub const NEW_LEASES_DISCOVERED: &str = "NewLeasesDiscovered";
    /// A lease whose owner changed between the query and the read (DETAILED).
    pub const OWNER_MISMATCH: &str = "OwnerMismatch";
    /// Reading a lease failed (SUMMARY). The name contains a colon.
    pub const GET_LEASE_ERROR: &str = "GetLease:Error";
    /// Whether the discovery succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the discovery took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_WORKER,
        metrics: &[
            MetricSpec::new(LIST_LEASE_KEYS_FOR_WORKER_TIME, Ms, D),
            MetricSpec::new(FETCH_NEW_LEASES_TIME, Ms, D),
            MetricSpec::new(NEW_LEASES_DISCOVERED, Count, D),
            MetricSpec::new(OWNER_MISMATCH, Count, D),
            MetricSpec::new(GET_LEASE_ERROR, Count, S),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: true,
    };
}

/// `WorkerMetricStatsReporter` (KCL 3.x): publishing the worker's utilisation.
///
/// ```
/// use kinesis_kcl_compat::metrics::worker_metric_stats_reporter;
///
/// assert_eq!(worker_metric_stats_reporter::OPERATION, "WorkerMetricStatsReporter");
/// assert_eq!(worker_metric_stats_reporter::SPEC.operation, worker_metric_stats_reporter::OPERATION);
/// ```
pub mod worker_metric_stats_reporter {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "WorkerMetricStatsReporter";
    /// Capturing the in-memory worker metrics failed (SUMMARY).
    pub const IN_MEMORY_METRIC_STATS_REPORTER_FAILURE: &str = "InMemoryMetricStatsReporterFailure";
    /// Whether the report succeeded (SUMMARY).
    pub const SUCCESS: &str = super::SUCCESS;
    /// How long the report took (SUMMARY).
    pub const TIME: &str = super::TIME;
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[
            MetricSpec::new(IN_MEMORY_METRIC_STATS_REPORTER_FAILURE, Count, S),
            MetricSpec::new(SUCCESS, Count, S),
            MetricSpec::new(TIME, Ms, S),
        ],
        kcl3_only: true,
    };
}

/// `Migration` (KCL 3.x): the 2.x → 3.x client-version migration.
///
/// ```
/// use kinesis_kcl_compat::metrics::migration;
///
/// assert_eq!(migration::OPERATION, "Migration");
/// assert_eq!(migration::SPEC.operation, migration::OPERATION);
/// ```
pub mod migration {
    use super::*;
    /// The `Operation` dimension value.
    pub const OPERATION: &str = "Migration";
    /// 1 when the `LeaseOwnerToLeaseKeyIndex` is active (SUMMARY).
    pub const GSI_READY_STATUS: &str = "GsiReadyStatus";
    /// 1 when every lease owner publishes worker metrics (SUMMARY).
    pub const WORKER_METRICS_READY_STATUS: &str = "WorkerMetricsReadyStatus";
    /// A migration step failed (SUMMARY).
    pub const FAULT: &str = "Fault";
    /// Every metric of the operation.
    pub const SPEC: OperationSpec = OperationSpec {
        operation: OPERATION,
        dimensions: PER_APP,
        metrics: &[
            MetricSpec::new(GSI_READY_STATUS, Count, S),
            MetricSpec::new(WORKER_METRICS_READY_STATUS, Count, S),
            MetricSpec::new(FAULT, Count, S),
        ],
        kcl3_only: true,
    };
}

/// Every KCL operation this module describes.
///
/// ```
/// use kinesis_kcl_compat::metrics::KCL_OPERATIONS;
///
/// let names: Vec<_> = KCL_OPERATIONS.iter().map(|op| op.operation).collect();
/// assert!(names.contains(&"ProcessTask"));
/// ```
pub const KCL_OPERATIONS: &[OperationSpec] = &[
    initialize_task::SPEC,
    shutdown_task::SPEC,
    shard_sync_task::SPEC,
    block_on_parent_shard_task::SPEC,
    periodic_shard_sync_manager::SPEC,
    multi_stream_tracker::SPEC,
    renew_all_leases::SPEC,
    take_leases::SPEC,
    process_task::SPEC,
    application_tracker::SPEC,
    lease_renewer_initialize::SPEC,
    lease_assignment_manager::SPEC,
    lease_discovery::SPEC,
    worker_metric_stats_reporter::SPEC,
    migration::SPEC,
];

/// The operation called `name`, if this module describes it.
///
/// ```
/// use kinesis_kcl_compat::metrics::{operation, take_leases};
///
/// assert_eq!(operation("TakeLeases"), Some(&take_leases::SPEC));
/// assert_eq!(operation("takeleases"), None);
/// ```
pub fn operation(name: &str) -> Option<&'static OperationSpec> {
    KCL_OPERATIONS.iter().find(|op| op.operation == name)
}

/// The KCL's CloudWatch publishing defaults (`metrics/MetricsConfig.java`,
/// `metrics/CloudWatchMetricsPublisher.java`).
///
/// Datums are accumulated as statistic sets (min, max, sum, count) per name and dimensions,
/// flushed every [`BUFFER_TIME`](publishing::BUFFER_TIME) and sent in `PutMetricData` calls of
/// at most [`BATCH_SIZE`](publishing::BATCH_SIZE) datums.
///
/// ```
/// use kinesis_kcl_compat::metrics::{publishing, MetricsLevel};
/// use std::time::Duration;
///
/// assert_eq!(publishing::BUFFER_TIME, Duration::from_secs(10));
/// assert_eq!(publishing::MAX_QUEUE_SIZE, 10_000);
/// assert_eq!(publishing::BATCH_SIZE, 20);
/// assert_eq!(publishing::DEFAULT_LEVEL, MetricsLevel::Detailed);
/// ```
pub mod publishing {
    use super::{Duration, MetricsLevel, dimension};

    /// `metricsBufferTimeMillis`: how long datums are buffered before a flush.
    pub const BUFFER_TIME: Duration = Duration::from_millis(10_000);
    /// `metricsMaxQueueSize`: datums buffered at most; more are dropped.
    pub const MAX_QUEUE_SIZE: usize = 10_000;
    /// Datums per `PutMetricData` call.
    pub const BATCH_SIZE: usize = 20;
    /// Timeout of one `PutMetricData` call.
    pub const PUT_TIMEOUT: Duration = Duration::from_millis(5_000);
    /// `metricsLevel`: the default configured level.
    pub const DEFAULT_LEVEL: MetricsLevel = MetricsLevel::Detailed;
    /// `metricsEnabledDimensions`: every dimension is enabled by default in KCL 2.x and 3.x.
    pub const DEFAULT_ENABLED_DIMENSIONS: [&str; 4] = dimension::ALL;
}

/// The KPL's metrics (`aws/metrics/metrics_constants.{h,cc}`), for the producer.
///
/// Each metric is published at every granularity up to the configured one: globally (no
/// dimension but the metric name), per `StreamName`, and per `StreamName` + `ShardId`;
/// `ErrorsByCode` also carries `ErrorCode`. Data are uploaded once a minute in one-minute buckets.
///
/// ```
/// use kinesis_kcl_compat::metrics::{kpl, MetricsLevel, Unit};
///
/// let m = kpl::metric(kpl::USER_RECORDS_PUT).unwrap();
/// assert_eq!((m.unit, m.level), (Unit::Count, MetricsLevel::Summary));
/// assert_eq!(kpl::NAMESPACE, "KinesisProducerLibrary");
/// assert!(kpl::Granularity::Stream < kpl::Granularity::Shard);
/// ```
pub mod kpl {
    use super::{Bytes, Count, D, MetricSpec, Ms, S};
    use std::time::Duration;

    /// The default CloudWatch namespace (`metricsNamespace`).
    pub const NAMESPACE: &str = "KinesisProducerLibrary";
    /// How often the KPL uploads its metrics (`metricsUploadDelay`, 60 000 ms).
    pub const UPLOAD_DELAY: Duration = Duration::from_secs(60);

    /// Dimension names of KPL metrics.
    pub mod dimension {
        /// The stream (stream and shard granularity).
        pub const STREAM_NAME: &str = "StreamName";
        /// The shard (shard granularity).
        pub const SHARD_ID: &str = "ShardId";
        /// The error code (`ErrorsByCode` only).
        pub const ERROR_CODE: &str = "ErrorCode";
    }

    /// How finely the KPL breaks its metrics down (`metricsGranularity`, default `shard`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    pub enum Granularity {
        /// No stream or shard dimension.
        Global,
        /// Per `StreamName`.
        Stream,
        /// Per `StreamName` and `ShardId` (the default).
        #[default]
        Shard,
    }

    /// User records accepted by `addUserRecord` (Count, DETAILED).
    pub const USER_RECORDS_RECEIVED: &str = "UserRecordsReceived";
    /// User records waiting to be sent (Count, DETAILED).
    pub const USER_RECORDS_PENDING: &str = "UserRecordsPending";
    /// User records put successfully (Count, SUMMARY).
    pub const USER_RECORDS_PUT: &str = "UserRecordsPut";
    /// Bytes of user records put successfully (Bytes, DETAILED).
    pub const USER_RECORDS_DATA_PUT: &str = "UserRecordsDataPut";
    /// Kinesis records (possibly aggregated) put successfully (Count, SUMMARY).
    pub const KINESIS_RECORDS_PUT: &str = "KinesisRecordsPut";
    /// Bytes of Kinesis records put successfully (Bytes, DETAILED).
    pub const KINESIS_RECORDS_DATA_PUT: &str = "KinesisRecordsDataPut";
    /// Errors, with an `ErrorCode` dimension (Count, SUMMARY).
    pub const ERRORS_BY_CODE: &str = "ErrorsByCode";
    /// Errors of every code (Count, SUMMARY).
    pub const ALL_ERRORS: &str = "AllErrors";
    /// Retries per user record (Count, DETAILED).
    pub const RETRIES_PER_RECORD: &str = "RetriesPerRecord";
    /// User records that expired before they were put (Count, SUMMARY).
    pub const USER_RECORD_EXPIRED: &str = "UserRecordExpired";
    /// Time from `addUserRecord` to the record being sent (Milliseconds, SUMMARY).
    pub const BUFFERING_TIME: &str = "BufferingTime";
    /// Time of a `PutRecords` request (Milliseconds, DETAILED).
    pub const REQUEST_TIME: &str = "RequestTime";
    /// User records per Kinesis record (aggregation ratio; Count, DETAILED).
    pub const USER_RECORDS_PER_KINESIS_RECORD: &str = "UserRecordsPerKinesisRecord";
    /// Kinesis records per `PutRecords` request (Count, DETAILED).
    pub const KINESIS_RECORDS_PER_PUT_RECORDS_REQUEST: &str = "KinesisRecordsPerPutRecordsRequest";
    /// User records per `PutRecords` request (Count, DETAILED).
    pub const USER_RECORDS_PER_PUT_RECORDS_REQUEST: &str = "UserRecordsPerPutRecordsRequest";

    /// Every KPL metric with its unit and level.
    pub const METRICS: &[MetricSpec] = &[
        MetricSpec::new(USER_RECORDS_RECEIVED, Count, D),
        MetricSpec::new(USER_RECORDS_PENDING, Count, D),
        MetricSpec::new(USER_RECORDS_PUT, Count, S),
        MetricSpec::new(USER_RECORDS_DATA_PUT, Bytes, D),
        MetricSpec::new(KINESIS_RECORDS_PUT, Count, S),
        MetricSpec::new(KINESIS_RECORDS_DATA_PUT, Bytes, D),
        MetricSpec::new(ERRORS_BY_CODE, Count, S),
        MetricSpec::new(ALL_ERRORS, Count, S),
        MetricSpec::new(RETRIES_PER_RECORD, Count, D),
        MetricSpec::new(USER_RECORD_EXPIRED, Count, S),
        MetricSpec::new(BUFFERING_TIME, Ms, S),
        MetricSpec::new(REQUEST_TIME, Ms, D),
        MetricSpec::new(USER_RECORDS_PER_KINESIS_RECORD, Count, D),
        MetricSpec::new(KINESIS_RECORDS_PER_PUT_RECORDS_REQUEST, Count, D),
        MetricSpec::new(USER_RECORDS_PER_PUT_RECORDS_REQUEST, Count, D),
    ];

    /// The KPL metric called `name`.
    pub fn metric(name: &str) -> Option<&'static MetricSpec> {
        METRICS.iter().find(|m| m.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn prefixed_names_match_the_helpers() {
        assert_eq!(
            success_metric("RenewLease"),
            renew_all_leases::RENEW_LEASE_SUCCESS
        );
        assert_eq!(
            time_metric("RenewLease"),
            renew_all_leases::RENEW_LEASE_TIME
        );
        assert_eq!(
            time_metric("RecordProcessor.processRecords"),
            process_task::RECORD_PROCESSOR_PROCESS_RECORDS_TIME
        );
    }

    #[test]
    fn operation_lookup_is_exact() {
        for op in KCL_OPERATIONS {
            assert_eq!(operation(op.operation), Some(op));
        }
        let names: HashSet<_> = KCL_OPERATIONS.iter().map(|o| o.operation).collect();
        assert_eq!(names.len(), KCL_OPERATIONS.len());
    }
}
