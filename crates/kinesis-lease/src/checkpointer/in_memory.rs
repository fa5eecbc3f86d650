//! [`InMemoryCheckpointSink`]: a sink that keeps the writes, for tests and examples.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use kinesis_kcl_compat::lease::LeaseKey;
use kinesis_kcl_compat::sequence::Checkpoint;

use crate::error::LeaseError;
use crate::repository::{BoxFuture, CheckpointUpdate};

use super::{CheckpointSink, WrittenCheckpoint};

/// A [`CheckpointSink`] that keeps one lease per key in memory: for tests of record processors,
/// examples, and single-process use without a lease table.
///
/// Every key starts held by this worker with counter 0. A write increments the counter; a
/// release (alone or with a write) gives the lease up, after which writes to that key fail with
/// [`LeaseErrorKind::LeaseLost`](crate::LeaseErrorKind::LeaseLost).
///
/// ```
/// use std::sync::Arc;
///
/// use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
/// use kinesis_lease::checkpointer::{Checkpointer, InMemoryCheckpointSink};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = Arc::new(InMemoryCheckpointSink::new());
/// let checkpointer = Checkpointer::builder("shardId-000000000000".parse()?, sink.clone()).build();
/// checkpointer.stage(ExtendedSequenceNumber::plain("5".parse()?));
/// checkpointer.checkpoint().await?;
/// assert_eq!(sink.writes().len(), 1);
/// assert_eq!(sink.last_checkpoint(), Some("5".parse::<Checkpoint>()?));
/// assert_eq!(sink.lease_counter(checkpointer.lease_key()), 1);
/// checkpointer.checkpoint_and_release().await?;
/// assert_eq!(sink.releases(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct InMemoryCheckpointSink {
    state: Mutex<InMemorySinkState>,
}

#[derive(Debug, Default)]
struct InMemorySinkState {
    counters: std::collections::HashMap<LeaseKey, u64>,
    released: BTreeSet<LeaseKey>,
    writes: Vec<(LeaseKey, CheckpointUpdate)>,
    releases: usize,
}

impl InMemoryCheckpointSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, InMemorySinkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every successful write, oldest first, with its lease key.
    pub fn writes(&self) -> Vec<(LeaseKey, CheckpointUpdate)> {
        self.state().writes.clone()
    }

    /// The checkpoint of the latest successful write, to any key.
    pub fn last_checkpoint(&self) -> Option<Checkpoint> {
        self.state()
            .writes
            .last()
            .map(|(_, u)| u.checkpoint.clone())
    }

    /// How many times a lease was released (alone or together with a checkpoint).
    pub fn releases(&self) -> usize {
        self.state().releases
    }

    /// The lease counter of `lease_key` (0 before any write).
    pub fn lease_counter(&self, lease_key: &LeaseKey) -> u64 {
        self.state().counters.get(lease_key).copied().unwrap_or(0)
    }
}

impl CheckpointSink for InMemoryCheckpointSink {
    fn write<'a>(
        &'a self,
        lease_key: &'a LeaseKey,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<WrittenCheckpoint, LeaseError>> {
        Box::pin(async move {
            let mut st = self.state();
            if st.released.contains(lease_key) {
                return Err(LeaseError::lease_lost(lease_key));
            }
            let counter = st.counters.entry(lease_key.clone()).or_insert(0);
            *counter += 1;
            let counter = *counter;
            if update.release {
                st.released.insert(lease_key.clone());
                st.releases += 1;
            }
            st.writes.push((lease_key.clone(), update));
            Ok(WrittenCheckpoint::new(counter))
        })
    }

    fn release<'a>(&'a self, lease_key: &'a LeaseKey) -> BoxFuture<'a, Result<(), LeaseError>> {
        Box::pin(async move {
            let mut st = self.state();
            if !st.released.insert(lease_key.clone()) {
                return Err(LeaseError::lease_lost(lease_key));
            }
            *st.counters.entry(lease_key.clone()).or_insert(0) += 1;
            st.releases += 1;
            Ok(())
        })
    }
}
