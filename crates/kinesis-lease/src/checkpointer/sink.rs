//! What a checkpointer writes through: the [`CheckpointSink`] trait.

use std::fmt;

use kinesis_kcl_compat::lease::{Lease, LeaseKey};

use crate::error::LeaseError;
use crate::repository::{BoxFuture, CheckpointUpdate};

/// Where a [`Checkpointer`](crate::checkpointer::Checkpointer) writes: the lease coordinator, which holds the lease and performs the
/// conditional writes.
///
/// The checkpointer serialises its own calls (at most one call per lease key in flight, from one
/// checkpointer), never calls after a lost lease, and finishes a call it started even when the
/// caller stops waiting (see [`Checkpointer::checkpoint`](crate::checkpointer::Checkpointer::checkpoint)).
///
/// An implementation over a [`LeaseRepository`](crate::LeaseRepository) maps
/// [`write`](CheckpointSink::write) to
/// [`update_checkpoint`](crate::LeaseRepository::update_checkpoint) with the lease it holds and
/// [`release`](CheckpointSink::release) to
/// [`release_lease`](crate::LeaseRepository::release_lease), and keeps the lease returned.
///
/// # Errors
///
/// Both methods report a lease that this worker no longer holds (not held locally, or the
/// conditional write failed) as [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost); the checkpointer never retries it.
/// [`LeaseErrorKind::Storage`](crate::LeaseErrorKind::Storage) errors are retried by [`Checkpointer::checkpoint`](crate::checkpointer::Checkpointer::checkpoint); any other kind
/// is returned to the caller at once.
///
/// # Example
///
/// A sink over a repository, for one lease held in memory (a coordinator keeps a map of them):
///
/// ```
/// use std::sync::Arc;
///
/// use kinesis_kcl_compat::lease::{Lease, LeaseKey};
/// use kinesis_lease::checkpointer::{CheckpointSink, WrittenCheckpoint};
/// use kinesis_lease::{BoxFuture, CheckpointUpdate, LeaseError, LeaseRepository};
/// use tokio::sync::Mutex;
///
/// #[derive(Debug)]
/// struct OneLease {
///     repository: Arc<dyn LeaseRepository>,
///     held: Mutex<Option<Lease>>,
/// }
///
/// impl CheckpointSink for OneLease {
///     fn write<'a>(
///         &'a self,
///         lease_key: &'a LeaseKey,
///         update: CheckpointUpdate,
///     ) -> BoxFuture<'a, Result<WrittenCheckpoint, LeaseError>> {
///         Box::pin(async move {
///             let mut held = self.held.lock().await;
///             let lease = held.as_ref().ok_or_else(|| LeaseError::lease_lost(lease_key))?;
///             let release = update.release;
///             let written = self.repository.update_checkpoint(lease, update).await;
///             let lease = match written {
///                 Ok(lease) => lease,
///                 Err(e) => {
///                     if e.is_lease_lost() {
///                         *held = None;
///                     }
///                     return Err(e);
///                 }
///             };
///             let counter = WrittenCheckpoint::from(&lease);
///             *held = if release { None } else { Some(lease) };
///             Ok(counter)
///         })
///     }
///
///     fn release<'a>(&'a self, lease_key: &'a LeaseKey) -> BoxFuture<'a, Result<(), LeaseError>> {
///         Box::pin(async move {
///             let mut held = self.held.lock().await;
///             let lease = held.take().ok_or_else(|| LeaseError::lease_lost(lease_key))?;
///             self.repository.release_lease(&lease).await.map(drop)
///         })
///     }
/// }
/// ```
pub trait CheckpointSink: Send + Sync + fmt::Debug + 'static {
    /// Writes `update` to the lease `lease_key` (conditional on the lease as this worker holds
    /// it), releasing the lease in the same write when `update.release` is set, and returns the
    /// lease counter after the write.
    ///
    /// `update.child_shard_ids` is set only with a `SHARD_END` checkpoint, when the consumer
    /// reported the shard's children.
    fn write<'a>(
        &'a self,
        lease_key: &'a LeaseKey,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<WrittenCheckpoint, LeaseError>>;

    /// Releases the lease `lease_key` without writing a checkpoint.
    fn release<'a>(&'a self, lease_key: &'a LeaseKey) -> BoxFuture<'a, Result<(), LeaseError>>;
}

/// What a [`CheckpointSink`] reports after a successful write.
///
/// ```
/// use kinesis_kcl_compat::lease::Lease;
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::checkpointer::WrittenCheckpoint;
///
/// let mut lease = Lease::new("shardId-000000000000".parse()?, Checkpoint::TRIM_HORIZON);
/// lease.lease_counter = 7;
/// assert_eq!(WrittenCheckpoint::from(&lease), WrittenCheckpoint::new(7));
/// assert_eq!(WrittenCheckpoint::new(7).lease_counter, 7);
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WrittenCheckpoint {
    /// The lease's `leaseCounter` after the write: a fencing token for idempotent sinks.
    pub lease_counter: u64,
}

impl WrittenCheckpoint {
    /// A write that left the lease counter at `lease_counter`.
    pub fn new(lease_counter: u64) -> Self {
        Self { lease_counter }
    }
}

impl From<&Lease> for WrittenCheckpoint {
    /// The counter of the lease as stored after the write.
    fn from(lease: &Lease) -> Self {
        Self::new(lease.lease_counter)
    }
}
