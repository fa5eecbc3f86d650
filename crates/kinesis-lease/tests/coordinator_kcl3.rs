//! The lease coordinator under the KCL 3.x rules, over the in-memory repository and paused
//! tokio time: leader election and its failover, assignment by the leader, graceful hand-over,
//! and no leases for a worker without fresh reports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_kcl_compat::fleet::{
    ClientVersion, ClientVersionMigration, LEADER_KEY, LeaderLock, MIGRATION_KEY,
};
use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::coordinator::{
    AcquiredLease, CoordinatorSettings, LeaseCoordinator, LeaseStatus,
};
use kinesis_lease::kcl3::{Balancing, Kcl3Settings};
use kinesis_lease::lineage::{InitialPosition, ShardInfo};
use kinesis_lease::repository::{InMemoryLeaseRepository, RepositoryMethod};
use kinesis_lease::{LeaseProtocol, LeaseRepository};

const FAILOVER: Duration = Duration::from_secs(10);

fn shards(n: usize) -> Vec<ShardInfo> {
    (0..n)
        .map(|i| ShardInfo::new(format!("shardId-{i:012}").parse().unwrap()))
        .collect()
}

fn kcl3(balancing: Balancing) -> Kcl3Settings {
    Kcl3Settings::default()
        .with_cpu_metric(false)
        .with_balancing(balancing)
        .with_leader_timing(Duration::from_secs(30), Duration::from_secs(10))
}

fn settings(k: Kcl3Settings) -> CoordinatorSettings {
    CoordinatorSettings::default()
        .with_failover_time(FAILOVER)
        .with_initial_position(InitialPosition::TrimHorizon)
        .with_protocol(LeaseProtocol::Kcl3(k))
}

/// Per lease: where each holding of it started (its checkpoint), by worker, in order.
type Starts = Arc<Mutex<Vec<(String, LeaseKey, Checkpoint)>>>;

struct Worker {
    coordinator: LeaseCoordinator,
}

/// A worker whose consumer checkpoints every second (`n × 1000 + tick`, n = the holding's number
/// in the run), and, when a lease ends other than by loss, checkpoints `n × 1000 + 999` and hands
/// the lease on.
async fn worker(
    repo: &InMemoryLeaseRepository,
    id: &str,
    n: usize,
    k: Kcl3Settings,
    starts: &Starts,
) -> Worker {
    let coordinator = LeaseCoordinator::builder(Arc::new(repo.clone()), id)
        .settings(settings(k))
        .build();
    coordinator.update_shards(shards(n).iter());
    let mut acquisitions = coordinator.acquisitions().unwrap();
    let starts = Arc::clone(starts);
    let me = id.to_owned();
    tokio::spawn(async move {
        while let Some(AcquiredLease {
            lease_key,
            checkpoint,
            signal,
            checkpointer,
            ..
        }) = acquisitions.recv().await
        {
            let holding = {
                let mut s = starts.lock().unwrap();
                s.push((me.clone(), lease_key.clone(), checkpoint));
                s.len()
            };
            let mut signal = signal;
            tokio::spawn(async move {
                // Checkpoints every second while it holds the lease (hand-overs come in between).
                let position = |n: u64| {
                    ExtendedSequenceNumber::new(
                        (holding as u64 * 1000 + n).to_string().parse().unwrap(),
                        0,
                    )
                };
                let mut tick = 0;
                let status = loop {
                    tokio::select! {
                        status = signal.ended() => break status,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    tick += 1;
                    checkpointer.stage(position(tick.min(998)));
                    let _ = checkpointer.checkpoint().await;
                };
                if status != LeaseStatus::Lost {
                    checkpointer.stage(position(999));
                    checkpointer.checkpoint_and_release().await.unwrap();
                }
            });
        }
    });
    coordinator.start().await.unwrap();
    Worker { coordinator }
}

async fn owners(repo: &InMemoryLeaseRepository) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for l in repo.list_leases().await.unwrap().leases {
        *by.entry(l.lease_owner.unwrap_or_else(|| "-".into()))
            .or_insert(0) += 1;
    }
    by
}

