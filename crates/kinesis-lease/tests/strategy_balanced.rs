//! The balanced strategy, scenario by scenario (the KCL 2.x lease taker's rules).

use std::collections::BTreeSet;
use std::time::Duration;

use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::strategy::{
    Assignment, AssignmentStrategy, Balanced, LeaseView, Snapshot, StrategySettings,
};

const LIVE: Duration = Duration::from_secs(1);
const EXPIRED: Duration = Duration::from_secs(11);
const VERY_OLD: Duration = Duration::from_secs(31);

fn key(i: usize) -> LeaseKey {
    format!("shardId-{i:012}").parse().unwrap()
}

/// A table of leases: (owner, unchanged for).
struct Table {
    leases: Vec<Lease>,
    ages: Vec<Duration>,
}

impl Table {
    fn new(spec: &[(Option<&str>, Duration)]) -> Self {
        let leases = spec
            .iter()
            .enumerate()
            .map(|(i, (owner, _))| {
                let mut l = Lease::new(key(i), Checkpoint::TRIM_HORIZON);
                l.lease_owner = owner.map(str::to_owned);
                l
            })
            .collect();
        Self {
            leases,
            ages: spec.iter().map(|(_, a)| *a).collect(),
        }
    }

    /// `n` live leases of each owner, in order.
    fn held(owners: &[(&str, usize)]) -> Self {
        let spec: Vec<(Option<&str>, Duration)> = owners
            .iter()
            .flat_map(|&(o, n)| std::iter::repeat_n((Some(o), LIVE), n))
            .collect();
        Self::new(&spec)
    }

    fn views(&self) -> Vec<LeaseView<'_>> {
        self.leases
            .iter()
            .zip(&self.ages)
            .map(|(l, a)| LeaseView::new(l, *a))
            .collect()
    }

    fn owner_of(&self, k: &LeaseKey) -> Option<&str> {
        self.leases
            .iter()
            .find(|l| &l.lease_key == k)
            .and_then(|l| l.lease_owner.as_deref())
    }
}

fn assign_with(
    table: &Table,
    me: &str,
    unleased: &[LeaseKey],
    settings: &StrategySettings,
    seed: u64,
) -> Assignment {
    let views = table.views();
    Balanced::with_seed(seed).assign(&Snapshot::new(me, &views, unleased, settings))
}

fn assign(table: &Table, me: &str) -> Assignment {
    assign_with(table, me, &[], &StrategySettings::default(), 42)
}

#[test]
fn empty_table_wants_nothing() {
    let a = assign(&Table::new(&[]), "me");
    assert_eq!(a, Assignment::default());
    assert!(!a.has_changes());
}

#[test]
fn new_worker_steals_one_from_the_only_worker() {
    let table = Table::held(&[("a", 10)]);
    let a = assign(&table, "me");
    assert_eq!(a.target, Some(5));
    assert_eq!(a.steal.len(), 1);
    assert_eq!(a.steal[0].from, "a");
    assert_eq!(table.owner_of(&a.steal[0].lease_key), Some("a"));
    assert!(a.take.is_empty() && a.create.is_empty() && a.keep.is_empty());
}

#[test]
fn steals_up_to_the_configured_maximum() {
    let table = Table::held(&[("a", 10)]);
    let settings = StrategySettings::default().with_max_leases_to_steal_at_one_time(3);
    let a = assign_with(&table, "me", &[], &settings, 1);
    assert_eq!(a.steal.len(), 3);
    let distinct: BTreeSet<_> = a.steal.iter().map(|s| &s.lease_key).collect();
    assert_eq!(distinct.len(), 3);

    let settings = StrategySettings::default().with_max_leases_to_steal_at_one_time(0);
    assert!(
        assign_with(&table, "me", &[], &settings, 1)
            .steal
            .is_empty()
    );
}

#[test]
fn steals_no_more_than_the_victims_excess() {
    // 8 leases, 2 workers: target 4. "a" has 5 (excess 1); I have 3 and need 1.
    let table = Table::held(&[("a", 5), ("me", 3)]);
    let settings = StrategySettings::default().with_max_leases_to_steal_at_one_time(10);
    let a = assign_with(&table, "me", &[], &settings, 1);
    assert_eq!(a.target, Some(4));
    assert_eq!(a.keep.len(), 3);
    assert_eq!(a.steal.len(), 1);

    // 9 leases: target 5; "a" has 9, I need 5, its excess is 4.
    let table = Table::held(&[("a", 9)]);
    let a = assign_with(&table, "me", &[], &settings, 1);
    assert_eq!((a.target, a.steal.len()), (Some(5), 4));
}

