//! The explicit strategy and `Assignment::from_desired`.

use std::time::Duration;

use kinesis_client::ShardId;
use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::strategy::{
    Assignment, AssignmentStrategy, Explicit, LeaseView, Snapshot, Steal, StrategySettings,
};

const LIVE: Duration = Duration::from_secs(1);
const EXPIRED: Duration = Duration::from_secs(11);

fn key(i: usize) -> LeaseKey {
    format!("shardId-{i}").parse().unwrap()
}

fn lease(i: usize, owner: Option<&str>) -> Lease {
    let mut l = Lease::new(key(i), Checkpoint::LATEST);
    l.lease_owner = owner.map(str::to_owned);
    l
}

#[test]
fn keeps_assigned_releases_unassigned_takes_free_and_never_steals() {
    let leases = [
        lease(0, Some("me")),    // assigned: keep
        lease(1, Some("me")),    // not assigned: release
        lease(2, None),          // assigned, free: take
        lease(3, Some("other")), // assigned, live elsewhere: wait
        lease(4, Some("dead")),  // assigned, expired: take
        lease(5, None),          // not assigned: ignore
    ];
    let ages = [LIVE, LIVE, LIVE, LIVE, EXPIRED, LIVE];
    let views: Vec<LeaseView<'_>> = leases
        .iter()
        .zip(ages)
        .map(|(l, a)| LeaseView::new(l, a))
        .collect();
    let settings = StrategySettings::default();
    let unleased = [key(6), key(7)];
    let strategy = Explicit::new([0, 2, 3, 4, 6].map(key));
    let a = strategy.assign(&Snapshot::new("me", &views, &unleased, &settings));

    assert_eq!(a.keep, [key(0)]);
    assert_eq!(a.release, [key(1)]);
    assert_eq!(a.take, [key(2), key(4)]);
    assert_eq!(a.create, [key(6)]);
    assert!(a.steal.is_empty());
    assert_eq!(a.target, None);
}

#[test]
fn accepts_shard_ids_and_ignores_finished_leases() {
    let mut done = lease(0, Some("me"));
    done.checkpoint = Checkpoint::SHARD_END;
    let free_done = Lease::new(key(1), Checkpoint::SHARD_END);
    let views = [
        LeaseView::new(&done, LIVE),
        LeaseView::new(&free_done, LIVE),
    ];
    let settings = StrategySettings::default();
    let strategy = Explicit::new(["shardId-1".parse::<ShardId>().unwrap()]);
    assert!(strategy.shards().contains(&key(1)));
    let a = strategy.assign(&Snapshot::new("me", &views, &[], &settings));
    assert_eq!(a, Assignment::default());
}

#[test]
fn reassignment_hands_leases_over_in_two_ticks() {
    // "a" held shard 0; the operator moves it to "b".
    let mut table = lease(0, Some("a"));
    let settings = StrategySettings::default();
    let a_strategy = Explicit::new(Vec::<LeaseKey>::new());
    let b_strategy = Explicit::new([key(0)]);

    let views = [LeaseView::new(&table, LIVE)];
    let b = b_strategy.assign(&Snapshot::new("b", &views, &[], &settings));
    assert!(!b.has_changes(), "b waits while a holds the lease");

    let a = a_strategy.assign(&Snapshot::new("a", &views, &[], &settings));
    assert_eq!(a.release, [key(0)]);
    table.lease_owner = None;

    let views = [LeaseView::new(&table, Duration::ZERO)];
    let b = b_strategy.assign(&Snapshot::new("b", &views, &[], &settings));
    assert_eq!(b.take, [key(0)]);
}

#[test]
fn from_desired_classifies_every_key() {
    let leases = [
        lease(0, Some("me")),
        lease(1, Some("me")),
        lease(2, None),
        lease(3, Some("other")),
        lease(4, Some("dead")),
    ];
    let mut finished = lease(5, Some("other"));
    finished.checkpoint = Checkpoint::SHARD_END;
    let ages = [LIVE, LIVE, LIVE, LIVE, EXPIRED];
    let mut views: Vec<LeaseView<'_>> = leases
        .iter()
        .zip(ages)
        .map(|(l, a)| LeaseView::new(l, a))
        .collect();
    views.push(LeaseView::new(&finished, LIVE));
    let settings = StrategySettings::default();
    let unleased = [key(6), key(0)];
    let snapshot = Snapshot::new("me", &views, &unleased, &settings);

    let desired = [0, 2, 3, 4, 5, 6, 99, 2].map(key);
    let a = Assignment::from_desired(&snapshot, desired);
    assert_eq!(a.keep, [key(0)]);
    assert_eq!(a.release, [key(1)]);
    assert_eq!(a.take, [key(2), key(4)]);
    assert_eq!(a.steal, [Steal::new(key(3), "other")]);
    assert_eq!(a.create, [key(6)]);
    assert_eq!(a.wanted_count(), 5);
    assert_eq!(a.wanted().count(), 5);
}
