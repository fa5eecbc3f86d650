//! Shard lineage: parents before children, and where a new shard's lease starts.
//!
//! After a resharding, a child shard must not be processed before its parents are finished
//! (their leases checkpointed at `SHARD_END`), or records of one partition key would be
//! processed out of order. These functions implement the rules of the Java KCL and
//! zio-kinesis:
//!
//! - [`shards_ready_to_consume`]: which shards may be processed now.
//! - [`initial_checkpoint_for_shard`]: the checkpoint a new lease starts from.
//! - [`new_lease_for_shard`]: the lease row for a shard without one.
//!
//! They take any [`ShardLineage`]: [`kinesis_client::Shard`] (from `ListShards`),
//! [`kinesis_client::ChildShard`] (reported at shard end) or a [`ShardInfo`] built by hand.
//! Leases are matched to shards by shard id: in a multi-stream table pass the leases of one
//! stream at a time.
//!
//! ```
//! use kinesis_kcl_compat::lease::{Lease, LeaseKey};
//! use kinesis_kcl_compat::sequence::Checkpoint;
//! use kinesis_lease::lineage::{self, InitialPosition, ShardInfo};
//!
//! // shardId-0 was split into shardId-1 and shardId-2; shardId-0 is still being processed.
//! let parent = ShardInfo::new("shardId-0".parse()?);
//! let child = ShardInfo::new("shardId-1".parse()?).with_parent("shardId-0".parse()?);
//! let shards = [parent, child];
//! let mut parent_lease = Lease::new("shardId-0".parse::<LeaseKey>()?, Checkpoint::TRIM_HORIZON);
//!
//! let ready = lineage::shards_ready_to_consume(&shards, [&parent_lease]);
//! assert_eq!(ready.len(), 1); // only the parent
//!
//! parent_lease.checkpoint = Checkpoint::SHARD_END;
//! let ready = lineage::shards_ready_to_consume(&shards, [&parent_lease]);
//! assert_eq!(ready.len(), 1); // only the child now
//! assert_eq!(ready[0].id.as_str(), "shardId-1");
//!
//! // A consumer starting at LATEST reads the child from its start: its parent was consumed.
//! let start =
//!     lineage::initial_checkpoint_for_shard(ready[0], &InitialPosition::Latest, [&parent_lease]);
//! assert_eq!(start, Checkpoint::TRIM_HORIZON);
//! let lease = lineage::new_lease_for_shard(ready[0], start);
//! assert_eq!(lease.parent_shard_ids.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use kinesis_client::{ChildShard, HashKeyRange, Shard, ShardId, StartingPosition};
use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use kinesis_kcl_compat::sequence::{Checkpoint, Sentinel};

/// What lineage needs to know of a shard: its id, its parents and its hash keys.
///
/// ```
/// use kinesis_lease::lineage::{ShardInfo, ShardLineage};
///
/// let merged = ShardInfo::new("shardId-3".parse()?)
///     .with_parent("shardId-1".parse()?)
///     .with_parent("shardId-2".parse()?);
/// assert_eq!(merged.parent_shard_ids().count(), 2);
/// assert!(merged.hash_key_range().is_none());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
pub trait ShardLineage {
    /// The shard's id.
    fn shard_id(&self) -> &ShardId;
    /// The shard's parents: none, one (after a split) or two (after a merge).
    fn parent_shard_ids(&self) -> impl Iterator<Item = &ShardId>;
    /// The hash keys the shard owns, when known.
    fn hash_key_range(&self) -> Option<HashKeyRange>;
}

impl ShardLineage for Shard {
    fn shard_id(&self) -> &ShardId {
        self.id()
    }
    fn parent_shard_ids(&self) -> impl Iterator<Item = &ShardId> {
        self.parents()
    }
    fn hash_key_range(&self) -> Option<HashKeyRange> {
        Some(Shard::hash_key_range(self))
    }
}

impl ShardLineage for ChildShard {
    fn shard_id(&self) -> &ShardId {
        self.id()
    }
    fn parent_shard_ids(&self) -> impl Iterator<Item = &ShardId> {
        self.parents().iter()
    }
    fn hash_key_range(&self) -> Option<HashKeyRange> {
        Some(ChildShard::hash_key_range(self))
    }
}

impl<T: ShardLineage + ?Sized> ShardLineage for &T {
    fn shard_id(&self) -> &ShardId {
        (**self).shard_id()
    }
    fn parent_shard_ids(&self) -> impl Iterator<Item = &ShardId> {
        (**self).parent_shard_ids()
    }
    fn hash_key_range(&self) -> Option<HashKeyRange> {
        (**self).hash_key_range()
    }
}

