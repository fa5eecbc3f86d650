//! Each worker is told which shards to process.

use std::collections::BTreeSet;

use kinesis_kcl_compat::lease::LeaseKey;

use super::{Assignment, AssignmentStrategy, Snapshot};

/// A fixed assignment: this worker holds exactly the leases it is given, when they are free.
///
/// - Own leases in the set are kept; own leases outside it are released, so that a worker that
///   is reassigned hands its old shards over at its next tick.
/// - Leases in the set with no owner, or expired, are taken; shards in the set without a lease
///   are created.
/// - Leases in the set held by a live worker are left alone, never stolen: that worker is
///   expected to release them (it runs `Explicit` too, with its own set), or to die and let
///   them expire. This keeps two workers with overlapping sets from stealing back and forth.
///
/// Every worker of the application should use `Explicit`, and the sets should cover every shard
/// (including children after a resharding); a [`Balanced`](super::Balanced) or Java KCL worker
/// in the same table would steal from `Explicit` workers, which would take back only what
/// becomes free. Finished (`SHARD_END`) leases are ignored. Keys are compared whole: give
/// multi-stream lease keys for a multi-stream table.
///
/// ```
/// use std::time::Duration;
/// use kinesis_kcl_compat::lease::{Lease, LeaseKey};
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::strategy::{AssignmentStrategy, Explicit, LeaseView, Snapshot, StrategySettings};
///
/// let key = |s: &str| s.parse::<LeaseKey>().unwrap();
/// let mut old = Lease::new(key("shardId-0"), Checkpoint::LATEST);
/// old.lease_owner = Some("me".to_owned());
/// let free = Lease::new(key("shardId-1"), Checkpoint::LATEST);
/// let views = [LeaseView::new(&old, Duration::ZERO), LeaseView::new(&free, Duration::ZERO)];
/// let settings = StrategySettings::default();
///
/// let strategy = Explicit::new([key("shardId-1"), key("shardId-2")]);
/// let unleased = [key("shardId-2"), key("shardId-3")];
/// let a = strategy.assign(&Snapshot::new("me", &views, &unleased, &settings));
/// assert_eq!(a.release, [key("shardId-0")]);
/// assert_eq!(a.take, [key("shardId-1")]);
/// assert_eq!(a.create, [key("shardId-2")]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explicit {
    shards: BTreeSet<LeaseKey>,
}

impl Explicit {
    /// A worker assigned the leases `shards` (shard ids convert into single-stream lease keys).
    pub fn new<K: Into<LeaseKey>>(shards: impl IntoIterator<Item = K>) -> Self {
        Self {
            shards: shards.into_iter().map(Into::into).collect(),
        }
    }

    /// The leases this worker is assigned.
    pub fn shards(&self) -> &BTreeSet<LeaseKey> {
        &self.shards
    }
}

impl AssignmentStrategy for Explicit {
    fn assign(&self, snapshot: &Snapshot<'_>) -> Assignment {
        let settings = snapshot.settings;
        let mut out = Assignment::default();
        for view in snapshot.open_leases() {
            let assigned = self.shards.contains(view.key());
            if view.is_owned_by(snapshot.worker_id) {
                if assigned {
                    out.keep.push(view.key().clone());
                } else {
                    out.release.push(view.key().clone());
                }
            } else if assigned && view.is_available(settings) {
                out.take.push(view.key().clone());
            }
        }
        out.create = snapshot
            .shards_without_lease()
            .into_iter()
            .filter(|k| self.shards.contains(*k))
            .cloned()
            .collect();
        out
    }
}
