//! A fleet of workers applying the balanced strategy in rounds over one shared lease table
//! settles: after a bounded number of rounds every live worker holds between floor and ceil of
//! the fair share, every lease has one owner, and no worker believes it holds a lease another
//! holds.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::strategy::{
    AssignmentStrategy, Balanced, LeaseView, Snapshot, StrategySettings,
};
use proptest::prelude::*;

fn key(i: usize) -> LeaseKey {
    format!("shardId-{i:012}").parse().unwrap()
}

fn worker(i: usize) -> String {
    format!("worker-{i}")
}

/// Initial owner of a shard's lease.
#[derive(Clone, Copy, Debug)]
enum Init {
    /// No lease yet: the shard is ready and unleased.
    NoLease,
    /// A lease without owner.
    Unowned,
    /// Held by live worker `i % alive`.
    Alive(usize),
    /// Held by dead worker `i % dead` (its counter never moves again).
    Dead(usize),
}

#[derive(Clone, Debug)]
struct Fleet {
    alive: usize,
    dead: usize,
    shards: Vec<Init>,
    priority: bool,
    max_steal: usize,
    seed: u64,
}

fn fleet() -> impl Strategy<Value = Fleet> {
    let init = prop_oneof![
        1 => Just(Init::NoLease),
        1 => Just(Init::Unowned),
        4 => any::<usize>().prop_map(Init::Alive),
        2 => any::<usize>().prop_map(Init::Dead),
    ];
    (
        1usize..=20,
        0usize..=5,
        prop::collection::vec(init, 0..=200),
        any::<bool>(),
        1usize..=3,
        any::<u64>(),
    )
        .prop_map(|(alive, dead, shards, priority, max_steal, seed)| Fleet {
            alive,
            dead,
            shards,
            priority,
            max_steal,
            seed,
        })
}

/// The shared table: one lease per created shard.
struct Table {
    leases: BTreeMap<LeaseKey, Lease>,
    /// Shards without a lease.
    unleased: BTreeSet<LeaseKey>,
    dead: BTreeSet<String>,
}

impl Table {
    fn views(&self) -> Vec<LeaseView<'_>> {
        self.leases
            .values()
            .map(|l| {
                // Live owners renew every round; dead owners stopped long ago.
                let silent = l
                    .lease_owner
                    .as_ref()
                    .is_some_and(|o| self.dead.contains(o));
                let age = if silent {
                    Duration::from_secs(3600)
                } else {
                    Duration::ZERO
                };
                LeaseView::new(l, age)
            })
            .collect()
    }

    fn count(&self, w: &str) -> usize {
        self.leases
            .values()
            .filter(|l| l.lease_owner.as_deref() == Some(w))
            .count()
    }
}

struct Outcome {
    rounds: usize,
    converged: bool,
}

/// How workers see the table during a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Views {
    /// Each worker sees the writes of those before it in the round (instant takes).
    Fresh,
    /// Every worker decides from the table as it was at the start of the round; writes are
    /// conditional on the counter each worker read, so racing takes fail as in DynamoDB.
    Stale,
}

