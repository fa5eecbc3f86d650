//! Property tests of the balanced strategy on random tables: up to 500 leases and 300 workers,
//! random ownership and expiry (the shape of zio-kinesis's `ShardAssignmentStrategyTest`, with
//! the KCL 2.x rules as the oracle).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::strategy::{
    Assignment, AssignmentStrategy, Balanced, LeaseView, Snapshot, StrategySettings,
};
use proptest::prelude::*;

const ME: &str = "w0";

/// One lease of a generated table.
#[derive(Clone, Debug)]
struct Row {
    /// Owner index (0 is this worker), or none.
    owner: Option<usize>,
    /// Seconds the counter has been unchanged.
    age_secs: u64,
    finished: bool,
}

#[derive(Clone, Debug)]
struct Case {
    rows: Vec<Row>,
    unleased: usize,
    max_steal: usize,
    max_per_worker: usize,
    seed: u64,
}

fn case(max_age_secs: u64) -> impl Strategy<Value = Case> {
    (1usize..=300).prop_flat_map(move |workers| {
        let row = (
            prop::option::weighted(0.85, 0..workers),
            prop_oneof![4 => 0..=10u64, 1 => 0..=max_age_secs],
            prop::bool::weighted(0.05),
        )
            .prop_map(|(owner, age_secs, finished)| Row {
                owner,
                age_secs,
                finished,
            });
        (
            prop::collection::vec(row, 0..=500),
            0usize..=30,
            0usize..=4,
            prop_oneof![3 => Just(usize::MAX), 1 => 1usize..=50],
            any::<u64>(),
            prop::bool::weighted(0.4),
        )
            .prop_map(
                move |(mut rows, mut unleased, max_steal, max_per_worker, seed, calm)| {
                    if calm {
                        // Every lease held and renewed, no new shard: the stealing rules decide.
                        for (i, r) in rows.iter_mut().enumerate() {
                            r.owner = Some(r.owner.unwrap_or(i % workers));
                            r.age_secs = r.age_secs.min(10);
                        }
                        unleased = 0;
                    }
                    Case {
                        rows,
                        unleased,
                        max_steal,
                        max_per_worker,
                        seed,
                    }
                },
            )
    })
}

fn key(i: usize) -> LeaseKey {
    format!("shardId-{i:012}").parse().unwrap()
}

struct Built {
    leases: Vec<Lease>,
    ages: Vec<Duration>,
    unleased: Vec<LeaseKey>,
    settings: StrategySettings,
}

fn build(c: &Case, priority: bool) -> Built {
    let leases = c
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let cp = if r.finished {
                Checkpoint::SHARD_END
            } else {
                Checkpoint::TRIM_HORIZON
            };
            let mut l = Lease::new(key(i), cp);
            l.lease_owner = r.owner.map(|o| format!("w{o}"));
            l
        })
        .collect();
    Built {
        leases,
        ages: c
            .rows
            .iter()
            .map(|r| Duration::from_secs(r.age_secs))
            .collect(),
        unleased: (0..c.unleased).map(|i| key(100_000 + i)).collect(),
        settings: StrategySettings::default()
            .with_max_leases_to_steal_at_one_time(c.max_steal)
            .with_max_leases_per_worker(c.max_per_worker)
            .with_priority_lease_assignment(priority),
    }
}

/// Which rule decided an assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    Empty,
    VeryOld,
    AtTarget,
    Take,
    Steal,
    NoSteal,
}

