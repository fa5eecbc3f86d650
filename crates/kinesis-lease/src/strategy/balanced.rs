//! The KCL 2.x lease taker's rules.

use std::collections::BTreeMap;

use kinesis_kcl_compat::lease::LeaseKey;
use rand::Rng;
use rand::seq::SliceRandom;

use super::{Assignment, AssignmentStrategy, LeaseView, SharedRng, Snapshot, Steal, live_counts};

/// Spreads leases evenly over the workers with the Java KCL 2.x lease taker's rules
/// (`DynamoDBLeaseTaker.computeLeasesToTake` and `chooseLeasesToSteal`), so that workers of this
/// crate and Java KCL 2.x workers (or KCL 3.x in 2.x-compatible mode) agree on every worker's
/// share and never steal back and forth.
///
/// At each taker tick, with `N` = open leases plus unleased ready shards, and `W` = the owners
/// of open leases that are not expired, plus this worker:
///
/// 1. **Target**: `ceil(N / W)`, capped at
///    [`max_leases_per_worker`](super::StrategySettings::max_leases_per_worker); the cut is
///    reported as [`Assignment::spillover`].
/// 2. **Very old leases first** (when
///    [`priority_lease_assignment`](super::StrategySettings::priority_lease_assignment) is on):
///    if some leases of other workers (or of nobody) have not changed for more than
///    [`very_old_after`](super::StrategySettings::very_old_after), take them in random order,
///    whatever the target, up to `max_leases_per_worker`, and do nothing else this tick.
/// 3. Otherwise, below target: **take** random available leases (no owner, or expired) and
///    create leases for unleased shards, up to the target.
/// 4. Below target with nothing available: **steal** from the single most-loaded worker (ties
///    broken at random): `min(needed, its excess over the target)` when it is above target, 1
///    when it is exactly at target and this worker needs more than 1; never more than
///    [`max_leases_to_steal_at_one_time`](super::StrategySettings::max_leases_to_steal_at_one_time).
///    The stolen leases are chosen at random among its live leases.
///
/// A worker that holds no lease is invisible to the others (they count owners of leases), as in
/// the KCL: when a fleet starts on an unowned table, the first worker to tick counts itself
/// alone and takes everything available, and the others then steal their share, at most
/// [`max_leases_to_steal_at_one_time`](super::StrategySettings::max_leases_to_steal_at_one_time)
/// per tick each.
///
/// All own open leases are kept, and none is ever released: the KCL never gives up surplus
/// leases voluntarily (others steal them), and releasing under rules the Java workers do not
/// share would make leases circulate. Own leases count towards this worker's load even when
/// this worker's view says they are expired (the KCL would re-take them; the coordinator's
/// renewal decides whether they are still ours). Finished (`SHARD_END`) leases are ignored: not
/// counted, not taken (the KCL counts them until its lease cleanup deletes them, so during that
/// window targets may differ by a little; the steal rules above tolerate a difference of one).
///
/// # Compared with zio-kinesis
///
/// zio-kinesis's `ShardAssignmentStrategy.balanced` aims at a floor-based fair share:
/// `floor(N / W)` leases, stealing from the busiest workers (several at once, with no cap) to
/// reach it, plus up to `N mod W` more only when they are free or expired. Its workers never
/// exceed `floor + N mod W` and steal more aggressively, so a fleet converges in fewer ticks.
/// But a zio-kinesis worker and a KCL worker disagree about the shares: with 5 leases and 2
/// workers, the KCL's target is 3 and zio's minimum 2, and the KCL steals from a worker that
/// is "exactly at target" when it needs 2 or more. This strategy uses the KCL's rules instead,
/// so that mixed fleets settle: in a stable state every worker holds `ceil(N / W)` or one less.
///
/// ```
/// use std::time::Duration;
/// use kinesis_kcl_compat::lease::{Lease, LeaseKey};
/// use kinesis_kcl_compat::sequence::Checkpoint;
/// use kinesis_lease::strategy::{AssignmentStrategy, Balanced, LeaseView, Snapshot, StrategySettings};
///
/// // Four leases: two held by a live worker, two by a worker silent for 15 s (expired).
/// let leases: Vec<Lease> = (0..4)
///     .map(|i| {
///         let mut l = Lease::new(format!("shardId-{i}").parse::<LeaseKey>().unwrap(), Checkpoint::LATEST);
///         l.lease_owner = Some(if i < 2 { "alive" } else { "silent" }.to_owned());
///         l
///     })
///     .collect();
/// let views: Vec<LeaseView<'_>> = leases
///     .iter()
///     .map(|l| {
///         let silent = l.lease_owner.as_deref() == Some("silent");
///         LeaseView::new(l, Duration::from_secs(if silent { 15 } else { 1 }))
///     })
///     .collect();
/// let settings = StrategySettings::default();
/// let a = Balanced::with_seed(1).assign(&Snapshot::new("me", &views, &[], &settings));
///
/// // Active workers: "alive" and "me"; target ceil(4 / 2) = 2, taken from the expired leases.
/// assert_eq!(a.target, Some(2));
/// assert_eq!(a.take.len(), 2);
/// assert!(a.steal.is_empty() && a.release.is_empty());
/// ```
#[derive(Debug)]
pub struct Balanced {
    rng: SharedRng,
}