fn simulate(f: &Fleet, views: Views, max_rounds: usize) -> Result<Outcome, TestCaseError> {
    let mut table = Table {
        leases: BTreeMap::new(),
        unleased: BTreeSet::new(),
        dead: (0..f.dead).map(|i| worker(1000 + i)).collect(),
    };
    for (i, init) in f.shards.iter().enumerate() {
        let owner = match *init {
            Init::NoLease => {
                table.unleased.insert(key(i));
                continue;
            }
            Init::Unowned => None,
            Init::Alive(w) => Some(worker(w % f.alive)),
            Init::Dead(w) if f.dead > 0 => Some(worker(1000 + w % f.dead)),
            Init::Dead(_) => None,
        };
        let mut lease = Lease::new(key(i), Checkpoint::TRIM_HORIZON);
        lease.lease_owner = owner;
        table.leases.insert(key(i), lease);
    }
    let settings = StrategySettings::default()
        .with_priority_lease_assignment(f.priority)
        .with_max_leases_to_steal_at_one_time(f.max_steal);
    let strategies: Vec<Balanced> = (0..f.alive)
        .map(|w| Balanced::with_seed(f.seed.wrapping_add(w as u64)))
        .collect();
    // What each worker believes it holds (learnt from its own successful writes).
    let mut held: Vec<BTreeSet<LeaseKey>> = (0..f.alive)
        .map(|w| {
            let me = worker(w);
            table
                .leases
                .values()
                .filter(|l| l.lease_owner.as_deref() == Some(me.as_str()))
                .map(|l| l.lease_key.clone())
                .collect()
        })
        .collect();

    let total = f.shards.len();
    let (floor, ceil) = (total / f.alive, total.div_ceil(f.alive));
    let settled = |t: &Table| {
        t.unleased.is_empty()
            && t.leases
                .values()
                .all(|l| l.lease_owner.as_ref().is_some_and(|o| !t.dead.contains(o)))
            && (0..f.alive).all(|w| (floor..=ceil).contains(&t.count(&worker(w))))
    };

    let mut order: Vec<usize> = (0..f.alive).collect();
    let mut rounds = 0;
    while !settled(&table) && rounds < max_rounds {
        rounds += 1;
        // A different order each round.
        order.rotate_left(1 + (f.seed as usize + rounds) % f.alive.max(1));
        let round_start = (table.leases.clone(), table.unleased.clone());
        for &w in &order {
            let me = worker(w);
            // Refresh: drop what was stolen.
            held[w].retain(|k| table.leases[k].lease_owner.as_deref() == Some(me.as_str()));
            let seen = match views {
                Views::Fresh => (table.leases.clone(), table.unleased.clone()),
                Views::Stale => round_start.clone(),
            };
            let read = Table {
                leases: seen.0,
                unleased: seen.1,
                dead: table.dead.clone(),
            };
            let unleased: Vec<LeaseKey> = read.unleased.iter().cloned().collect();
            let a = {
                let views = read.views();
                strategies[w].assign(&Snapshot::new(&me, &views, &unleased, &settings))
            };
            // A conditional write: the lease's counter is still the one this worker read.
            let unchanged = |t: &Table, k: &LeaseKey| {
                t.leases.get(k).map(|l| l.lease_counter)
                    == read.leases.get(k).map(|l| l.lease_counter)
            };
            prop_assert!(a.release.is_empty());
            if views == Views::Fresh {
                prop_assert_eq!(
                    a.keep.iter().collect::<BTreeSet<_>>(),
                    held[w].iter().collect()
                );
            }
            for k in &a.take {
                let seen = &read.leases[k];
                let free = seen
                    .lease_owner
                    .as_ref()
                    .is_none_or(|o| read.dead.contains(o));
                prop_assert!(free, "took a live lease {:?}", k);
                if !unchanged(&table, k) {
                    continue; // lost the race
                }
                let l = table.leases.get_mut(k).expect("taken lease exists");
                l.lease_owner = Some(me.clone());
                l.lease_counter += 1;
                held[w].insert(k.clone());
            }
            for k in &a.create {
                prop_assert!(
                    read.unleased.contains(k),
                    "created an existing lease {:?}",
                    k
                );
                if !table.unleased.remove(k) {
                    continue; // another worker created it first
                }
                let mut l = Lease::new(k.clone(), Checkpoint::TRIM_HORIZON);
                l.lease_owner = Some(me.clone());
                table.leases.insert(k.clone(), l);
                held[w].insert(k.clone());
            }
            for s in &a.steal {
                let seen = &read.leases[&s.lease_key];
                prop_assert_eq!(seen.lease_owner.as_deref(), Some(s.from.as_str()));
                prop_assert!(s.from != me && !read.dead.contains(&s.from));
                if !unchanged(&table, &s.lease_key) {
                    continue; // lost the race
                }
                let l = table
                    .leases
                    .get_mut(&s.lease_key)
                    .expect("stolen lease exists");
                l.lease_owner = Some(me.clone());
                l.lease_counter += 1;
                held[w].insert(s.lease_key.clone());
            }
        }
    }

    // Every worker refreshes once more; then beliefs and the table agree, one owner per lease.
    let mut believed: BTreeMap<&LeaseKey, usize> = BTreeMap::new();
    for (w, set) in held.iter_mut().enumerate() {
        let me = worker(w);
        set.retain(|k| table.leases[k].lease_owner.as_deref() == Some(me.as_str()));
        prop_assert_eq!(set.len(), table.count(&me));
        for k in set.iter() {
            *believed.entry(k).or_default() += 1;
        }
    }
    prop_assert!(
        believed.values().all(|&n| n == 1),
        "a lease with two owners"
    );
    Ok(Outcome {
        rounds,
        converged: settled(&table),
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    })]

    #[test]
    fn a_fleet_settles_within_bounded_rounds(f in fleet()) {
        let total = f.shards.len();
        // Stealing moves at least one lease per needy worker per round: the slowest case is one
        // worker holding everything (after taking the dead workers' very old leases).
        let bound = 2 * total.div_ceil(f.alive) + 2 * f.alive + 5;
        let outcome = simulate(&f, Views::Fresh, bound)?;
        prop_assert!(
            outcome.converged,
            "not settled after {} rounds ({} shards, {} live workers)",
            outcome.rounds,
            total,
            f.alive
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    })]

    /// Racing workers deciding from stale views still settle; conditional writes keep one owner
    /// per lease.
    #[test]
    fn racing_workers_settle_too(f in fleet()) {
        let total = f.shards.len();
        let bound = 4 * total.div_ceil(f.alive) + 4 * f.alive + 10;
        let outcome = simulate(&f, Views::Stale, bound)?;
        prop_assert!(
            outcome.converged,
            "not settled after {} rounds ({} shards, {} live workers)",
            outcome.rounds,
            total,
            f.alive
        );
    }
}

#[test]
fn one_worker_holding_everything_hands_over_one_lease_per_round() {
    let f = Fleet {
        alive: 4,
        dead: 0,
        shards: vec![Init::Alive(0); 40],
        priority: true,
        max_steal: 1,
        seed: 3,
    };
    let outcome = simulate(&f, Views::Fresh, 100).unwrap();
    assert!(outcome.converged);
    // Three newcomers need 10 each, stealing one per round each.
    assert!(outcome.rounds >= 10, "{} rounds", outcome.rounds);
    assert!(outcome.rounds <= 12, "{} rounds", outcome.rounds);
}

#[test]
fn dead_workers_leases_are_taken_over_then_spread() {
    let f = Fleet {
        alive: 3,
        dead: 2,
        shards: (0..30).map(Init::Dead).collect(),
        priority: false,
        max_steal: 1,
        seed: 11,
    };
    let outcome = simulate(&f, Views::Fresh, 50).unwrap();
    assert!(outcome.converged);
    // As with the KCL, a worker without leases is invisible to the others: the first to tick
    // sees itself alone and takes all 30; the other two then steal one per round each.
    assert!(outcome.rounds >= 10, "{} rounds", outcome.rounds);
    assert!(outcome.rounds <= 12, "{} rounds", outcome.rounds);
}