/// A shard's lineage as plain data: for tests, and for shards known from elsewhere than
/// `ListShards`.
///
/// ```
/// use kinesis_client::HashKeyRange;
/// use kinesis_lease::lineage::ShardInfo;
///
/// let shard = ShardInfo::new("shardId-000000000001".parse()?)
///     .with_parent("shardId-000000000000".parse()?)
///     .with_hash_key_range(HashKeyRange::FULL);
/// assert_eq!(shard.parents.len(), 1);
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    /// The shard's id.
    pub id: ShardId,
    /// Its parents (zero, one or two).
    pub parents: Vec<ShardId>,
    /// The hash keys it owns, when known.
    pub hash_key_range: Option<HashKeyRange>,
}

impl ShardInfo {
    /// A shard without parents or known hash keys.
    pub fn new(id: ShardId) -> Self {
        Self {
            id,
            parents: Vec::new(),
            hash_key_range: None,
        }
    }

    /// Adds a parent.
    #[must_use]
    pub fn with_parent(mut self, parent: ShardId) -> Self {
        self.parents.push(parent);
        self
    }

    /// Sets the hash keys.
    #[must_use]
    pub fn with_hash_key_range(mut self, range: HashKeyRange) -> Self {
        self.hash_key_range = Some(range);
        self
    }

    /// The lineage of any shard, as plain data.
    pub fn of(shard: &impl ShardLineage) -> Self {
        Self {
            id: shard.shard_id().clone(),
            parents: shard.parent_shard_ids().cloned().collect(),
            hash_key_range: shard.hash_key_range(),
        }
    }
}

impl ShardLineage for ShardInfo {
    fn shard_id(&self) -> &ShardId {
        &self.id
    }
    fn parent_shard_ids(&self) -> impl Iterator<Item = &ShardId> {
        self.parents.iter()
    }
    fn hash_key_range(&self) -> Option<HashKeyRange> {
        self.hash_key_range
    }
}

impl From<&Shard> for ShardInfo {
    fn from(shard: &Shard) -> Self {
        Self::of(shard)
    }
}

impl From<&ChildShard> for ShardInfo {
    fn from(shard: &ChildShard) -> Self {
        Self::of(shard)
    }
}

/// Where a consumer starts reading a shard that has no checkpoint yet.
///
/// ```
/// use kinesis_client::StartingPosition;
/// use kinesis_kcl_compat::sequence::Sentinel;
/// use kinesis_lease::lineage::InitialPosition;
///
/// assert_eq!(InitialPosition::Latest.sentinel(), Sentinel::Latest);
/// assert_eq!(InitialPosition::TrimHorizon.starting_position(), StartingPosition::TrimHorizon);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialPosition {
    /// Only records written from now on (the KCL's default).
    Latest,
    /// The oldest record still retained.
    TrimHorizon,
    /// The first record that arrived at or after this time.
    AtTimestamp(SystemTime),
}

impl InitialPosition {
    /// The checkpoint sentinel a new lease records for this position. `AT_TIMESTAMP` does not
    /// store the time: the consumer's configuration keeps it, as in the KCL.
    pub fn sentinel(&self) -> Sentinel {
        match self {
            InitialPosition::Latest => Sentinel::Latest,
            InitialPosition::TrimHorizon => Sentinel::TrimHorizon,
            InitialPosition::AtTimestamp(_) => Sentinel::AtTimestamp,
        }
    }

    /// Where to start reading a shard from this position.
    pub fn starting_position(&self) -> StartingPosition {
        match self {
            InitialPosition::Latest => StartingPosition::Latest,
            InitialPosition::TrimHorizon => StartingPosition::TrimHorizon,
            InitialPosition::AtTimestamp(t) => StartingPosition::AtTimestamp(*t),
        }
    }
}

/// Indexes leases by shard id.
fn by_shard<'l>(leases: impl IntoIterator<Item = &'l Lease>) -> HashMap<&'l ShardId, &'l Lease> {
    leases.into_iter().map(|l| (l.shard_id(), l)).collect()
}

