//! Lease assignment strategies: which leases this worker wants to hold.
//!
//! Once per taker tick the coordinator scans the lease table, works out on its own monotonic
//! clock how long each lease's counter has been unchanged, and hands a [`Snapshot`] to an
//! [`AssignmentStrategy`]. The strategy answers with an [`Assignment`]: the leases to keep, the
//! free or expired leases to take, the leases to create for shards that have none yet, the
//! leases to steal (and from whom) and the leases to release. Strategies are pure: no I/O, no
//! clock reads (time comes in the snapshot as durations), and their randomness can be seeded,
//! so they are deterministic under test.
//!
//! - [`Balanced`]: the Java KCL 2.x lease taker's rules, so that a fleet mixing workers of this
//!   crate and Java KCL workers settles instead of fighting.
//! - [`Explicit`]: each worker is told its shards.
//! - Your own: implement [`AssignmentStrategy`] (see its documentation for an example).
//!
//! ```
//! use std::time::Duration;
//! use kinesis_kcl_compat::lease::{Lease, LeaseKey};
//! use kinesis_kcl_compat::sequence::Checkpoint;
//! use kinesis_lease::strategy::{AssignmentStrategy, Balanced, LeaseView, Snapshot, StrategySettings};
//!
//! // worker-a holds both leases of the stream and renews them; worker-b has just started.
//! let mut leases = Vec::new();
//! for shard in ["shardId-000000000000", "shardId-000000000001"] {
//!     let mut lease = Lease::new(shard.parse::<LeaseKey>()?, Checkpoint::TRIM_HORIZON);
//!     lease.lease_owner = Some("worker-a".to_owned());
//!     leases.push(lease);
//! }
//! let views: Vec<LeaseView<'_>> =
//!     leases.iter().map(|l| LeaseView::new(l, Duration::from_secs(1))).collect();
//! let settings = StrategySettings::default();
//! let snapshot = Snapshot::new("worker-b", &views, &[], &settings);
//!
//! let assignment = Balanced::with_seed(7).assign(&snapshot);
//! // Two leases, two workers: worker-b's target is 1, and it steals one from worker-a.
//! assert_eq!(assignment.target, Some(1));
//! assert_eq!(assignment.steal.len(), 1);
//! assert_eq!(assignment.steal[0].from, "worker-a");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod balanced;
mod explicit;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

pub use balanced::Balanced;
pub use explicit::Explicit;

/// The settings of lease taking, with the Java KCL 2.x defaults (`LeaseManagementConfig`).
///
/// ```
/// use std::time::Duration;
/// use kinesis_lease::strategy::StrategySettings;
///
/// let defaults = StrategySettings::default();
/// assert_eq!(defaults.failover_time, Duration::from_secs(10));
/// assert_eq!(defaults.max_leases_to_steal_at_one_time, 1);
/// assert_eq!(defaults.max_leases_per_worker, usize::MAX); // unlimited
/// assert!(defaults.priority_lease_assignment);
///
/// let tuned = StrategySettings::default()
///     .with_failover_time(Duration::from_secs(30))
///     .with_max_leases_to_steal_at_one_time(2)
///     .with_max_leases_per_worker(100);
/// assert_eq!(tuned.max_leases_per_worker, 100);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrategySettings {
    /// `failoverTimeMillis`: a lease whose counter this worker has seen unchanged for longer than
    /// this is expired, and its owner no longer counts as an active worker. Default 10 s.
    pub failover_time: Duration,
    /// `maxLeasesToStealAtOneTime`: the most leases stolen in one taker tick. Default 1; 0 turns
    /// stealing off.
    pub max_leases_to_steal_at_one_time: usize,
    /// `maxLeasesForWorker`: the most leases this worker takes; the target is capped at it and
    /// the excess reported as [`Assignment::spillover`]. Default `usize::MAX` (unlimited).
    pub max_leases_per_worker: usize,
    /// `enablePriorityLeaseAssignment`: take "very old" leases (see
    /// [`very_old_lease_multiplier`](Self::very_old_lease_multiplier)) before anything else,
    /// regardless of the target but within [`max_leases_per_worker`](Self::max_leases_per_worker).
    /// Default `true`, as in the KCL.
    pub priority_lease_assignment: bool,
    /// `veryOldLeaseDurationNanosMultiplier`: a lease is very old when its counter has been
    /// unchanged for longer than this many failover times. Default 3.
    pub very_old_lease_multiplier: u32,
}