impl Default for Balanced {
    fn default() -> Self {
        Self::new()
    }
}

impl Balanced {
    /// A balanced strategy with an OS-seeded random source.
    pub fn new() -> Self {
        Self {
            rng: SharedRng::from_os(),
        }
    }

    /// A balanced strategy whose random choices are fixed by `seed` (for tests and
    /// simulations).
    pub fn with_seed(seed: u64) -> Self {
        Self {
            rng: SharedRng::seeded(seed),
        }
    }
}

/// A lease or shard this worker might take.
enum Candidate<'a> {
    Lease(&'a LeaseKey),
    Shard(&'a LeaseKey),
}

impl AssignmentStrategy for Balanced {
    fn assign(&self, snapshot: &Snapshot<'_>) -> Assignment {
        let settings = snapshot.settings;
        let me = snapshot.worker_id;
        let mut out = Assignment {
            keep: snapshot.own_leases().map(|v| v.key().clone()).collect(),
            ..Assignment::default()
        };
        let my_count = out.keep.len();
        let unleased = snapshot.shards_without_lease();
        let others: Vec<&LeaseView<'_>> = snapshot
            .open_leases()
            .filter(|v| !v.is_owned_by(me))
            .collect();

        let num_leases = my_count + others.len() + unleased.len();
        if num_leases == 0 {
            return out;
        }
        // Sorted by owner so that a seeded run is reproducible.
        let counts: BTreeMap<&str, usize> = live_counts(snapshot).into_iter().collect();
        let num_workers = counts.len() + 1;
        let uncapped = num_leases.div_ceil(num_workers);
        let target = uncapped.min(settings.max_leases_per_worker);
        out.target = Some(target);
        out.spillover = uncapped - target;

        let mut rng = self.rng.lock();

        if settings.priority_lease_assignment {
            let mut very_old: Vec<&LeaseKey> = others
                .iter()
                .filter(|v| v.is_very_old(settings))
                .map(|v| v.key())
                .collect();
            if !very_old.is_empty() {
                very_old.shuffle(&mut *rng);
                very_old.truncate(settings.max_leases_per_worker.saturating_sub(my_count));
                out.take = very_old.into_iter().cloned().collect();
                return out;
            }
        }

        let needed = target.saturating_sub(my_count);
        if needed == 0 {
            return out;
        }

        let mut available: Vec<Candidate<'_>> = others
            .iter()
            .filter(|v| v.is_available(settings))
            .map(|v| Candidate::Lease(v.key()))
            .chain(unleased.into_iter().map(Candidate::Shard))
            .collect();
        if !available.is_empty() {
            available.shuffle(&mut *rng);
            for candidate in available.into_iter().take(needed) {
                match candidate {
                    Candidate::Lease(k) => out.take.push(k.clone()),
                    Candidate::Shard(k) => out.create.push(k.clone()),
                }
            }
            return out;
        }

        let Some(&most) = counts.values().max() else {
            return out;
        };
        if most < target {
            return out;
        }
        let excess = most - target;
        let mut to_steal = needed.min(excess);
        if needed > 1 && excess == 0 {
            to_steal = 1;
        }
        to_steal = to_steal.min(settings.max_leases_to_steal_at_one_time);
        if to_steal == 0 {
            return out;
        }
        let busiest: Vec<&str> = counts
            .iter()
            .filter(|&(_, &c)| c == most)
            .map(|(&w, _)| w)
            .collect();
        let victim = busiest[rng.random_range(0..busiest.len())];
        let mut candidates: Vec<&LeaseKey> = others
            .iter()
            .filter(|v| v.is_owned_by(victim) && !v.is_expired(settings))
            .map(|v| v.key())
            .collect();
        candidates.shuffle(&mut *rng);
        out.steal = candidates
            .into_iter()
            .take(to_steal)
            .map(|k| Steal::new(k.clone(), victim))
            .collect();
        out
    }
}