#[test]
fn ceil_target_means_no_steal_from_a_worker_at_target() {
    // 5 leases, 2 workers: target ceil(5 / 2) = 3. "a" holds 3 (at target); I need 1.
    let table = Table::held(&[("a", 3), ("me", 2)]);
    let a = assign(&table, "me");
    assert_eq!(a.target, Some(3));
    assert_eq!(a.keep.len(), 2);
    assert!(!a.has_changes());
}

#[test]
fn steals_one_from_a_worker_at_target_when_needing_more_than_one() {
    // 4 leases, 3 workers: target 2; "a" and "b" at target, I need 2: steal 1.
    let table = Table::held(&[("a", 2), ("b", 2)]);
    let a = assign(&table, "me");
    assert_eq!(a.target, Some(2));
    assert_eq!(a.steal.len(), 1);

    // 5 leases, 3 workers: target 2; I have 1 and need only 1: nothing.
    let table = Table::held(&[("a", 2), ("b", 2), ("me", 1)]);
    assert!(!assign(&table, "me").has_changes());
}

#[test]
fn steals_from_the_busiest_worker_only() {
    let table = Table::held(&[("a", 2), ("b", 7), ("c", 3)]);
    let settings = StrategySettings::default().with_max_leases_to_steal_at_one_time(5);
    for seed in 0..20 {
        let a = assign_with(&table, "me", &[], &settings, seed);
        assert!(!a.steal.is_empty());
        assert!(a.steal.iter().all(|s| s.from == "b"));
    }
}