impl Default for StrategySettings {
    fn default() -> Self {
        Self {
            failover_time: Duration::from_secs(10),
            max_leases_to_steal_at_one_time: 1,
            max_leases_per_worker: usize::MAX,
            priority_lease_assignment: true,
            very_old_lease_multiplier: 3,
        }
    }
}

impl StrategySettings {
    /// Sets [`failover_time`](Self::failover_time).
    #[must_use]
    pub fn with_failover_time(mut self, failover_time: Duration) -> Self {
        self.failover_time = failover_time;
        self
    }

    /// Sets [`max_leases_to_steal_at_one_time`](Self::max_leases_to_steal_at_one_time).
    #[must_use]
    pub fn with_max_leases_to_steal_at_one_time(mut self, max: usize) -> Self {
        self.max_leases_to_steal_at_one_time = max;
        self
    }

    /// Sets [`max_leases_per_worker`](Self::max_leases_per_worker) (`usize::MAX`: unlimited).
    #[must_use]
    pub fn with_max_leases_per_worker(mut self, max: usize) -> Self {
        self.max_leases_per_worker = max;
        self
    }

    /// Sets [`priority_lease_assignment`](Self::priority_lease_assignment).
    #[must_use]
    pub fn with_priority_lease_assignment(mut self, enabled: bool) -> Self {
        self.priority_lease_assignment = enabled;
        self
    }

    /// Sets [`very_old_lease_multiplier`](Self::very_old_lease_multiplier).
    #[must_use]
    pub fn with_very_old_lease_multiplier(mut self, multiplier: u32) -> Self {
        self.very_old_lease_multiplier = multiplier;
        self
    }

    /// How long a lease's counter must stay unchanged for the lease to be very old.
    pub fn very_old_after(&self) -> Duration {
        self.failover_time
            .saturating_mul(self.very_old_lease_multiplier)
    }
}

/// One lease as this worker sees it: the row, and how long this worker has seen its counter
/// unchanged (on its own monotonic clock, as the KCL's `lastCounterIncrementNanos`).
///
/// The KCL treats a lease it sees for the first time as renewed at that scan when it has an
/// owner, and as never renewed when it has none (so an unowned lease is very old from the
/// start); a coordinator that wants exactly that passes [`Duration::MAX`] for a new unowned
/// lease.
///
/// ```
/// use std::time::Duration;
/// use kinesis_kcl_compat::lease::Lease;
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::strategy::{LeaseView, StrategySettings};
/// use tokio::time::Instant;
///
/// let mut lease = Lease::new("shardId-000000000000".parse()?, Checkpoint::LATEST);
/// lease.lease_owner = Some("worker-a".to_owned());
/// let settings = StrategySettings::default();
///
/// let seen = Instant::now();
/// let view = LeaseView::observed(&lease, seen, seen + Duration::from_secs(11));
/// assert_eq!(view.unchanged_for, Duration::from_secs(11));
/// assert!(view.is_expired(&settings) && view.is_available(&settings));
/// assert!(!view.is_very_old(&settings)); // very old after 3 × 10 s
/// assert!(!LeaseView::new(&lease, Duration::from_secs(10)).is_expired(&settings));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub struct LeaseView<'a> {
    /// The lease as last read from the table.
    pub lease: &'a Lease,
    /// How long this worker has seen the lease's counter unchanged.
    pub unchanged_for: Duration,
}