fn leader(repo: &InMemoryLeaseRepository) -> Option<String> {
    repo.raw_item(LEADER_KEY)
        .map(|i| LeaderLock::from_item(&i).unwrap().owner_name)
}

/// Creates the lease `key` in `repo` and has `owner` take it.
async fn lease_owned_by(repo: &InMemoryLeaseRepository, key: &LeaseKey, owner: &str) -> Lease {
    let created = repo
        .create_lease(&Lease::new(key.clone(), Checkpoint::TRIM_HORIZON))
        .await
        .unwrap();
    repo.take_lease(&created, owner).await.unwrap()
}

async fn run_for(d: Duration) {
    let step = Duration::from_millis(500);
    let mut t = Duration::ZERO;
    while t < d {
        tokio::time::sleep(step).await;
        t += step;
    }
}

#[tokio::test(start_paused = true)]
async fn three_workers_elect_one_leader_and_split_the_shards() {
    let repo = InMemoryLeaseRepository::new();
    let starts = Starts::default();
    let k = kcl3(Balancing::Utilisation);
    let a = worker(&repo, "a", 6, k.clone(), &starts).await;
    let b = worker(&repo, "b", 6, k.clone(), &starts).await;
    let c = worker(&repo, "c", 6, k, &starts).await;
    run_for(FAILOVER * 6).await;
    assert_eq!(
        leader(&repo).as_deref(),
        Some("a"),
        "the first worker took the free lock"
    );
    let by = owners(&repo).await;
    assert_eq!(
        by,
        BTreeMap::from([("a".into(), 2), ("b".into(), 2), ("c".into(), 2)])
    );
    let migration =
        ClientVersionMigration::from_item(&repo.raw_item(MIGRATION_KEY).unwrap()).unwrap();
    assert_eq!(migration.client_version, ClientVersion::V3x);
    // Nobody takes or steals: the only owner changes are the leader's assignments.
    assert_eq!(repo.call_count(RepositoryMethod::TakeLease), 0);
    assert!(repo.call_count(RepositoryMethod::LeaseKeysOf) > 0);
    assert_eq!(repo.call_count(RepositoryMethod::AssignLease), 6);
    for w in [&a, &b, &c] {
        assert_eq!(w.coordinator.held_leases().len(), 2);
    }
    for w in [a, b, c] {
        w.coordinator.shutdown().await;
    }
    assert_eq!(
        leader(&repo),
        None,
        "the leader released its lock on shutdown"
    );
}

