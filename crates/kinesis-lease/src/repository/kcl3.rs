//! [`Kcl3Repository`]: the rows and writes of the KCL 3.x protocol, beside the leases.
//!
//! KCL 3.5 keeps its fleet rows in the lease table itself (single-table mode, the layout of
//! every new application), each marked by `entityType`: the workers' utilisation reports
//! ([`WorkerMetricStats`]), the leader lock and the client-version migration state
//! ([`kinesis_kcl_compat::fleet`]). Leases are found by owner through the table's global
//! secondary index `LeaseOwnerToLeaseKeyIndex`, and the leader moves leases with two writes the
//! 2.x protocol does not have: a direct assignment and a graceful hand-over through
//! `checkpointOwner`.
//!
//! | method | DynamoDB call | condition |
//! |---|---|---|
//! | `ensure_lease_owner_index` | `DescribeTable`, `UpdateTable` (create the index, `KEYS_ONLY`) | |
//! | `lease_keys_of` | `Query` of the index, every page | |
//! | `scan_fleet` | `Scan`, consistent, every page | |
//! | `put_worker_metrics` | `PutItem` of the row | none (an upsert, as the KCL's) |
//! | `assign_lease` | `UpdateItem`: `SET leaseOwner`, `REMOVE checkpointOwner`, `ADD leaseCounter 1` (and `ownerSwitchesSinceCheckpoint` on a change of owner) | owner and `checkpointOwner` as read |
//! | `start_handoff` | `UpdateItem`: `SET leaseOwner = new, checkpointOwner = old` | owner as read, no `checkpointOwner` |
//! | `complete_handoff` | `UpdateItem`: `REMOVE checkpointOwner`, `ADD leaseCounter 1` | owner = new, `checkpointOwner` = old |
//! | `get_row`, `put_row`, `delete_row` | `GetItem`, `PutItem`, `DeleteItem` | a [`RowCondition`] |

use std::fmt;

use kinesis_kcl_compat::fleet::WorkerMetricStats;
use kinesis_kcl_compat::lease::{EntityType, Item, Lease, LeaseKey, LeaseRowError, ParsedRow};

use crate::error::LeaseError;
use crate::repository::BoxFuture;

/// What a scan of the whole table found: the leases and the workers' reports.
#[derive(Debug, Default)]
pub struct FleetScan {
    /// Every lease row.
    pub leases: Vec<Lease>,
    /// Every worker-metrics row that could be read.
    pub worker_metrics: Vec<WorkerMetricStats>,
    /// Rows that could not be read (leases or worker metrics), reported, not fatal.
    pub corrupt: Vec<LeaseRowError>,
}

/// The condition of a fleet-row write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowCondition {
    /// None: the write is an upsert.
    Always,
    /// The row does not exist (`attribute_not_exists(leaseKey)`).
    Absent,
    /// The row exists and each of these string attributes has this value.
    Equals(Vec<(&'static str, String)>),
}

/// The KCL 3.x rows and writes; see the [module documentation](self).
///
/// A repository offers them through [`LeaseRepository::kcl3`](crate::LeaseRepository::kcl3).
/// Every lease write is conditional, and a failed condition is
/// [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost); a failed [`RowCondition`]
/// is [`LeaseErrorKind::ConditionFailed`](crate::LeaseErrorKind::ConditionFailed).
pub trait Kcl3Repository: Send + Sync + fmt::Debug {
    /// Creates the `LeaseOwnerToLeaseKeyIndex` index if the table has none (as the KCL 3.x
    /// does at start) and waits until it is usable. Returns whether it created it.
    fn ensure_lease_owner_index(&self) -> BoxFuture<'_, Result<bool, LeaseError>>;

    /// The keys of the leases `owner` holds, from the index (eventually consistent: read each
    /// lease before relying on it).
    fn lease_keys_of<'a>(
        &'a self,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LeaseKey>, LeaseError>>;

    /// Reads every lease and every worker-metrics row (one consistent scan).
    fn scan_fleet(&self) -> BoxFuture<'_, Result<FleetScan, LeaseError>>;

    /// Writes (replaces) a worker's report.
    fn put_worker_metrics<'a>(
        &'a self,
        stats: &'a WorkerMetricStats,
    ) -> BoxFuture<'a, Result<(), LeaseError>>;

    /// The leader gives `lease` (as it read it) to `owner` at once: conditional on the owner and
    /// `checkpointOwner` as read; sets the owner, removes `checkpointOwner`, adds one to the
    /// counter, and one to `ownerSwitchesSinceCheckpoint` when the owner changes.
    fn assign_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>>;

    /// The leader asks the owner of `lease` to hand it to `to` after its last checkpoint: sets
    /// `leaseOwner = to` and `checkpointOwner` = the current owner, without touching the
    /// counter; conditional on the owner as read and no `checkpointOwner`.
    fn start_handoff<'a>(
        &'a self,
        lease: &'a Lease,
        to: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>>;

    /// The previous owner `from` ends a hand-over after its last checkpoint: removes
    /// `checkpointOwner` and adds one to the counter; conditional on the owner being the new one
    /// in `lease` and `checkpointOwner = from`.
    fn complete_handoff<'a>(
        &'a self,
        lease: &'a Lease,
        from: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>>;

    /// Reads a fleet row (consistent).
    fn get_row<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Item>, LeaseError>>;

    /// Writes a whole fleet row under `condition`.
    fn put_row<'a>(
        &'a self,
        item: Item,
        condition: RowCondition,
    ) -> BoxFuture<'a, Result<(), LeaseError>>;

    /// Deletes a fleet row under `condition`.
    fn delete_row<'a>(
        &'a self,
        key: &'a str,
        condition: RowCondition,
    ) -> BoxFuture<'a, Result<(), LeaseError>>;
}

/// Sorts the items of a table scan into leases and worker reports.
pub(crate) fn fleet_scan(items: impl IntoIterator<Item = Item>) -> FleetScan {
    let mut scan = FleetScan::default();
    for item in items {
        match ParsedRow::from_item(item.clone()) {
            Ok(ParsedRow::Lease(lease)) => scan.leases.push(lease),
            Ok(ParsedRow::NotALease {
                entity_type: EntityType::WorkerMetricStats,
                ..
            }) => match WorkerMetricStats::from_item(&item) {
                Ok(stats) => scan.worker_metrics.push(stats),
                Err(e) => scan.corrupt.push(e),
            },
            Ok(ParsedRow::NotALease { .. }) => {}
            Err(e) => scan.corrupt.push(e),
        }
    }
    scan
}