/// The shards that may be processed now, in the order given.
///
/// A shard is ready when its own lease is not at `SHARD_END` (finished shards are done) and
/// every parent is finished or gone: the parent's lease is at `SHARD_END`, or the parent has
/// neither a lease nor a place in `shards` (it aged out of the stream and its lease was
/// cleaned up, or it was never consumed). A parent still listed without a lease, or with an
/// unfinished lease, holds its children back.
///
/// Unlike zio-kinesis, which calls a child ready as soon as none of its parents is listed any
/// more, a parent that is no longer listed but still has an unfinished lease holds the child
/// back, as the KCL's `BlockOnParentShardTask` does (the KCL's lease cleanup later deletes such
/// a lease).
///
/// A shard without a lease of its own is never ready when one of its descendants has a lease:
/// its lease was deleted by the cleanup after its children started (a closed shard stays listed
/// for the retention period), and it must not be read again.
///
/// ```
/// use kinesis_lease::lineage::{shards_ready_to_consume, ShardInfo};
///
/// // A merge of shardId-1 and shardId-2 into shardId-3; shardId-1 is gone, shardId-2 is not.
/// let shards = [
///     ShardInfo::new("shardId-2".parse()?),
///     ShardInfo::new("shardId-3".parse()?)
///         .with_parent("shardId-1".parse()?)
///         .with_parent("shardId-2".parse()?),
/// ];
/// let ready = shards_ready_to_consume(&shards, []);
/// assert_eq!(ready, [&shards[0]]);
/// # Ok::<(), kinesis_client::Error>(())
/// ```
pub fn shards_ready_to_consume<'s, 'l, S: ShardLineage>(
    shards: &'s [S],
    leases: impl IntoIterator<Item = &'l Lease>,
) -> Vec<&'s S> {
    let leases = by_shard(leases);
    let listed: HashSet<&ShardId> = shards.iter().map(ShardLineage::shard_id).collect();
    let finished = |id: &ShardId| leases.get(id).is_some_and(|l| l.checkpoint.is_shard_end());
    // Every ancestor of a leased shard, through the parents the shard list and the leases name.
    let mut parents: HashMap<&ShardId, Vec<&ShardId>> = HashMap::new();
    for shard in shards {
        parents
            .entry(shard.shard_id())
            .or_default()
            .extend(shard.parent_shard_ids());
    }
    for (id, lease) in &leases {
        parents
            .entry(*id)
            .or_default()
            .extend(lease.parent_shard_ids.iter());
    }
    let mut superseded: HashSet<&ShardId> = HashSet::new();
    let mut pending: Vec<&ShardId> = leases.keys().copied().collect();
    while let Some(id) = pending.pop() {
        for parent in parents.get(id).into_iter().flatten() {
            if superseded.insert(*parent) {
                pending.push(*parent);
            }
        }
    }
    shards
        .iter()
        .filter(|shard| {
            let id = shard.shard_id();
            (leases.contains_key(id) || !superseded.contains(id))
                && !finished(id)
                && shard.parent_shard_ids().all(|parent| {
                    finished(parent) || (!leases.contains_key(parent) && !listed.contains(parent))
                })
        })
        .collect()
}

/// The checkpoint a new lease for `shard` starts from.
///
/// `TrimHorizon` gives `TRIM_HORIZON` and `AtTimestamp` gives `AT_TIMESTAMP`. `Latest` gives
/// `LATEST`, except for a child one of whose parents has a lease (finished or not): its parent
/// was consumed, so the child is read from its start (`TRIM_HORIZON`) rather than skipping the
/// records written between the resharding and now.
///
/// ```
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::lineage::{initial_checkpoint_for_shard, InitialPosition, ShardInfo};
///
/// let root = ShardInfo::new("shardId-0".parse()?);
/// assert_eq!(initial_checkpoint_for_shard(&root, &InitialPosition::Latest, []), Checkpoint::LATEST);
/// assert_eq!(
///     initial_checkpoint_for_shard(&root, &InitialPosition::TrimHorizon, []),
///     Checkpoint::TRIM_HORIZON
/// );
/// # Ok::<(), kinesis_client::Error>(())
/// ```
pub fn initial_checkpoint_for_shard<'l>(
    shard: &impl ShardLineage,
    initial_position: &InitialPosition,
    leases: impl IntoIterator<Item = &'l Lease>,
) -> Checkpoint {
    match initial_position {
        InitialPosition::TrimHorizon => Checkpoint::TRIM_HORIZON,
        InitialPosition::AtTimestamp(_) => Checkpoint::AT_TIMESTAMP,
        InitialPosition::Latest => {
            let leases = by_shard(leases);
            if shard.parent_shard_ids().any(|p| leases.contains_key(p)) {
                Checkpoint::TRIM_HORIZON
            } else {
                Checkpoint::LATEST
            }
        }
    }
}

/// A new, unowned lease for `shard` (counter 0), starting at `initial_checkpoint`, with the
/// shard's parents (`parentShardId`) and hash keys (`startingHashKey` / `endingHashKey`) as the
/// KCL records them. Its key is the shard id; for a multi-stream table, replace it with
/// [`LeaseKey::with_shard_id`] of the stream's key. Set the owner before creating it to claim
/// it at once, as zio-kinesis does.
///
/// ```
/// use kinesis_client::HashKeyRange;
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::lineage::{new_lease_for_shard, ShardInfo};
///
/// let shard = ShardInfo::new("shardId-2".parse()?)
///     .with_parent("shardId-0".parse()?)
///     .with_hash_key_range(HashKeyRange::FULL);
/// let lease = new_lease_for_shard(&shard, Checkpoint::TRIM_HORIZON);
/// assert_eq!(lease.lease_key.to_string(), "shardId-2");
/// assert_eq!((lease.lease_owner.as_deref(), lease.lease_counter), (None, 0));
/// assert_eq!(lease.hash_key_range, Some(HashKeyRange::FULL));
/// assert!(lease.parent_shard_ids.contains(&"shardId-0".parse()?));
/// # Ok::<(), kinesis_client::Error>(())
/// ```
pub fn new_lease_for_shard(shard: &impl ShardLineage, initial_checkpoint: Checkpoint) -> Lease {
    let mut lease = Lease::new(LeaseKey::from(shard.shard_id().clone()), initial_checkpoint);
    lease.parent_shard_ids = shard.parent_shard_ids().cloned().collect();
    lease.hash_key_range = shard.hash_key_range();
    lease
}