impl<'a> LeaseView<'a> {
    /// A lease whose counter has been unchanged for `unchanged_for`.
    pub fn new(lease: &'a Lease, unchanged_for: Duration) -> Self {
        Self {
            lease,
            unchanged_for,
        }
    }

    /// A lease whose counter this worker last saw change at `last_counter_change`, seen at
    /// `now` (both on the same monotonic clock; a `last_counter_change` after `now` counts as
    /// no time at all).
    pub fn observed(lease: &'a Lease, last_counter_change: Instant, now: Instant) -> Self {
        Self::new(lease, now.saturating_duration_since(last_counter_change))
    }

    /// The lease's key.
    pub fn key(&self) -> &'a LeaseKey {
        &self.lease.lease_key
    }

    /// The lease's owner, if any.
    pub fn owner(&self) -> Option<&'a str> {
        self.lease.lease_owner.as_deref()
    }

    /// Whether `worker_id` owns the lease.
    pub fn is_owned_by(&self, worker_id: &str) -> bool {
        self.owner() == Some(worker_id)
    }

    /// Whether the lease is not finished (its checkpoint is not `SHARD_END`). Strategies ignore
    /// finished leases.
    pub fn is_open(&self) -> bool {
        !self.lease.checkpoint.is_shard_end()
    }

    /// Whether the lease has an owner whose counter has not moved for longer than the failover
    /// time: its owner is presumed dead.
    pub fn is_expired(&self, settings: &StrategySettings) -> bool {
        self.owner().is_some() && self.unchanged_for > settings.failover_time
    }

    /// Whether the lease may be taken without stealing: it has no owner, or it is expired.
    pub fn is_available(&self, settings: &StrategySettings) -> bool {
        self.owner().is_none() || self.is_expired(settings)
    }

    /// Whether the lease's counter has not moved for longer than
    /// [`StrategySettings::very_old_after`] (owned or not).
    pub fn is_very_old(&self, settings: &StrategySettings) -> bool {
        self.unchanged_for > settings.very_old_after()
    }
}

/// What a strategy decides from: this worker's view of the lease table at one taker tick.
///
/// ```
/// use kinesis_kcl_compat::lease::LeaseKey;
/// use kinesis_lease::strategy::{Snapshot, StrategySettings};
///
/// let settings = StrategySettings::default();
/// let new_shards: Vec<LeaseKey> = vec!["shardId-000000000004".parse()?];
/// let snapshot = Snapshot::new("worker-a", &[], &new_shards, &settings);
/// assert_eq!(snapshot.worker_id, "worker-a");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'a> {
    /// This worker's id (the `leaseOwner` it writes).
    pub worker_id: &'a str,
    /// Every lease of the table. Finished leases (`SHARD_END`) may be included; strategies
    /// ignore them.
    pub leases: &'a [LeaseView<'a>],
    /// Shards ready to consume (see [`crate::lineage::shards_ready_to_consume`]) that have no
    /// lease yet, as the keys their leases would have. Keys that do have a lease are ignored.
    pub unleased_shards: &'a [LeaseKey],
    /// The lease-taking settings.
    pub settings: &'a StrategySettings,
}

impl<'a> Snapshot<'a> {
    /// A snapshot for `worker_id`.
    pub fn new(
        worker_id: &'a str,
        leases: &'a [LeaseView<'a>],
        unleased_shards: &'a [LeaseKey],
        settings: &'a StrategySettings,
    ) -> Self {
        Self {
            worker_id,
            leases,
            unleased_shards,
            settings,
        }
    }

    /// The open (not `SHARD_END`) leases, in snapshot order.
    pub fn open_leases(&self) -> impl Iterator<Item = &'a LeaseView<'a>> + 'a {
        self.leases.iter().filter(|v| v.is_open())
    }

    /// The open leases this worker owns, in snapshot order.
    pub fn own_leases(&self) -> impl Iterator<Item = &'a LeaseView<'a>> + 'a {
        let me = self.worker_id;
        self.open_leases().filter(move |v| v.is_owned_by(me))
    }

    /// The unleased shards that really have no lease (any lease, finished or not), without
    /// duplicates, in snapshot order.
    pub fn shards_without_lease(&self) -> Vec<&'a LeaseKey> {
        let mut seen: BTreeSet<&LeaseKey> = self.leases.iter().map(LeaseView::key).collect();
        self.unleased_shards
            .iter()
            .filter(|k| seen.insert(k))
            .collect()
    }
}

