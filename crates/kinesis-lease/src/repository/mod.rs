//! Lease storage: the [`LeaseRepository`] trait and its implementations.
//!
//! Every write is conditional on the lease's `leaseCounter` as this worker last read it (and on
//! the owner where the KCL checks it) and increments it, exactly as the Java KCL does, so that
//! workers of this crate and KCL workers can share one table. A failed condition is a typed
//! [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost) (or `AlreadyExists` for a
//! create), never retried blindly.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use kinesis_client::ShardId;
use kinesis_kcl_compat::lease::{Lease, LeaseKey, LeaseRowError};
use kinesis_kcl_compat::sequence::Checkpoint;

use crate::error::LeaseError;

pub mod dynamodb;
pub mod kcl3;
pub mod memory;

pub use dynamodb::{DynamoDbLeaseRepository, TableBilling, TableOptions};
pub use kcl3::{FleetScan, Kcl3Repository, RowCondition};
pub use memory::{InMemoryLeaseRepository, RepositoryMethod};

/// A boxed, sendable future borrowing the repository.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a scan of the lease table found.
#[derive(Debug, Default)]
pub struct LeaseScan {
    /// Every lease row, in no particular order.
    pub leases: Vec<Lease>,
    /// Rows that are not leases (KCL 3.x worker metrics, coordinator state, ...), skipped.
    pub skipped_non_leases: usize,
    /// Rows that should be leases but could not be read; reported, not fatal, so that one bad row
    /// does not stop every worker.
    pub corrupt: Vec<LeaseRowError>,
}

/// A checkpoint write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointUpdate {
    /// The new `checkpoint` / `checkpointSubSequenceNumber`.
    pub checkpoint: Checkpoint,
    /// `childShardIds`, written at shard end.
    pub child_shard_ids: Option<BTreeSet<ShardId>>,
    /// Whether to clear `leaseOwner` in the same write (a final checkpoint on shutdown or shard
    /// end).
    pub release: bool,
}

/// Storage of leases in the KCL's table format.
///
/// Implementations: [`DynamoDbLeaseRepository`] (the KCL's table) and [`InMemoryLeaseRepository`]
/// (for tests and single-process use).
/// Both pass the same conformance suite. Every method that writes takes the lease as this worker
/// last read it: the write is conditional on that `lease_counter` (and `lease_owner` for renew,
/// checkpoint and release), and the lease as stored afterwards is returned.
pub trait LeaseRepository: Send + Sync + fmt::Debug + 'static {
    /// Creates the lease table if it is missing and waits until it is usable. Returns whether it
    /// created the table.
    fn ensure_table(&self) -> BoxFuture<'_, Result<bool, LeaseError>>;

    /// Reads every lease (a consistent scan), skipping rows that are not leases.
    fn list_leases(&self) -> BoxFuture<'_, Result<LeaseScan, LeaseError>>;

    /// Reads one lease (a consistent read).
    fn get_lease<'a>(
        &'a self,
        key: &'a LeaseKey,
    ) -> BoxFuture<'a, Result<Option<Lease>, LeaseError>>;

    /// Inserts a new lease, failing with `AlreadyExists` when the key is taken.
    fn create_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>>;

    /// Takes `lease` for `owner` (from nobody, an expired owner, or by stealing): conditional on
    /// the counter; sets the owner, increments the counter, clears `checkpointOwner`, and adds one
    /// to `ownerSwitchesSinceCheckpoint` when the owner changes.
    fn take_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>>;

    /// Renews a held lease: conditional on counter and owner; increments the counter.
    fn renew_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>>;

    /// Writes a checkpoint: conditional on counter and owner; increments the counter, sets the
    /// checkpoint, resets `ownerSwitchesSinceCheckpoint`, clears any pending checkpoint, writes
    /// `childShardIds` when given, and clears the owner when `release` is set.
    fn update_checkpoint<'a>(
        &'a self,
        lease: &'a Lease,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>>;

    /// Releases a held lease: conditional on counter and owner; clears the owner and increments
    /// the counter, so that other workers see the change at once.
    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>>;

    /// Deletes a lease (cleanup of a finished shard): conditional on the counter.
    fn delete_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LeaseError>>;

    /// The KCL 3.x rows and writes of this repository ([`Kcl3Repository`]), needed by a
    /// coordinator that runs the KCL 3.x protocol. `None` (the default) when the repository
    /// does not store them: such a coordinator then fails to start with
    /// [`LeaseErrorKind::Unsupported`](crate::LeaseErrorKind::Unsupported).
    fn kcl3(&self) -> Option<&dyn Kcl3Repository> {
        None
    }
}