#[test]
fn ties_for_busiest_are_broken_at_random() {
    let table = Table::held(&[("a", 4), ("b", 4)]);
    let victims: BTreeSet<String> = (0..40)
        .map(|seed| assign_with(&table, "me", &[], &StrategySettings::default(), seed).steal)
        .map(|s| s[0].from.clone())
        .collect();
    assert_eq!(victims, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
}

#[test]
fn prefers_free_leases_to_stealing() {
    // 4 leases, "a" live with 3, one unowned: target 2, take the free one, steal nothing.
    let table = Table::new(&[
        (Some("a"), LIVE),
        (Some("a"), LIVE),
        (Some("a"), LIVE),
        (None, LIVE),
    ]);
    let a = assign(&table, "me");
    assert_eq!(a.target, Some(2));
    assert_eq!(a.take, [key(3)]);
    assert!(a.steal.is_empty());
}

#[test]
fn expired_leases_are_available_and_their_owner_is_not_counted() {
    let table = Table::new(&[
        (Some("a"), LIVE),
        (Some("a"), LIVE),
        (Some("dead"), EXPIRED),
        (Some("dead"), EXPIRED),
    ]);
    let a = assign(&table, "me");
    // Active: "a" and me: target 2, taken from the expired ones.
    assert_eq!(a.target, Some(2));
    assert_eq!(
        a.take.iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([&key(2), &key(3)])
    );
}

#[test]
fn expiry_is_strictly_after_the_failover_time() {
    let table = Table::new(&[(Some("a"), Duration::from_secs(10)), (Some("a"), LIVE)]);
    let a = assign(&table, "me");
    // Not expired at exactly 10 s: steal, not take.
    assert_eq!((a.take.len(), a.steal.len()), (0, 1));
}

#[test]
fn unleased_shards_are_created_and_count_as_leases() {
    let table = Table::held(&[("a", 2)]);
    let unleased = [key(10), key(11)];
    let a = assign_with(&table, "me", &unleased, &StrategySettings::default(), 3);
    // 4 leases, 2 workers: target 2, both new shards.
    assert_eq!(a.target, Some(2));
    assert_eq!(
        a.create.iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([&key(10), &key(11)])
    );
    assert!(a.take.is_empty() && a.steal.is_empty());
}

#[test]
fn unleased_keys_that_have_a_lease_are_ignored() {
    let table = Table::new(&[(None, LIVE)]);
    let unleased = [key(0), key(0)];
    let a = assign_with(&table, "me", &unleased, &StrategySettings::default(), 3);
    assert_eq!(a.target, Some(1));
    assert_eq!(a.take, [key(0)]);
    assert!(a.create.is_empty());
}

#[test]
fn target_is_capped_and_spillover_reported() {
    let table = Table::new(&vec![(None, LIVE); 10]);
    let settings = StrategySettings::default().with_max_leases_per_worker(4);
    let a = assign_with(&table, "me", &[], &settings, 9);
    assert_eq!((a.target, a.spillover), (Some(4), 6));
    assert_eq!(a.take.len(), 4);
}

#[test]
fn very_old_leases_are_taken_first_whatever_the_target() {
    let mut spec = vec![(Some("a"), LIVE); 2];
    spec.extend(vec![(Some("dead"), VERY_OLD); 6]);
    spec.push((None, VERY_OLD));
    let table = Table::new(&spec);

    let a = assign(&table, "me");
    assert_eq!(a.target, Some(5)); // 9 leases, "a" and me
    assert_eq!(a.take.len(), 7, "every very old lease, beyond the target");

    let capped = StrategySettings::default().with_max_leases_per_worker(3);
    let a = assign_with(&table, "me", &[], &capped, 1);
    assert_eq!(a.take.len(), 3);

    let off = StrategySettings::default().with_priority_lease_assignment(false);
    let a = assign_with(&table, "me", &[], &off, 1);
    assert_eq!(a.take.len(), 5, "the target, from the expired leases");

    let longer = StrategySettings::default().with_very_old_lease_multiplier(4);
    let a = assign_with(&table, "me", &[], &longer, 1);
    assert_eq!(
        a.take.len(),
        5,
        "31 s is not very old with a 40 s threshold"
    );
}

#[test]
fn very_old_leases_stop_anything_else_at_the_cap() {
    let mut spec = vec![(Some("me"), LIVE); 3];
    spec.push((Some("dead"), VERY_OLD));
    spec.extend(vec![(Some("a"), LIVE); 8]);
    let table = Table::new(&spec);
    let capped = StrategySettings::default().with_max_leases_per_worker(3);
    let a = assign_with(&table, "me", &[], &capped, 1);
    assert_eq!(a.keep.len(), 3);
    assert!(!a.has_changes());
}

#[test]
fn own_leases_are_kept_and_never_released() {
    let table = Table::held(&[("me", 8), ("a", 1), ("b", 1)]);
    let a = assign(&table, "me");
    assert_eq!(a.target, Some(4));
    assert_eq!(a.keep, (0..8).map(key).collect::<Vec<_>>());
    assert!(a.release.is_empty() && !a.has_changes());
}

#[test]
fn own_leases_count_even_when_this_worker_sees_them_expired() {
    let table = Table::new(&[(Some("me"), EXPIRED), (Some("a"), LIVE)]);
    let a = assign(&table, "me");
    assert_eq!(a.keep, [key(0)]);
    assert!(!a.has_changes());
}

#[test]
fn finished_leases_are_ignored() {
    let mut table = Table::held(&[("a", 4), ("me", 1)]);
    for lease in &mut table.leases[..3] {
        lease.checkpoint = Checkpoint::SHARD_END;
    }
    table.leases[3].lease_owner = None;
    table.leases.push(Lease::new(key(9), Checkpoint::SHARD_END));
    table.ages.push(VERY_OLD);
    let a = assign(&table, "me");
    // Open: key 3 (unowned) and key 4 (mine): 2 leases, 1 active worker: target 2.
    assert_eq!(a.target, Some(2));
    assert_eq!(a.keep, [key(4)]);
    assert_eq!(a.take, [key(3)]);
}

#[test]
fn same_seed_same_choices() {
    let table = Table::new(&vec![(None, LIVE); 50]);
    let a = assign_with(&table, "me", &[], &StrategySettings::default(), 5);
    let b = assign_with(&table, "me", &[], &StrategySettings::default(), 5);
    assert_eq!(a, b);
    let settings = StrategySettings::default().with_max_leases_per_worker(10);
    let picks: BTreeSet<Vec<LeaseKey>> = (0..5)
        .map(|seed| assign_with(&table, "me", &[], &settings, seed).take)
        .collect();
    assert!(picks.len() > 1, "random choices differ between seeds");
}

#[test]
fn usable_as_a_trait_object() {
    let strategy: Box<dyn AssignmentStrategy> = Box::new(Balanced::new());
    let table = Table::new(&[(None, LIVE)]);
    let views = table.views();
    let settings = StrategySettings::default();
    let a = strategy.assign(&Snapshot::new("me", &views, &[], &settings));
    assert_eq!(a.take, [key(0)]);
    assert!(format!("{strategy:?}").contains("Balanced"));
}