/// A lease to steal: its key and the worker holding it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Steal {
    /// The lease to take.
    pub lease_key: LeaseKey,
    /// Its current owner.
    pub from: String,
}

impl Steal {
    /// Steal `lease_key` from `from`.
    pub fn new(lease_key: LeaseKey, from: impl Into<String>) -> Self {
        Self {
            lease_key,
            from: from.into(),
        }
    }
}

/// What a strategy wants this worker to do at one taker tick.
///
/// The coordinator keeps renewing [`keep`](Self::keep), takes [`take`](Self::take) (a write
/// conditional on the counter it read), creates [`create`](Self::create) owned by this worker
/// (a conditional put; losing the race is normal), steals [`steal`](Self::steal) (a take from a
/// live owner) and releases [`release`](Self::release). Own leases in none of the lists are
/// left alone (kept).
///
/// ```
/// use kinesis_lease::strategy::Assignment;
///
/// let mut assignment = Assignment::default();
/// assignment.create.push("shardId-000000000009".parse()?);
/// assert_eq!(assignment.wanted_count(), 1);
/// assert!(assignment.has_changes());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Own leases to keep.
    pub keep: Vec<LeaseKey>,
    /// Existing leases without owner, or expired, to take.
    pub take: Vec<LeaseKey>,
    /// Shards without a lease, for which to create a lease owned by this worker.
    pub create: Vec<LeaseKey>,
    /// Leases of live workers to take.
    pub steal: Vec<Steal>,
    /// Own leases to give up (clear the owner).
    pub release: Vec<LeaseKey>,
    /// The number of leases the strategy aims for, when it has one.
    pub target: Option<usize>,
    /// How far the target was cut by [`StrategySettings::max_leases_per_worker`] (the KCL's
    /// `LeaseSpillover` metric).
    pub spillover: usize,
}

impl Assignment {
    /// Turns the set of leases a worker wants to hold into an assignment, as zio-kinesis's
    /// `desiredShards` does: each wanted key is kept (own lease), taken (no owner, or expired),
    /// stolen (live owner) or created (an unleased shard of the snapshot); own leases not wanted
    /// are released. Keys of finished leases and keys the snapshot does not know are ignored.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kinesis_kcl_compat::lease::{Lease, LeaseKey};
    /// use kinesis_kcl_compat::sequence::Checkpoint;
    /// use kinesis_lease::strategy::{Assignment, LeaseView, Snapshot, Steal, StrategySettings};
    ///
    /// let key = |s: &str| s.parse::<LeaseKey>().unwrap();
    /// let mut mine = Lease::new(key("shardId-1"), Checkpoint::LATEST);
    /// mine.lease_owner = Some("me".into());
    /// let mut theirs = Lease::new(key("shardId-2"), Checkpoint::LATEST);
    /// theirs.lease_owner = Some("other".into());
    /// let views = [LeaseView::new(&mine, Duration::ZERO), LeaseView::new(&theirs, Duration::ZERO)];
    /// let settings = StrategySettings::default();
    /// let unleased = [key("shardId-3")];
    /// let snapshot = Snapshot::new("me", &views, &unleased, &settings);
    ///
    /// let a = Assignment::from_desired(&snapshot, [key("shardId-2"), key("shardId-3")]);
    /// assert_eq!(a.release, [key("shardId-1")]);
    /// assert_eq!(a.steal, [Steal::new(key("shardId-2"), "other")]);
    /// assert_eq!(a.create, [key("shardId-3")]);
    /// ```
    pub fn from_desired(
        snapshot: &Snapshot<'_>,
        desired: impl IntoIterator<Item = LeaseKey>,
    ) -> Assignment {
        let desired: BTreeSet<LeaseKey> = desired.into_iter().collect();
        let settings = snapshot.settings;
        let mut out = Assignment::default();
        for view in snapshot.open_leases() {
            let wanted = desired.contains(view.key());
            match view.owner() {
                Some(owner) if owner == snapshot.worker_id => {
                    if wanted {
                        out.keep.push(view.key().clone());
                    } else {
                        out.release.push(view.key().clone());
                    }
                }
                _ if !wanted => {}
                Some(owner) if !view.is_expired(settings) => {
                    out.steal.push(Steal::new(view.key().clone(), owner));
                }
                _ => out.take.push(view.key().clone()),
            }
        }
        out.create = snapshot
            .shards_without_lease()
            .into_iter()
            .filter(|k| desired.contains(*k))
            .cloned()
            .collect();
        out
    }

