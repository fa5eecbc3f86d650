//! What the coordinator does around shard ends, as the KCL does: a lease whose parent shards
//! are not finished is held but not handed to the consumer yet (`BlockOnParentShardTask`), and
//! a finished lease is deleted once its children have all started (`LeaseCleanupManager`).

use std::sync::Arc;

use kinesis_kcl_compat::lease::Lease;

use super::{AcquiredLease, LeaseEvent, LeaseStatus, Shared};
use crate::lineage;

impl Shared {
    /// Hands an acquisition to the consumer once the lease's parent shards are finished (at
    /// `SHARD_END` or cleaned up) in `leases`; until then it is held (renewed) and waits, as
    /// in the KCL's `BlockOnParentShardTask`.
    pub(super) async fn deliver_when_ready(&self, acquired: AcquiredLease, leases: &[Lease]) {
        let ready = self
            .state()
            .held
            .get(&acquired.lease_key)
            .is_none_or(|h| lineage::parents_finished(&h.lease, leases));
        if ready {
            self.deliver(acquired).await;
        } else {
            tracing::info!(worker_id = %self.worker_id, lease_key = %acquired.lease_key, "lease held; its parent shards are not finished yet");
            self.state().blocked.push(acquired);
        }
    }

    /// Delivers the blocked acquisitions whose parents are now finished; drops those no longer
    /// held.
    pub(super) async fn deliver_unblocked(&self, leases: &[Lease]) {
        let ready: Vec<AcquiredLease> = {
            let mut st = self.state();
            let blocked = std::mem::take(&mut st.blocked);
            let (ready, waiting): (Vec<_>, Vec<_>) = blocked
                .into_iter()
                .filter(|a| a.signal.status() == LeaseStatus::Held)
                .partition(|a| {
                    st.held
                        .get(&a.lease_key)
                        .is_none_or(|h| lineage::parents_finished(&h.lease, leases))
                });
            st.blocked = waiting;
            ready
        };
        for acquired in ready {
            self.deliver(acquired).await;
        }
    }

    /// Deletes the finished leases whose children have all started
    /// ([`lineage::finished_leases_to_delete`]): the KCL's lease cleanup. Until then a finished
    /// lease stays held and renewed, so that KCL workers, which count finished leases toward a
    /// worker's share, see it where it was.
    ///
    /// Any worker's finished lease is deleted, not only this worker's: the KCL deletes its own
    /// only every 5 minutes, and counts them toward its share meanwhile, which would keep the
    /// open shards unevenly split. Once its children have started, a finished lease is only
    /// bookkeeping (the KCL's own delete is unconditional); ours is conditional on the counter
    /// just scanned.
    pub(super) async fn clean_up(&self, leases: &[Lease]) {
        let candidates: Vec<Lease> = {
            let st = self.state();
            lineage::finished_leases_to_delete(leases, &st.shards)
                .into_iter()
                .cloned()
                .collect()
        };
        for scanned in candidates {
            if self.is_stopping() {
                return;
            }
            let key = scanned.lease_key.clone();
            let held = self.held_lock(&key, None);
            let _serialised = match &held {
                Some((_, write_lock)) => Some(Arc::clone(write_lock).lock_owned().await),
                None => None,
            };
            let (lease, generation) = match held {
                Some((generation, _)) => match self.held_lease(&key, generation) {
                    Some(lease) => (lease, Some(generation)),
                    None => continue,
                },
                None => (scanned, None),
            };
            match self.repository.delete_lease(&lease).await {
                Ok(()) => {
                    self.state().seen.remove(&key);
                    match generation {
                        Some(g) => {
                            self.end_held(&key, g, LeaseStatus::Deleted);
                        }
                        None => {
                            tracing::info!(worker_id = %self.worker_id, lease_key = %key, "finished lease deleted");
                            self.emit(LeaseEvent::Deleted { key });
                        }
                    }
                }
                Err(e) if e.is_lease_lost() => {
                    tracing::debug!(worker_id = %self.worker_id, lease_key = %key, "finished lease changed before its cleanup");
                }
                Err(e) => {
                    tracing::warn!(worker_id = %self.worker_id, lease_key = %key, error = %e, "finished lease cleanup failed");
                }
            }
        }
    }
}