#[tokio::test(start_paused = true)]
async fn the_leader_fails_over_and_its_leases_move_to_the_survivors() {
    let repo = InMemoryLeaseRepository::new();
    let starts = Starts::default();
    let k = kcl3(Balancing::Utilisation);
    let a = worker(&repo, "a", 6, k.clone(), &starts).await;
    let b = worker(&repo, "b", 6, k.clone(), &starts).await;
    let c = worker(&repo, "c", 6, k.clone(), &starts).await;
    run_for(FAILOVER * 6).await;
    assert_eq!(leader(&repo).as_deref(), Some("a"));
    // The leader crashes: no release, no renewals.
    drop(a);
    // The lock lasts 30 s from its last heartbeat; the others check every 10 s; then the new
    // leader reassigns a's expired leases.
    run_for(Duration::from_secs(30) + Duration::from_secs(10) * 2 + FAILOVER * 4).await;
    let new_leader = leader(&repo).expect("a new leader");
    assert!(new_leader == "b" || new_leader == "c", "{new_leader}");
    let by = owners(&repo).await;
    assert_eq!(
        by,
        BTreeMap::from([("b".into(), 3), ("c".into(), 3)]),
        "{by:?}"
    );
    b.coordinator.shutdown().await;
    c.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_graceful_handoff_starts_the_new_owner_at_the_last_checkpoint() {
    let repo = InMemoryLeaseRepository::new();
    let starts = Starts::default();
    let k = kcl3(Balancing::LeaseCount);
    let a = worker(&repo, "a", 4, k.clone(), &starts).await;
    run_for(FAILOVER * 4).await;
    assert_eq!(owners(&repo).await, BTreeMap::from([("a".into(), 4)]));
    let b = worker(&repo, "b", 4, k, &starts).await;
    run_for(FAILOVER * 10).await;
    assert_eq!(
        owners(&repo).await,
        BTreeMap::from([("a".into(), 2), ("b".into(), 2)])
    );
    assert!(repo.call_count(RepositoryMethod::StartHandoff) >= 2);
    assert!(repo.call_count(RepositoryMethod::CompleteHandoff) >= 2);
    // Every lease b holds started at the checkpoint a wrote when it handed it over.
    let starts = starts.lock().unwrap().clone();
    let mut checked = 0;
    for (who, key, start) in &starts {
        if who != "b" {
            continue;
        }
        let a_holding = starts
            .iter()
            .position(|(w, k, _)| w == "a" && k == key)
            .expect("a held it first");
        let expected = format!("{}", (a_holding + 1) * 1000 + 999);
        assert_eq!(
            start.sequence().map(|s| s.sequence_number().to_string()),
            Some(expected),
            "{key}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
    let table: Vec<Lease> = repo.list_leases().await.unwrap().leases;
    assert!(table.iter().all(|l| l.checkpoint_owner.is_none()));
    a.coordinator.shutdown().await;
    b.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_handoff_whose_old_owner_died_moves_after_the_failover_time_not_the_timeout() {
    let repo = InMemoryLeaseRepository::new();
    let key: LeaseKey = "shardId-000000000000".parse().unwrap();
    repo.ensure_table().await.unwrap();
    // x held the lease and was being asked to hand it to b when it died: nobody renews it.
    let taken = lease_owned_by(&repo, &key, "x").await;
    repo.kcl3()
        .unwrap()
        .start_handoff(&taken, "b")
        .await
        .unwrap();
    let timeout = Duration::from_secs(300);
    let starts = Starts::default();
    let b = worker(
        &repo,
        "b",
        1,
        kcl3(Balancing::LeaseCount).with_handoff_timeout(timeout),
        &starts,
    )
    .await;
    // The leader (b) sees the counter stand still for the failover time: x is gone, and the
    // lease is b's at once, long before the hand-over's timeout.
    run_for(FAILOVER * 5).await;
    let lease = repo.get_lease(&key).await.unwrap().unwrap();
    assert_eq!(lease.lease_owner.as_deref(), Some("b"));
    assert_eq!(lease.checkpoint_owner, None);
    assert_eq!(
        starts
            .lock()
            .unwrap()
            .iter()
            .map(|(w, _, _)| w.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    b.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_worker_without_fresh_reports_gets_no_lease() {
    let repo = InMemoryLeaseRepository::new();
    let starts = Starts::default();
    let k = kcl3(Balancing::LeaseCount);
    let a = worker(&repo, "a", 4, k.clone(), &starts).await;
    run_for(FAILOVER * 4).await;
    // b's reports all fail (its first one too): the leader never sees it.
    repo.fail_next(RepositoryMethod::PutWorkerMetrics, 1_000);
    let b = worker(
        &repo,
        "b",
        4,
        k.clone().with_leader_eligible(false),
        &starts,
    )
    .await;
    run_for(FAILOVER * 10).await;
    assert_eq!(owners(&repo).await, BTreeMap::from([("a".into(), 4)]));
    assert!(b.coordinator.held_leases().is_empty());
    a.coordinator.shutdown().await;
    b.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_handoff_the_consumer_never_finishes_times_out_and_goes_ahead() {
    let repo = InMemoryLeaseRepository::new();
    let k = kcl3(Balancing::LeaseCount).with_handoff_timeout(Duration::from_secs(15));
    // a's consumer ignores every signal: it never makes the final checkpoint.
    let a = LeaseCoordinator::builder(Arc::new(repo.clone()), "a")
        .settings(settings(k.clone()))
        .build();
    a.update_shards(shards(2).iter());
    let mut ignored = a.acquisitions().unwrap();
    tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Some(lease) = ignored.recv().await {
            kept.push(lease);
        }
    });
    a.start().await.unwrap();
    run_for(FAILOVER * 4).await;
    assert_eq!(owners(&repo).await, BTreeMap::from([("a".into(), 2)]));
    let starts = Starts::default();
    let b = worker(&repo, "b", 2, k, &starts).await;
    run_for(FAILOVER * 10).await;
    assert_eq!(
        owners(&repo).await,
        BTreeMap::from([("a".into(), 1), ("b".into(), 1)])
    );
    assert_eq!(repo.call_count(RepositoryMethod::CompleteHandoff), 1);
    let table: Vec<Lease> = repo.list_leases().await.unwrap().leases;
    assert!(table.iter().all(|l| l.checkpoint_owner.is_none()));
    a.shutdown().await;
    b.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_whose_runs_fail_gives_the_leadership_up() {
    let repo = InMemoryLeaseRepository::new();
    let starts = Starts::default();
    let k = kcl3(Balancing::LeaseCount);
    let a = worker(&repo, "a", 4, k.clone(), &starts).await;
    let mut events = a.coordinator.events();
    let b = worker(&repo, "b", 4, k, &starts).await;
    run_for(FAILOVER * 4).await;
    assert_eq!(leader(&repo).as_deref(), Some("a"));
    // Three failed assignment runs in a row.
    repo.fail_next(RepositoryMethod::ScanFleet, 3);
    run_for(FAILOVER * 2 * 3 + Duration::from_secs(1)).await;
    let mut lost = false;
    while let Ok(e) = events.try_recv() {
        lost |= matches!(e, kinesis_lease::LeaseEvent::LeadershipLost);
    }
    assert!(lost, "a gave the leadership up");
    // The lock is free; whoever checks first leads (a too, as in the KCL), and the fleet goes on.
    run_for(FAILOVER * 4).await;
    assert!(leader(&repo).is_some());
    assert_eq!(owners(&repo).await.values().sum::<usize>(), 4);
    a.coordinator.shutdown().await;
    b.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_fleet_in_migration_follows_the_2x_rules_until_the_row_says_3x() {
    let repo = InMemoryLeaseRepository::new();
    repo.ensure_table().await.unwrap();
    let mut row = ClientVersionMigration::new_3x("java-leader", 1);
    row.client_version = ClientVersion::UpgradeFrom2x;
    repo.put_raw_item(row.to_item()).unwrap();
    let starts = Starts::default();
    let k = kcl3(Balancing::LeaseCount);
    let a = worker(&repo, "a", 6, k.clone(), &starts).await;
    let b = worker(&repo, "b", 6, k.clone(), &starts).await;
    run_for(FAILOVER * 8).await;
    // 2.x rules: the workers take (and steal) themselves, and publish their reports.
    assert_eq!(
        owners(&repo).await,
        BTreeMap::from([("a".into(), 3), ("b".into(), 3)])
    );
    assert!(
        repo.call_count(RepositoryMethod::CreateLease)
            + repo.call_count(RepositoryMethod::TakeLease)
            >= 6
    );
    assert_eq!(repo.call_count(RepositoryMethod::AssignLease), 0);
    assert!(repo.raw_item("a").is_some() && repo.raw_item("b").is_some());
    // The fleet migrates: within a minute they follow the 3.x rules, and a new worker gets
    // leases from the leader only.
    let mut row = ClientVersionMigration::new_3x("java-leader", 2);
    row.client_version = ClientVersion::V3xWithRollback;
    repo.put_raw_item(row.to_item()).unwrap();
    run_for(Duration::from_secs(70)).await;
    let takes = repo.call_count(RepositoryMethod::TakeLease);
    let c = worker(&repo, "c", 6, k, &starts).await;
    run_for(FAILOVER * 12).await;
    assert_eq!(
        repo.call_count(RepositoryMethod::TakeLease),
        takes,
        "nobody takes under 3.x rules"
    );
    assert_eq!(
        owners(&repo).await,
        BTreeMap::from([("a".into(), 2), ("b".into(), 2), ("c".into(), 2)])
    );
    for w in [a, b, c] {
        w.coordinator.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn an_assigned_lease_is_held_from_a_renewal_not_from_the_read_that_found_it() {
    let repo = InMemoryLeaseRepository::new();
    let key: LeaseKey = "shardId-000000000000".parse().unwrap();
    repo.ensure_table().await.unwrap();
    // The row says b owns the lease, but nothing says since when: an assignment b may have
    // been frozen through, expired to the leader and about to go to another.
    let assigned = lease_owned_by(&repo, &key, "b").await;
    // Every renewal b sends fails before it reaches the table.
    repo.fail_next(RepositoryMethod::RenewLease, u64::MAX / 2);
    let starts = Starts::default();
    let b = worker(
        &repo,
        "b",
        1,
        kcl3(Balancing::LeaseCount).with_leader_eligible(false),
        &starts,
    )
    .await;
    // b finds the lease at every discovery and tries to renew it, but never holds it while
    // no write proves it is still b's.
    run_for(FAILOVER * 5).await;
    assert!(repo.call_count(RepositoryMethod::RenewLease) >= 4);
    assert!(
        starts.lock().unwrap().is_empty(),
        "{:?}",
        starts.lock().unwrap()
    );
    assert!(b.coordinator.held_leases().is_empty());
    let lease = repo.get_lease(&key).await.unwrap().unwrap();
    assert_eq!(lease.lease_counter, assigned.lease_counter);
    b.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_finished_lease_found_assigned_is_held_until_its_cleanup_not_handed_to_the_consumer() {
    let repo = InMemoryLeaseRepository::new();
    repo.ensure_table().await.unwrap();
    // b finished shard 0 and restarted before the cleanup deleted its lease: the row still
    // names b.
    let parent: LeaseKey = "shardId-000000000000".parse().unwrap();
    let created = repo
        .create_lease(&Lease::new(parent.clone(), Checkpoint::SHARD_END))
        .await
        .unwrap();
    repo.take_lease(&created, "b").await.unwrap();
    let starts = Starts::default();
    let b = worker(&repo, "b", 1, kcl3(Balancing::LeaseCount), &starts).await;
    let child = ShardInfo::new("shardId-000000000001".parse().unwrap())
        .with_parent(parent.shard_id().clone());
    // Held from the first discovery (renewed, so that no one else takes it), and deleted once
    // the child started.
    run_for(FAILOVER * 2).await;
    let held: Vec<LeaseKey> = b
        .coordinator
        .held_leases()
        .into_iter()
        .map(|l| l.lease_key)
        .collect();
    assert_eq!(held, std::slice::from_ref(&parent));
    b.coordinator
        .update_shards([ShardInfo::new(parent.shard_id().clone()), child]);
    run_for(FAILOVER * 12).await;
    let starts = starts.lock().unwrap().clone();
    assert!(
        starts.iter().all(|(_, key, _)| *key != parent),
        "the finished lease was handed to the consumer: {starts:?}"
    );
    assert_eq!(
        starts
            .iter()
            .map(|(w, key, c)| (w.as_str(), key.to_string(), c.clone()))
            .collect::<Vec<_>>(),
        [(
            "b",
            "shardId-000000000001".to_owned(),
            Checkpoint::TRIM_HORIZON
        )],
        "the child, from its start"
    );
    assert!(
        repo.get_lease(&parent).await.unwrap().is_none(),
        "the finished lease is cleaned up once its child started"
    );
    b.coordinator.shutdown().await;
}
