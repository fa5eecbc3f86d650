//! The KCL 3.x fleet rows that live beside the leases: a worker's utilisation report
//! ([`WorkerMetricStats`]), the leader-election lock ([`LeaderLock`]) and the client-version
//! migration state ([`ClientVersionMigration`]).
//!
//! KCL 3.5 keeps them in the lease table itself ("single-table mode", the layout of every new
//! application): each row's partition key is `leaseKey` and its `entityType` says what it is,
//! so a lease scan skips them. The formats are those the Java KCL 3.5.1 writes
//! (`WorkerMetricStats.java`, the DynamoDB Lock Client 1.4 that `DynamoDBLockBasedLeaderDecider`
//! uses, `MigrationState.java`); each type reads and writes an [`Item`](crate::lease::Item) and reads never panic.
//!
//! ```
//! use kinesis_kcl_compat::fleet::{LeaderLock, WorkerMetricStats};
//!
//! let stats = WorkerMetricStats::default_worker("worker-1", 1_764_000_000);
//! let item = stats.to_item();
//! assert_eq!(item["entityType"].as_s().map(String::as_str), Ok("WORKER_METRIC_STATS"));
//! assert_eq!(WorkerMetricStats::from_item(&item)?, stats);
//!
//! let lock = LeaderLock::new("worker-1", 120_000, "rvn-1");
//! assert_eq!(lock.to_item()["leaseDuration"].as_s().map(String::as_str), Ok("120000"));
//! # Ok::<(), kinesis_kcl_compat::lease::LeaseRowError>(())
//! ```

mod leader;
mod migration;
mod read;
mod worker_metrics;

pub use leader::{IS_RELEASED, LEASE_DURATION, LeaderLock, OWNER_NAME, RECORD_VERSION_NUMBER};
pub use migration::{ClientVersion, ClientVersionMigration, MigrationHistoryEntry};
pub use worker_metrics::{CPU, PERSISTED_VALUES, SUPPORT_CODE_3_5, WorkerMetricStats};

/// The `leaseKey` of the leader-election lock row.
pub const LEADER_KEY: &str = "Leader";

/// The `leaseKey` of the client-version migration row.
pub const MIGRATION_KEY: &str = "Migration3.0";

/// The `leaseKey` of the KCL 3.5 table-migration row (kept in the legacy coordinator table;
/// a new application never writes it).
pub const TABLE_MIGRATION_KEY: &str = "TableMigration3.5";