    /// Every lease this worker wants to hold after the tick: kept, taken, created and stolen.
    pub fn wanted(&self) -> impl Iterator<Item = &LeaseKey> {
        self.keep
            .iter()
            .chain(&self.take)
            .chain(&self.create)
            .chain(self.steal.iter().map(|s| &s.lease_key))
    }

    /// How many leases this worker wants to hold after the tick.
    pub fn wanted_count(&self) -> usize {
        self.keep.len() + self.take.len() + self.create.len() + self.steal.len()
    }

    /// Whether the assignment asks for any write: a take, create, steal or release.
    pub fn has_changes(&self) -> bool {
        !(self.take.is_empty()
            && self.create.is_empty()
            && self.steal.is_empty()
            && self.release.is_empty())
    }
}

/// Decides which leases this worker wants, from a [`Snapshot`] of the lease table.
///
/// Implementations must be pure functions of the snapshot (plus, at most, their own seeded
/// randomness): the coordinator calls [`assign`](Self::assign) once per taker tick and carries
/// out the answer with conditional writes, so a stale or racing answer costs a failed write,
/// never a double owner. Every worker sharing a lease table should use compatible strategies;
/// [`Balanced`] is compatible with Java KCL 2.x workers.
///
/// A custom strategy: take every lease nobody is using, never steal. [`Assignment::from_desired`]
/// turns a set of wanted leases into the writes.
///
/// ```
/// use std::time::Duration;
/// use kinesis_kcl_compat::lease::{Lease, LeaseKey};
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::strategy::{
///     Assignment, AssignmentStrategy, LeaseView, Snapshot, StrategySettings,
/// };
///
/// #[derive(Debug)]
/// struct Greedy;
///
/// impl AssignmentStrategy for Greedy {
///     fn assign(&self, snapshot: &Snapshot<'_>) -> Assignment {
///         let me = snapshot.worker_id;
///         let wanted = snapshot
///             .open_leases()
///             .filter(|v| v.is_owned_by(me) || v.is_available(snapshot.settings))
///             .map(|v| v.key().clone())
///             .chain(snapshot.shards_without_lease().into_iter().cloned());
///         Assignment::from_desired(snapshot, wanted)
///     }
/// }
///
/// let mut free = Lease::new("shardId-1".parse()?, Checkpoint::TRIM_HORIZON);
/// let mut busy = Lease::new("shardId-2".parse()?, Checkpoint::TRIM_HORIZON);
/// busy.lease_owner = Some("other".to_owned());
/// let views = [LeaseView::new(&free, Duration::ZERO), LeaseView::new(&busy, Duration::ZERO)];
/// let settings = StrategySettings::default();
/// let strategy: Box<dyn AssignmentStrategy> = Box::new(Greedy);
/// let a = strategy.assign(&Snapshot::new("me", &views, &[], &settings));
/// assert_eq!(a.take, ["shardId-1".parse::<LeaseKey>()?]);
/// assert!(a.steal.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AssignmentStrategy: Send + Sync + fmt::Debug {
    /// What this worker wants, given the snapshot.
    fn assign(&self, snapshot: &Snapshot<'_>) -> Assignment;
}

impl<T: AssignmentStrategy + ?Sized> AssignmentStrategy for Box<T> {
    fn assign(&self, snapshot: &Snapshot<'_>) -> Assignment {
        (**self).assign(snapshot)
    }
}

impl<T: AssignmentStrategy + ?Sized> AssignmentStrategy for Arc<T> {
    fn assign(&self, snapshot: &Snapshot<'_>) -> Assignment {
        (**self).assign(snapshot)
    }
}

/// A strategy's random source: seeded from the OS, or from a fixed seed for tests.
struct SharedRng(Mutex<StdRng>);

impl SharedRng {
    fn from_os() -> Self {
        Self(Mutex::new(StdRng::from_os_rng()))
    }

    fn seeded(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }

    fn lock(&self) -> MutexGuard<'_, StdRng> {
        // The generator has no invariant a panic could break.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for SharedRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StdRng")
    }
}