/// Checks one assignment against the KCL 2.x rules, computed independently.
fn check(b: &Built, a: &Assignment) -> Result<Rule, TestCaseError> {
    let s = &b.settings;
    let open: Vec<(&Lease, Duration)> = b
        .leases
        .iter()
        .zip(b.ages.iter().copied())
        .filter(|(l, _)| !l.checkpoint.is_shard_end())
        .collect();
    let owner = |l: &Lease| l.lease_owner.clone();
    let expired = |l: &Lease, age: Duration| l.lease_owner.is_some() && age > s.failover_time;
    let mine: Vec<&LeaseKey> = open
        .iter()
        .filter(|(l, _)| owner(l).as_deref() == Some(ME))
        .map(|(l, _)| &l.lease_key)
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (l, age) in &open {
        if let Some(o) = owner(l)
            && o != ME
            && !expired(l, *age)
        {
            *counts.entry(o).or_default() += 1;
        }
    }
    let available: BTreeSet<&LeaseKey> = open
        .iter()
        .filter(|(l, age)| {
            owner(l).as_deref() != Some(ME) && (l.lease_owner.is_none() || expired(l, *age))
        })
        .map(|(l, _)| &l.lease_key)
        .collect();
    let very_old: BTreeSet<&LeaseKey> = open
        .iter()
        .filter(|(l, age)| owner(l).as_deref() != Some(ME) && *age > s.very_old_after())
        .map(|(l, _)| &l.lease_key)
        .collect();
    let unleased: BTreeSet<&LeaseKey> = b.unleased.iter().collect();
    let n = open.len() + unleased.len();
    let my = mine.len();

    // Own leases are kept first, and nothing is ever released.
    prop_assert_eq!(a.keep.iter().collect::<Vec<_>>(), mine);
    prop_assert!(a.release.is_empty());
    // Nothing is wanted twice.
    let wanted: BTreeSet<&LeaseKey> = a.wanted().collect();
    prop_assert_eq!(wanted.len(), a.wanted_count());

    if n == 0 {
        prop_assert_eq!(a.target, None);
        prop_assert!(!a.has_changes());
        return Ok(Rule::Empty);
    }
    let workers = counts.len() + 1;
    let uncapped = n.div_ceil(workers);
    let target = uncapped.min(s.max_leases_per_worker);
    prop_assert_eq!(a.target, Some(target));
    prop_assert_eq!(a.spillover, uncapped - target);

    if s.priority_lease_assignment && !very_old.is_empty() {
        // Very old leases first, whatever the target, within the per-worker maximum.
        let expected = very_old
            .len()
            .min(s.max_leases_per_worker.saturating_sub(my));
        prop_assert_eq!(a.take.len(), expected);
        prop_assert!(a.take.iter().all(|k| very_old.contains(k)));
        prop_assert!(a.create.is_empty() && a.steal.is_empty());
        return Ok(Rule::VeryOld);
    }

    // Never more than the target (unless already above it).
    prop_assert!(a.wanted_count() <= my.max(target));
    let needed = target.saturating_sub(my);
    if needed == 0 {
        prop_assert!(!a.has_changes());
        return Ok(Rule::AtTarget);
    }
    let free = available.len() + unleased.len();
    if free > 0 {
        // Prefers free and expired leases to stealing, and takes as many as it needs.
        prop_assert!(a.steal.is_empty());
        prop_assert_eq!(a.take.len() + a.create.len(), needed.min(free));
        prop_assert!(a.take.iter().all(|k| available.contains(k)));
        prop_assert!(a.create.iter().all(|k| unleased.contains(k)));
        // Never below min(target, what it holds plus what is free).
        prop_assert!(a.wanted_count() >= target.min(my + free));
        return Ok(Rule::Take);
    }
    prop_assert!(a.take.is_empty() && a.create.is_empty());
    // Steals only from the single busiest worker, at most max_leases_to_steal_at_one_time.
    let most = counts.values().copied().max().unwrap_or(0);
    let expected = if most < target {
        0
    } else {
        let excess = most - target;
        let n = if needed > 1 && excess == 0 {
            1
        } else {
            needed.min(excess)
        };
        n.min(s.max_leases_to_steal_at_one_time)
    };
    prop_assert_eq!(a.steal.len(), expected);
    prop_assert!(a.steal.len() <= s.max_leases_to_steal_at_one_time);
    let victims: BTreeSet<&str> = a.steal.iter().map(|x| x.from.as_str()).collect();
    prop_assert!(victims.len() <= 1);
    for steal in &a.steal {
        prop_assert_eq!(counts.get(&steal.from).copied(), Some(most));
        let (l, age) = open
            .iter()
            .find(|(l, _)| l.lease_key == steal.lease_key)
            .expect("stolen lease exists");
        prop_assert_eq!(l.lease_owner.as_deref(), Some(steal.from.as_str()));
        prop_assert!(!expired(l, *age));
    }
    Ok(if expected > 0 {
        Rule::Steal
    } else {
        Rule::NoSteal
    })
}

fn run(b: &Built, seed: u64) -> Assignment {
    let views: Vec<LeaseView<'_>> = b
        .leases
        .iter()
        .zip(&b.ages)
        .map(|(l, a)| LeaseView::new(l, *a))
        .collect();
    Balanced::with_seed(seed).assign(&Snapshot::new(ME, &views, &b.unleased, &b.settings))
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(512)
    })]

    /// Without priority assignment: fair share bounds, own leases first, free before stolen,
    /// steals only from the busiest worker and never more than the maximum.
    #[test]
    fn balanced_follows_the_kcl_rules(c in case(20)) {
        let b = build(&c, false);
        check(&b, &run(&b, c.seed))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    })]

    /// With priority assignment and some very old leases (unchanged for over 30 s).
    #[test]
    fn balanced_takes_very_old_leases_first(c in case(60)) {
        let b = build(&c, true);
        check(&b, &run(&b, c.seed))?;
    }

    /// The same seed gives the same answer.
    #[test]
    fn balanced_is_deterministic_for_a_seed(c in case(60)) {
        let b = build(&c, true);
        prop_assert_eq!(run(&b, c.seed), run(&b, c.seed));
    }
}

/// The generated tables reach every rule often, so the properties above test each of them.
#[test]
fn generated_tables_exercise_every_rule() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<(bool, Rule), usize> = BTreeMap::new();
    for priority in [false, true] {
        let cases = case(if priority { 60 } else { 20 });
        for _ in 0..200 {
            let c = cases.new_tree(&mut runner).unwrap().current();
            let b = build(&c, priority);
            let rule = check(&b, &run(&b, c.seed)).unwrap();
            *seen.entry((priority, rule)).or_default() += 1;
        }
    }
    eprintln!("rules decided: {seen:?}");
    for rule in [Rule::AtTarget, Rule::Take, Rule::Steal, Rule::NoSteal] {
        assert!(
            seen.get(&(false, rule)).copied().unwrap_or(0) >= 10,
            "{rule:?}: {seen:?}"
        );
    }
    assert!(
        seen.get(&(true, Rule::VeryOld)).copied().unwrap_or(0) >= 10,
        "{seen:?}"
    );
}