/// Whether the shard of `lease` may be processed: every parent's lease is at `SHARD_END`, or
/// gone (cleaned up), as the KCL's `BlockOnParentShardTask` decides. A lease created by this
/// workspace is created only then; one created by a Java KCL worker (the child of a merge, at
/// the end of its first parent) may exist sooner.
///
/// ```
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::lineage::{new_lease_for_shard, parents_finished, ShardInfo};
///
/// let parent = new_lease_for_shard(&ShardInfo::new("shardId-000000000000".parse()?), Checkpoint::TRIM_HORIZON);
/// let child = new_lease_for_shard(
///     &ShardInfo::new("shardId-000000000002".parse()?).with_parent("shardId-000000000000".parse()?),
///     Checkpoint::TRIM_HORIZON,
/// );
/// assert!(!parents_finished(&child, [&parent, &child]));
/// let mut ended = parent.clone();
/// ended.checkpoint = Checkpoint::SHARD_END;
/// assert!(parents_finished(&child, [&ended, &child]));
/// assert!(parents_finished(&child, [&child])); // the parent's lease was cleaned up
/// # Ok::<(), kinesis_client::Error>(())
/// ```
pub fn parents_finished<'l>(lease: &Lease, leases: impl IntoIterator<Item = &'l Lease>) -> bool {
    let leases = by_shard(leases);
    lease.parent_shard_ids.iter().all(|parent| {
        leases
            .get(parent)
            .is_none_or(|l| l.checkpoint.is_shard_end())
    })
}

/// The finished (`SHARD_END`) leases of `leases` that may be deleted, by the KCL's
/// `LeaseCleanupManager` rules: every child shard has a lease, every child has checkpointed
/// past its start (its checkpoint is neither `TRIM_HORIZON` nor `AT_TIMESTAMP`), and the
/// lease's own parents' leases are gone. The children are the lease's `childShardIds`, or, when
/// the row has none, the shards of `shards` that name it as a parent; a finished lease whose
/// children are unknown is kept.
///
/// ```
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::lineage::{finished_leases_to_delete, new_lease_for_shard, ShardInfo};
///
/// let mut parent = new_lease_for_shard(&ShardInfo::new("shardId-000000000000".parse()?), Checkpoint::SHARD_END);
/// parent.child_shard_ids.insert("shardId-000000000001".parse()?);
/// let mut child = new_lease_for_shard(
///     &ShardInfo::new("shardId-000000000001".parse()?).with_parent("shardId-000000000000".parse()?),
///     Checkpoint::TRIM_HORIZON,
/// );
/// let none: [ShardInfo; 0] = [];
/// let leases = [parent.clone(), child.clone()];
/// assert!(finished_leases_to_delete(&leases, &none).is_empty());
/// child.checkpoint = "49590338271490256608559692538361571095921575989136588898".parse()?;
/// let leases = [parent.clone(), child];
/// assert_eq!(finished_leases_to_delete(&leases, &none), vec![&leases[0]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn finished_leases_to_delete<'l, S: ShardLineage>(
    leases: &'l [Lease],
    shards: &[S],
) -> Vec<&'l Lease> {
    let by_id = by_shard(leases);
    leases
        .iter()
        .filter(|l| l.checkpoint.is_shard_end())
        .filter(|l| {
            let parents_gone = l.parent_shard_ids.iter().all(|p| !by_id.contains_key(p));
            let children: Vec<&ShardId> = if l.child_shard_ids.is_empty() {
                let id = l.shard_id();
                shards
                    .iter()
                    .filter(|s| s.parent_shard_ids().any(|p| p == id))
                    .map(ShardLineage::shard_id)
                    .collect()
            } else {
                l.child_shard_ids.iter().collect()
            };
            parents_gone
                && !children.is_empty()
                && children.iter().all(|child| {
                    by_id.get(*child).is_some_and(|c| {
                        !matches!(
                            c.checkpoint.sentinel(),
                            Some(Sentinel::TrimHorizon | Sentinel::AtTimestamp)
                        )
                    })
                })
        })
        .collect()
}