/// Counts the live (not expired) open leases per owner other than `me`.
fn live_counts<'a>(snapshot: &Snapshot<'a>) -> HashMap<&'a str, usize> {
    let mut counts = HashMap::new();
    for view in snapshot.open_leases() {
        if let Some(owner) = view.owner()
            && owner != snapshot.worker_id
            && !view.is_expired(snapshot.settings)
        {
            *counts.entry(owner).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinesis_kcl_compat::sequence::Checkpoint;

    fn lease(owner: Option<&str>) -> Lease {
        let mut l = Lease::new("shardId-0".parse().unwrap(), Checkpoint::LATEST);
        l.lease_owner = owner.map(str::to_owned);
        l
    }

    #[test]
    fn observed_in_the_future_counts_as_no_time() {
        let l = lease(Some("a"));
        let now = Instant::now();
        let v = LeaseView::observed(&l, now + Duration::from_secs(5), now);
        assert_eq!(v.unchanged_for, Duration::ZERO);
    }

    #[test]
    fn unowned_leases_are_available_but_never_expired() {
        let settings = StrategySettings::default();
        let l = lease(None);
        let v = LeaseView::new(&l, Duration::from_secs(3600));
        assert!(!v.is_expired(&settings));
        assert!(v.is_available(&settings));
        assert!(v.is_very_old(&settings));
        assert_eq!(v.owner(), None);
    }

    #[test]
    fn very_old_threshold_saturates() {
        let settings = StrategySettings::default()
            .with_failover_time(Duration::MAX)
            .with_very_old_lease_multiplier(3);
        assert_eq!(settings.very_old_after(), Duration::MAX);
        let l = lease(Some("a"));
        assert!(!LeaseView::new(&l, Duration::MAX).is_very_old(&settings));
    }

    #[test]
    fn live_counts_skip_self_expired_and_finished() {
        let settings = StrategySettings::default();
        let mine = lease(Some("me"));
        let live = lease(Some("a"));
        let dead = lease(Some("b"));
        let mut done = lease(Some("c"));
        done.checkpoint = Checkpoint::SHARD_END;
        let views = [
            LeaseView::new(&mine, Duration::ZERO),
            LeaseView::new(&live, Duration::ZERO),
            LeaseView::new(&dead, Duration::from_secs(11)),
            LeaseView::new(&done, Duration::ZERO),
        ];
        let counts = live_counts(&Snapshot::new("me", &views, &[], &settings));
        assert_eq!(counts, HashMap::from([("a", 1)]));
    }

    #[test]
    fn seeded_rngs_repeat() {
        use rand::Rng;
        let a: u64 = SharedRng::seeded(9).lock().random();
        let b: u64 = SharedRng::seeded(9).lock().random();
        assert_eq!(a, b);
        assert_eq!(format!("{:?}", SharedRng::from_os()), "StdRng");
    }
}
