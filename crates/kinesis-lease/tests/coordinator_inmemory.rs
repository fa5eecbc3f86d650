//! The lease coordinator over the in-memory repository, under paused tokio time: several
//! coordinators share one table, as several workers share a DynamoDB lease table.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::coordinator::{
    AcquiredLease, CoordinatorSettings, Handover, HealthProblem, LeaseCoordinator, LeaseEvent,
    LeaseSignal, LeaseStatus,
};
use kinesis_lease::lineage::{InitialPosition, ShardInfo};
use kinesis_lease::repository::{
    BoxFuture, CheckpointUpdate, InMemoryLeaseRepository, LeaseScan, RepositoryMethod,
};
use kinesis_lease::{Balanced, Checkpointer, LeaseError, LeaseRepository};
use tokio::time::Instant;

const RENEW: Duration = Duration::from_millis(3308);
const TAKE: Duration = Duration::from_millis(20050);
const FAILOVER: Duration = Duration::from_secs(10);

fn shard_id(i: usize) -> String {
    format!("shardId-{i:012}")
}

fn shard(i: usize) -> ShardInfo {
    ShardInfo::new(shard_id(i).parse().unwrap())
}

fn key(i: usize) -> LeaseKey {
    shard_id(i).parse().unwrap()
}

fn settings() -> CoordinatorSettings {
    CoordinatorSettings::default().with_initial_position(InitialPosition::TrimHorizon)
}

/// What a test consumer got: each acquisition's signal and checkpointer.
type Got = Arc<Mutex<Vec<(LeaseKey, LeaseSignal, Checkpointer)>>>;

/// A worker: its coordinator and what its consumer received. The consumer makes the final
/// checkpoint (and release) when told the coordinator shuts down.
struct Worker {
    coordinator: LeaseCoordinator,
    got: Got,
    events: tokio::sync::broadcast::Receiver<LeaseEvent>,
}

async fn worker(
    repo: &InMemoryLeaseRepository,
    id: &str,
    seed: u64,
    shards: &[ShardInfo],
) -> Worker {
    worker_on(repo, id, seed, shards, None).await
}

async fn worker_on(
    repo: &InMemoryLeaseRepository,
    id: &str,
    seed: u64,
    shards: &[ShardInfo],
    handover: Option<&Handover>,
) -> Worker {
    let mut builder = LeaseCoordinator::builder(Arc::new(repo.clone()), id)
        .strategy(Arc::new(Balanced::with_seed(seed)))
        .settings(settings());
    if let Some(handover) = handover {
        builder = builder.handover(handover.clone());
    }
    let coordinator = builder.build();
    coordinator.update_shards(shards.iter());
    let events = coordinator.events();
    let mut acquisitions = coordinator.acquisitions().unwrap();
    let got: Got = Arc::default();
    let sink = Arc::clone(&got);
    tokio::spawn(async move {
        while let Some(AcquiredLease {
            lease_key,
            signal,
            checkpointer,
            ..
        }) = acquisitions.recv().await
        {
            sink.lock()
                .unwrap()
                .push((lease_key, signal.clone(), checkpointer.clone()));
            let mut signal = signal;
            tokio::spawn(async move {
                if signal.ended().await == LeaseStatus::ShuttingDown {
                    checkpointer.checkpoint_and_release().await.unwrap();
                }
            });
        }
    });
    coordinator.start().await.unwrap();
    Worker {
        coordinator,
        got,
        events,
    }
}

impl Worker {
    fn held(&self) -> Vec<LeaseKey> {
        self.coordinator
            .held_leases()
            .into_iter()
            .map(|l| l.lease_key)
            .collect()
    }

    fn checkpointer(&self, key: &LeaseKey) -> Checkpointer {
        let got = self.got.lock().unwrap();
        let (_, _, c) = got.iter().rev().find(|(k, _, _)| k == key).unwrap();
        c.clone()
    }

    fn signal(&self, key: &LeaseKey) -> LeaseSignal {
        let got = self.got.lock().unwrap();
        let (_, s, _) = got.iter().rev().find(|(k, _, _)| k == key).unwrap();
        s.clone()
    }

    fn drain_events(&mut self) -> Vec<LeaseEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

async fn table(repo: &InMemoryLeaseRepository) -> BTreeMap<LeaseKey, Lease> {
    repo.list_leases()
        .await
        .unwrap()
        .leases
        .into_iter()
        .map(|l| (l.lease_key.clone(), l))
        .collect()
}

fn calls(repo: &InMemoryLeaseRepository, m: RepositoryMethod) -> u64 {
    repo.call_count(m)
}

#[tokio::test(start_paused = true)]
async fn a_start_that_failed_can_be_retried_and_then_runs() {
    let repo = InMemoryLeaseRepository::new();
    repo.fail_next(RepositoryMethod::EnsureTable, 1);
    let c = LeaseCoordinator::builder(Arc::new(repo.clone()), "w1")
        .settings(settings())
        .build();
    c.update_shards((0..2).map(shard));
    let _acquisitions = c.acquisitions().unwrap();
    assert!(c.start().await.is_err(), "the table could not be made");
    assert!(c.held_leases().is_empty());
    c.start().await.unwrap();
    assert_eq!(c.held_leases().len(), 2, "the second start took the leases");
    // Its loops run: the leases are renewed.
    let renewed = calls(&repo, RepositoryMethod::RenewLease);
    tokio::time::sleep(RENEW * 2).await;
    assert!(calls(&repo, RepositoryMethod::RenewLease) > renewed);
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_first_renew_pass_skips_a_lease_written_since_the_start() {
    // Leases 0 and 1 are taken at the start; lease 2, of a shard that appears 2 s later, at
    // 2 s. The first renew pass (one renew interval after the start) renews 0 and 1; lease 2
    // was written within that interval, and that write counts as its renewal.
    let repo = InMemoryLeaseRepository::new();
    let c = LeaseCoordinator::builder(Arc::new(repo.clone()), "w1")
        .settings(settings())
        .build();
    c.update_shards((0..2).map(shard));
    let _acquisitions = c.acquisitions().unwrap();
    c.start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    c.update_shards((0..3).map(shard));
    c.take_now().await;
    assert_eq!(c.held_leases().len(), 3);
    assert_eq!(calls(&repo, RepositoryMethod::RenewLease), 0);
    tokio::time::sleep(RENEW - Duration::from_secs(2) + Duration::from_millis(100)).await;
    assert_eq!(
        calls(&repo, RepositoryMethod::RenewLease),
        2,
        "the lease written at 2 s is not renewed at 3.3 s"
    );
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_single_worker_takes_all_leases_of_new_shards() {
    let repo = InMemoryLeaseRepository::new();
    let shards: Vec<ShardInfo> = (0..4).map(shard).collect();
    let mut w = worker(&repo, "w1", 1, &shards).await;
    assert_eq!(w.held(), (0..4).map(key).collect::<Vec<_>>());
    let t = table(&repo).await;
    assert_eq!(t.len(), 4);
    for lease in t.values() {
        assert_eq!(lease.lease_owner.as_deref(), Some("w1"));
        assert_eq!(lease.checkpoint, Checkpoint::TRIM_HORIZON);
    }
    assert_eq!(calls(&repo, RepositoryMethod::CreateLease), 4);
    assert_eq!(calls(&repo, RepositoryMethod::TakeLease), 0);
    tokio::task::yield_now().await;
    assert_eq!(w.got.lock().unwrap().len(), 4);
    let events = w.drain_events();
    let created = events
        .iter()
        .filter(|e| matches!(e, LeaseEvent::Created { .. }))
        .count();
    let acquired = events
        .iter()
        .filter(|e| matches!(e, LeaseEvent::Acquired { .. }))
        .count();
    assert_eq!((created, acquired), (4, 4));
    w.coordinator.shutdown().await;
}

/// Checks after each step: a lease's table owner holds it locally, with the table's counter;
/// any other local holding is stale and must be detected (and dropped) within one renew
/// interval of being first seen.
struct ExclusiveCheck {
    stale_since: HashMap<(String, LeaseKey), Instant>,
}

impl ExclusiveCheck {
    fn new() -> Self {
        Self {
            stale_since: HashMap::new(),
        }
    }

    async fn check(&mut self, repo: &InMemoryLeaseRepository, workers: &[&Worker], step: Duration) {
        let t = table(repo).await;
        let now = Instant::now();
        let mut stale_now = HashMap::new();
        for w in workers {
            let id = w.coordinator.worker_id().to_owned();
            for lease in w.coordinator.held_leases() {
                let row = &t[&lease.lease_key];
                let valid = row.lease_owner.as_deref() == Some(id.as_str())
                    && row.lease_counter == lease.lease_counter;
                if !valid {
                    let k = (id.clone(), lease.lease_key.clone());
                    let since = self.stale_since.get(&k).copied().unwrap_or(now);
                    assert!(
                        now - since <= RENEW + step,
                        "{id} believes it holds {} for too long after losing it",
                        lease.lease_key
                    );
                    stale_now.insert(k, since);
                }
            }
        }
        self.stale_since = stale_now;
        // At most one valid holder per lease (the table has one owner; two workers must not both
        // believe they hold it with the current counter).
        for (k, row) in &t {
            let holders = workers
                .iter()
                .filter(|w| {
                    w.coordinator
                        .held_leases()
                        .iter()
                        .any(|l| &l.lease_key == k && l.lease_counter == row.lease_counter)
                })
                .count();
            assert!(holders <= 1, "{k} has {holders} holders");
        }
    }
}

fn counts(workers: &[&Worker]) -> Vec<usize> {
    workers.iter().map(|w| w.held().len()).collect()
}

#[tokio::test(start_paused = true)]
async fn three_workers_converge_to_a_fair_share_without_double_holders() {
    let repo = InMemoryLeaseRepository::new();
    let shards: Vec<ShardInfo> = (0..10).map(shard).collect();
    let w1 = worker(&repo, "w1", 1, &shards).await;
    assert_eq!(w1.held().len(), 10);
    let w2 = worker(&repo, "w2", 2, &shards).await;
    let w3 = worker(&repo, "w3", 3, &shards).await;
    let step = Duration::from_millis(500);
    let mut check = ExclusiveCheck::new();
    let deadline = Instant::now() + TAKE * 15;
    let mut settled_at = None;
    while Instant::now() < deadline {
        tokio::time::sleep(step).await;
        let ws = [&w1, &w2, &w3];
        check.check(&repo, &ws, step).await;
        let c = counts(&ws);
        // 10 leases, 3 workers: each within [floor, ceil] = [3, 4], all held.
        if c.iter().sum::<usize>() == 10 && c.iter().all(|n| (3..=4).contains(n)) {
            settled_at.get_or_insert(Instant::now());
        } else {
            assert!(settled_at.is_none(), "the fleet unsettled again: {c:?}");
        }
    }
    assert!(
        settled_at.is_some(),
        "never settled: {:?}",
        counts(&[&w1, &w2, &w3])
    );
    let t = table(&repo).await;
    let mut per_owner: BTreeMap<String, usize> = BTreeMap::new();
    for l in t.values() {
        *per_owner.entry(l.lease_owner.clone().unwrap()).or_default() += 1;
    }
    assert_eq!(per_owner.len(), 3);
    for w in [&w1, &w2, &w3] {
        w.coordinator.shutdown().await;
    }
}

async fn converged_pair(repo: &InMemoryLeaseRepository, n: usize) -> (Worker, Worker) {
    let shards: Vec<ShardInfo> = (0..n).map(shard).collect();
    let w1 = worker(repo, "w1", 1, &shards).await;
    let w2 = worker(repo, "w2", 2, &shards).await;
    for _ in 0..(n + 2) {
        if counts(&[&w1, &w2]) == [n / 2, n / 2] {
            break;
        }
        tokio::time::sleep(TAKE).await;
    }
    assert_eq!(counts(&[&w1, &w2]), [n / 2, n / 2]);
    (w1, w2)
}

#[tokio::test(start_paused = true)]
async fn a_shut_down_workers_leases_are_taken_within_one_take_interval() {
    let repo = InMemoryLeaseRepository::new();
    let (w1, mut w2) = converged_pair(&repo, 6).await;
    let w2_leases = w2.held();
    w2.drain_events();
    w2.coordinator.shutdown().await;
    assert!(w2.held().is_empty());
    // The consumer made the final checkpoints; every lease was released in the table.
    let t = table(&repo).await;
    for k in &w2_leases {
        assert_eq!(t[k].lease_owner, None);
        assert_eq!(w2.signal(k).status(), LeaseStatus::Released);
    }
    let released = w2
        .drain_events()
        .into_iter()
        .filter(|e| matches!(e, LeaseEvent::Released { .. }))
        .count();
    assert_eq!(released, 3);
    // Released by the consumer's final checkpointer calls (nothing staged: a plain release).
    assert_eq!(calls(&repo, RepositoryMethod::ReleaseLease), 3);

    let stopped = Instant::now();
    let mut check = ExclusiveCheck::new();
    loop {
        check
            .check(&repo, &[&w1, &w2], Duration::from_millis(100))
            .await;
        if w1.held().len() == 6 {
            break;
        }
        assert!(
            Instant::now() - stopped < TAKE,
            "not taken within one take interval"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = table(&repo).await;
    assert!(t.values().all(|l| l.lease_owner.as_deref() == Some("w1")));
    w1.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn with_a_handover_released_leases_change_hands_in_milliseconds() {
    let repo = InMemoryLeaseRepository::new();
    let handover = Handover::new();
    let shards: Vec<ShardInfo> = (0..6).map(shard).collect();
    let w1 = worker_on(&repo, "w1", 1, &shards, Some(&handover)).await;
    let w2 = worker_on(&repo, "w2", 2, &shards, Some(&handover)).await;
    for _ in 0..8 {
        if counts(&[&w1, &w2]) == [3, 3] {
            break;
        }
        tokio::time::sleep(TAKE).await;
    }
    assert_eq!(counts(&[&w1, &w2]), [3, 3]);

    // Steady state: the handover adds no call.
    repo.reset_call_counts();
    tokio::time::sleep(TAKE * 3).await;
    assert_eq!(calls(&repo, RepositoryMethod::ListLeases), 2 * 3);

    // Halfway between take ticks, so that only the handover can explain a quick take.
    tokio::time::sleep(TAKE / 2).await;
    repo.reset_call_counts();
    let stopped = Instant::now();
    w2.coordinator.shutdown().await;
    while w1.held().len() < 6 {
        assert!(
            Instant::now() - stopped < Duration::from_secs(1),
            "released leases not taken within a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // w1 scanned once for the burst of three releases, and took the three leases.
    assert_eq!(calls(&repo, RepositoryMethod::ListLeases), 1);
    assert_eq!(calls(&repo, RepositoryMethod::TakeLease), 3);
    let t = table(&repo).await;
    assert!(t.values().all(|l| l.lease_owner.as_deref() == Some("w1")));
    w1.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn renewals_in_flight_are_bounded() {
    let inner = InMemoryLeaseRepository::new();
    let repo = Arc::new(Slow {
        renewal: Duration::from_millis(100),
        take_answer: Duration::ZERO,
        inner: inner.clone(),
        in_flight: Arc::default(),
        peak: Arc::default(),
    });
    let coordinator = LeaseCoordinator::builder(repo.clone(), "w1")
        .settings(settings().with_max_concurrent_writes(4))
        .build();
    coordinator.update_shards((0..30).map(shard));
    let mut acquisitions = coordinator.acquisitions().unwrap();
    tokio::spawn(async move { while acquisitions.recv().await.is_some() {} });
    coordinator.start().await.unwrap();
    assert_eq!(coordinator.held_leases().len(), 30);
    tokio::time::sleep(RENEW * 2 + RENEW / 2).await;
    assert_eq!(calls(&inner, RepositoryMethod::RenewLease), 60);
    assert_eq!(*repo.peak.lock().unwrap(), 4);
    coordinator.shutdown().await;
}

/// The in-memory repository with renewals that take `renewal`, counting how many overlap, and
/// takes applied at once but answered `take_answer` later (a process stopped while the answer
/// was on its way reads it when it wakes).
#[derive(Debug)]
struct Slow {
    inner: InMemoryLeaseRepository,
    renewal: Duration,
    take_answer: Duration,
    in_flight: Arc<Mutex<usize>>,
    peak: Arc<Mutex<usize>>,
}

impl LeaseRepository for Slow {
    fn ensure_table(&self) -> BoxFuture<'_, Result<bool, LeaseError>> {
        self.inner.ensure_table()
    }
    fn list_leases(&self) -> BoxFuture<'_, Result<LeaseScan, LeaseError>> {
        self.inner.list_leases()
    }
    fn get_lease<'a>(
        &'a self,
        key: &'a LeaseKey,
    ) -> BoxFuture<'a, Result<Option<Lease>, LeaseError>> {
        self.inner.get_lease(key)
    }
    fn create_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        self.inner.create_lease(lease)
    }
    fn take_lease<'a>(
        &'a self,
        lease: &'a Lease,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            let taken = self.inner.take_lease(lease, owner).await;
            tokio::time::sleep(self.take_answer).await;
            taken
        })
    }
    fn renew_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        Box::pin(async move {
            {
                let mut n = self.in_flight.lock().unwrap();
                *n += 1;
                let mut peak = self.peak.lock().unwrap();
                *peak = (*peak).max(*n);
            }
            tokio::time::sleep(self.renewal).await;
            *self.in_flight.lock().unwrap() -= 1;
            self.inner.renew_lease(lease).await
        })
    }
    fn update_checkpoint<'a>(
        &'a self,
        lease: &'a Lease,
        update: CheckpointUpdate,
    ) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        self.inner.update_checkpoint(lease, update)
    }
    fn release_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<Lease, LeaseError>> {
        self.inner.release_lease(lease)
    }
    fn delete_lease<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), LeaseError>> {
        self.inner.delete_lease(lease)
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_without_a_consumer_releases_the_leases_itself() {
    let repo = InMemoryLeaseRepository::new();
    repo.ensure_table().await.unwrap();
    let c = LeaseCoordinator::builder(Arc::new(repo.clone()), "w1")
        .settings(settings())
        .build();
    c.update_shards((0..3).map(shard));
    let mut events = c.events();
    c.start().await.unwrap();
    assert_eq!(c.held_leases().len(), 3);
    c.shutdown().await;
    assert_eq!(calls(&repo, RepositoryMethod::ReleaseLease), 3);
    let t = table(&repo).await;
    assert!(
        t.values()
            .all(|l| l.lease_owner.is_none() && l.lease_counter == 1)
    );
    let mut released = 0;
    while let Ok(e) = events.try_recv() {
        released += usize::from(matches!(e, LeaseEvent::Released { .. }));
    }
    assert_eq!(released, 3);
    c.shutdown().await; // idempotent
}

#[tokio::test(start_paused = true)]
async fn a_crashed_workers_leases_are_taken_after_they_expire() {
    let repo = InMemoryLeaseRepository::new();
    let (w1, w2) = converged_pair(&repo, 4).await;
    let w2_leases = w2.held();
    let crashed = Instant::now();
    drop(w2); // aborts its loops: no renewal, no release
    let mut check = ExclusiveCheck::new();
    while w1.held().len() < 4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        check.check(&repo, &[&w1], Duration::from_millis(100)).await;
        let elapsed = Instant::now() - crashed;
        // Not before they expired; and the others see the last renewal at their next scan (at
        // most one take interval later), then take at the first scan after the failover time.
        if w2_leases.iter().any(|k| w1.held().contains(k)) {
            assert!(elapsed > FAILOVER, "taken before expiry, after {elapsed:?}");
        }
        assert!(
            elapsed <= FAILOVER + TAKE * 2,
            "not taken within failover + 2 take intervals"
        );
    }
    w1.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_stolen_lease_is_lost_at_the_victims_next_renewal() {
    let repo = InMemoryLeaseRepository::new();
    let shards: Vec<ShardInfo> = (0..2).map(shard).collect();
    let mut w = worker(&repo, "w1", 1, &shards).await;
    tokio::task::yield_now().await;
    tokio::time::sleep(RENEW / 2).await;
    let row = table(&repo).await[&key(0)].clone();
    repo.take_lease(&row, "thief").await.unwrap();
    let stolen_at = Instant::now();
    w.drain_events();
    let mut signal = w.signal(&key(0));
    let status = tokio::time::timeout(RENEW, signal.ended()).await.unwrap();
    assert_eq!(status, LeaseStatus::Lost);
    assert!(Instant::now() - stolen_at <= RENEW);
    assert_eq!(w.held(), [key(1)]);
    assert!(w.checkpointer(&key(0)).is_lease_lost());
    let events = w.drain_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, LeaseEvent::Lost { key: k } if *k == key(0)))
    );
    assert_eq!(w.signal(&key(1)).status(), LeaseStatus::Held);
    w.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_worker_restarted_with_the_same_id_resumes_its_leases_renewing_each_first() {
    // To the others its leases may look expired by then: each is renewed (a conditional write)
    // before it is handed to the consumer, so that one taken meanwhile is not processed twice.
    let repo = InMemoryLeaseRepository::new();
    let shards: Vec<ShardInfo> = (0..3).map(shard).collect();
    let w = worker(&repo, "w1", 1, &shards).await;
    tokio::time::sleep(RENEW * 2).await;
    let before = table(&repo).await;
    drop(w);
    repo.reset_call_counts();
    let w = worker(&repo, "w1", 1, &shards).await;
    tokio::task::yield_now().await;
    assert_eq!(w.held(), (0..3).map(key).collect::<Vec<_>>());
    assert_eq!(w.got.lock().unwrap().len(), 3);
    assert_eq!(calls(&repo, RepositoryMethod::RenewLease), 3);
    for m in [
        RepositoryMethod::CreateLease,
        RepositoryMethod::TakeLease,
        RepositoryMethod::UpdateCheckpoint,
        RepositoryMethod::ReleaseLease,
    ] {
        assert_eq!(calls(&repo, m), 0, "{m}");
    }
    let after = table(&repo).await;
    for (k, lease) in &after {
        assert_eq!(lease.lease_owner.as_deref(), Some("w1"));
        assert_eq!(lease.lease_counter, before[k].lease_counter + 1, "{k}");
        assert_eq!(lease.checkpoint, before[k].checkpoint);
    }
    // And it renews them from then on (the first pass comes a whole interval after the
    // resumption, so that write does not stand in for it).
    tokio::time::sleep(RENEW + RENEW / 2).await;
    assert_eq!(calls(&repo, RepositoryMethod::RenewLease), 6);
    w.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_checkpoint_bumps_the_counter_and_replaces_the_next_renewal() {
    let repo = InMemoryLeaseRepository::new();
    let shards: Vec<ShardInfo> = (0..2).map(shard).collect();
    let w = worker(&repo, "w1", 1, &shards).await;
    tokio::task::yield_now().await;
    // Just after the first renew pass.
    tokio::time::sleep(RENEW + RENEW / 2).await;
    assert_eq!(calls(&repo, RepositoryMethod::RenewLease), 2);
    let counter_before = table(&repo).await[&key(0)].lease_counter;
    let checkpointer = w.checkpointer(&key(0));
    checkpointer.stage(ExtendedSequenceNumber::plain("12345".parse().unwrap()));
    checkpointer.checkpoint().await.unwrap();
    let row = table(&repo).await[&key(0)].clone();
    assert_eq!(row.lease_counter, counter_before + 1);
    assert_eq!(row.checkpoint, "12345".parse::<Checkpoint>().unwrap());
    assert_eq!(checkpointer.fencing_token(), Some(row.lease_counter));
    assert_eq!(
        w.coordinator.held_leases()[0].lease_counter,
        row.lease_counter
    );
    repo.reset_call_counts();
    // Second pass: only the other lease is renewed.
    tokio::time::sleep(RENEW).await;
    assert_eq!(calls(&repo, RepositoryMethod::RenewLease), 1);
    assert_eq!(table(&repo).await[&key(0)].lease_counter, row.lease_counter);
    // Third pass: both again.
    tokio::time::sleep(RENEW).await;
    assert_eq!(calls(&repo, RepositoryMethod::RenewLease), 3);
    // The checkpointer still writes (the renewal did not invalidate its counter).
    checkpointer.stage(ExtendedSequenceNumber::plain("12346".parse().unwrap()));
    checkpointer.checkpoint().await.unwrap();
    w.coordinator.shutdown().await;
    assert_eq!(
        table(&repo).await[&key(0)].checkpoint,
        "12346".parse::<Checkpoint>().unwrap()
    );
}

#[tokio::test(start_paused = true)]
async fn steady_state_costs_one_renewal_per_lease_per_interval_and_one_scan_per_take() {
    let repo = InMemoryLeaseRepository::new();
    const H: u64 = 4;
    const N: u32 = 13;
    let shards: Vec<ShardInfo> = (0..H as usize).map(shard).collect();
    let w = worker(&repo, "w1", 1, &shards).await;
    repo.reset_call_counts();
    let start = Instant::now();
    tokio::time::sleep(RENEW * N + RENEW / 2).await;
    // Renew ticks at k × 3308 ms (k = 1..=13); take ticks at 20050 and 40100 ms.
    assert_eq!(Instant::now() - start, RENEW * N + RENEW / 2);
    assert_eq!(calls(&repo, RepositoryMethod::RenewLease), H * u64::from(N));
    assert_eq!(calls(&repo, RepositoryMethod::ListLeases), 2);
    for m in [
        RepositoryMethod::CreateLease,
        RepositoryMethod::TakeLease,
        RepositoryMethod::UpdateCheckpoint,
        RepositoryMethod::ReleaseLease,
        RepositoryMethod::GetLease,
        RepositoryMethod::DeleteLease,
        RepositoryMethod::EnsureTable,
    ] {
        assert_eq!(calls(&repo, m), 0, "{m}");
    }
    // One checkpoint in an interval saves one renewal.
    repo.reset_call_counts();
    let c = w.checkpointer(&key(2));
    c.stage(ExtendedSequenceNumber::plain("7".parse().unwrap()));
    c.checkpoint().await.unwrap();
    tokio::time::sleep(RENEW * 3).await;
    assert_eq!(calls(&repo, RepositoryMethod::UpdateCheckpoint), 1);
    assert_eq!(calls(&repo, RepositoryMethod::RenewLease), H * 3 - 1);
    w.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_child_lease_is_created_only_after_its_parent_is_at_shard_end() {
    let repo = InMemoryLeaseRepository::new();
    let parent = shard(0);
    let child = shard(1).with_parent(parent.id.clone());
    let w = worker(&repo, "w1", 1, &[parent.clone(), child.clone()]).await;
    tokio::task::yield_now().await;
    assert_eq!(w.held(), [key(0)]);
    tokio::time::sleep(TAKE * 2 + Duration::from_secs(1)).await;
    assert!(!table(&repo).await.contains_key(&key(1)));
    assert_eq!(calls(&repo, RepositoryMethod::CreateLease), 1);

    // The consumer reaches the parent's end and makes its final checkpoint: the finished
    // lease stays held (and renewed) until its cleanup, as in the KCL.
    let c = w.checkpointer(&key(0));
    c.mark_shard_end(None, [child.id.clone()]);
    c.checkpoint_and_release().await.unwrap();
    let row = table(&repo).await[&key(0)].clone();
    assert!(row.checkpoint.is_shard_end());
    assert_eq!(row.lease_owner.as_deref(), Some("w1"));
    assert!(!table(&repo).await.contains_key(&key(1)));
    assert_eq!(w.held(), [key(0)]);

    tokio::time::sleep(TAKE + Duration::from_secs(1)).await;
    let t = table(&repo).await;
    let child_lease = &t[&key(1)];
    assert_eq!(child_lease.lease_owner.as_deref(), Some("w1"));
    assert!(child_lease.parent_shard_ids.contains(&parent.id));
    assert_eq!(child_lease.checkpoint, Checkpoint::TRIM_HORIZON);
    assert_eq!(w.held(), [key(0), key(1)]);
    // Kept while the child has not checkpointed past TRIM_HORIZON.
    tokio::time::sleep(TAKE).await;
    assert!(table(&repo).await.contains_key(&key(0)));
    assert_eq!(calls(&repo, RepositoryMethod::DeleteLease), 0);

    // The child checkpoints: the parent's lease is deleted at the next take pass.
    let mut events = w.coordinator.events();
    let c = w.checkpointer(&key(1));
    c.stage(ExtendedSequenceNumber::plain("7".parse().unwrap()));
    c.checkpoint().await.unwrap();
    tokio::time::sleep(TAKE).await;
    assert!(!table(&repo).await.contains_key(&key(0)));
    assert_eq!(calls(&repo, RepositoryMethod::DeleteLease), 1);
    assert_eq!(w.held(), [key(1)]);
    let mut deleted = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let LeaseEvent::Deleted { key } = e {
            deleted.push(key);
        }
    }
    assert_eq!(deleted, [key(0)]);
    // The parent shard is still listed (a closed shard stays for the retention period): its
    // lease is not created again.
    let created = calls(&repo, RepositoryMethod::CreateLease);
    tokio::time::sleep(TAKE * 2).await;
    assert!(!table(&repo).await.contains_key(&key(0)));
    assert_eq!(calls(&repo, RepositoryMethod::CreateLease), created);
    w.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_children_of_a_finished_shard_get_leases_even_when_this_worker_wants_none() {
    // A KCL worker never creates the leases of a finished shard's children itself: the parent's
    // holder does, unowned, and the others take them.
    let repo = InMemoryLeaseRepository::new();
    let parent = shard(0);
    let child = shard(1).with_parent(parent.id.clone());
    let coordinator = LeaseCoordinator::builder(Arc::new(repo.clone()), "w1")
        .strategy(Arc::new(kinesis_lease::Explicit::new([parent.id.clone()])))
        .settings(settings())
        .build();
    coordinator.update_shards([parent.clone(), child].iter());
    let mut acquisitions = coordinator.acquisitions().unwrap();
    coordinator.start().await.unwrap();
    let lease = acquisitions.recv().await.unwrap();
    lease.checkpointer.mark_shard_end(None, [shard(1).id]);
    lease.checkpointer.checkpoint_and_release().await.unwrap();
    tokio::time::sleep(TAKE + Duration::from_secs(1)).await;
    let t = table(&repo).await;
    let child_lease = &t[&key(1)];
    assert_eq!(child_lease.lease_owner, None);
    assert_eq!(child_lease.checkpoint, Checkpoint::TRIM_HORIZON);
    assert!(child_lease.parent_shard_ids.contains(&parent.id));
    coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_taken_child_lease_is_processed_only_once_its_parents_are_finished() {
    // A Java KCL worker creates the child of a merge when its first parent ends: the child's
    // lease may exist while the other parent is still being processed elsewhere.
    let repo = InMemoryLeaseRepository::new();
    repo.ensure_table().await.unwrap();
    let parent = shard(0);
    let child = shard(1).with_parent(parent.id.clone());
    let mut parent_lease = Lease::new(key(0), "5".parse().unwrap());
    parent_lease.lease_owner = Some("java".into());
    let parent_lease = repo.create_lease(&parent_lease).await.unwrap();
    // The other worker renews its parent lease.
    let renewer = {
        let repo = repo.clone();
        let mut lease = parent_lease.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW).await;
                match repo.renew_lease(&lease).await {
                    Ok(renewed) => lease = renewed,
                    Err(_) => break,
                }
            }
        })
    };
    let mut child_lease = Lease::new(key(1), Checkpoint::TRIM_HORIZON);
    child_lease.parent_shard_ids.insert(parent.id.clone());
    repo.create_lease(&child_lease).await.unwrap();

    let w = worker(&repo, "w1", 1, &[parent, child]).await;
    tokio::task::yield_now().await;
    // Held (and renewed), but not handed to the consumer.
    assert_eq!(w.held(), [key(1)]);
    let got: Vec<LeaseKey> = w
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _, _)| k.clone())
        .collect();
    assert!(got.is_empty(), "{got:?} {:?}", w.coordinator.held_leases());
    tokio::time::sleep(TAKE + Duration::from_secs(1)).await;
    assert!(w.got.lock().unwrap().is_empty());
    assert_eq!(w.held(), [key(1)]);

    // The other worker finishes the parent: the child is handed over at the next take pass.
    renewer.abort();
    let parent_lease = table(&repo).await[&key(0)].clone();
    repo.update_checkpoint(
        &parent_lease,
        CheckpointUpdate {
            checkpoint: Checkpoint::SHARD_END,
            child_shard_ids: None,
            release: false,
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(TAKE).await;
    let got: Vec<LeaseKey> = w
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _, _)| k.clone())
        .collect();
    assert_eq!(got, [key(1)]);
    w.coordinator.shutdown().await;
}

/// A lease of `owner` renewed every renew interval until the returned task is aborted (a Java
/// KCL worker, which leaves its leases owned when it stops).
async fn foreign_renewer(
    repo: &InMemoryLeaseRepository,
    i: usize,
    owner: &str,
) -> tokio::task::JoinHandle<()> {
    let mut lease = Lease::new(key(i), "5".parse().unwrap());
    lease.lease_owner = Some(owner.into());
    let mut lease = repo.create_lease(&lease).await.unwrap();
    let repo = repo.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RENEW).await;
            match repo.renew_lease(&lease).await {
                Ok(renewed) => lease = renewed,
                Err(_) => break,
            }
        }
    })
}

/// How long after the foreign owner stops renewing `w` holds its lease.
async fn take_over_after_foreign_stop(probes: bool) -> (Duration, u64) {
    let repo = InMemoryLeaseRepository::new();
    repo.ensure_table().await.unwrap();
    let renewer = foreign_renewer(&repo, 0, "java").await;
    let coordinator = LeaseCoordinator::builder(Arc::new(repo.clone()), "w1")
        .strategy(Arc::new(Balanced::with_seed(1)))
        .settings(settings().with_expiry_probes(probes))
        .build();
    coordinator.update_shards([shard(0), shard(1)].iter());
    coordinator.start().await.unwrap();
    tokio::task::yield_now().await;
    assert_eq!(coordinator.held_leases().len(), 1);
    // Steady state for a while, then the other owner stops at an arbitrary moment.
    tokio::time::sleep(TAKE * 2 + Duration::from_millis(7_300)).await;
    repo.reset_call_counts();
    tokio::time::sleep(TAKE).await;
    let probes_per_take_interval = calls(&repo, RepositoryMethod::GetLease);
    renewer.abort();
    let stopped = Instant::now();
    while coordinator.held_leases().len() < 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(stopped.elapsed() < TAKE * 3, "never taken");
    }
    let took = stopped.elapsed();
    coordinator.shutdown().await;
    (took, probes_per_take_interval)
}

#[tokio::test(start_paused = true)]
async fn a_stopped_foreign_owners_leases_are_taken_soon_after_they_expire() {
    let (with, probes) = take_over_after_foreign_stop(true).await;
    let (without, none) = take_over_after_foreign_stop(false).await;
    eprintln!("taken {with:?} after the stop with probes, {without:?} without");
    // Probes every two renew intervals (6616 ms): 3 GetItem per take interval for one other owner.
    assert_eq!(probes, 3);
    assert_eq!(none, 0);
    // Stale at the second probe after the stop at the latest, then the failover time.
    let bound = FAILOVER + RENEW * 4 + Duration::from_millis(200);
    assert!(
        with <= bound,
        "taken {with:?} after the stop (bound {bound:?})"
    );
    assert!(with > FAILOVER, "taken before the lease expired: {with:?}");
    // Without probes: the scan that first sees the last counter, then one more take interval.
    assert!(without > with, "without probes {without:?}, with {with:?}");
    assert!(without <= TAKE * 2 + Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn renewal_failures_keep_the_lease_until_it_expires_locally() {
    let repo = InMemoryLeaseRepository::new();
    let w = worker(&repo, "w1", 1, &[shard(0)]).await;
    let mut events = w.coordinator.events();
    tokio::task::yield_now().await;
    repo.fail_next(RepositoryMethod::RenewLease, 2);
    tokio::time::sleep(RENEW * 2 + RENEW / 2).await;
    // Two failures (6.6 s < failover): still held; the third renewal succeeds.
    assert_eq!(w.held(), [key(0)]);
    let mut failed = 0;
    while let Ok(e) = events.try_recv() {
        failed += usize::from(matches!(e, LeaseEvent::RenewalFailed { .. }));
    }
    assert_eq!(failed, 2);
    tokio::time::sleep(RENEW).await;
    assert_eq!(w.held(), [key(0)]);
    // Persistent failures: dropped as lost once the failover time passed since the last success.
    repo.fail_next(RepositoryMethod::RenewLease, 100);
    repo.fail_next(RepositoryMethod::ListLeases, 100);
    let mut signal = w.signal(&key(0));
    let since = Instant::now();
    assert_eq!(signal.ended().await, LeaseStatus::Lost);
    let elapsed = Instant::now() - since;
    assert!(
        elapsed > FAILOVER - RENEW && elapsed <= FAILOVER + RENEW,
        "{elapsed:?}"
    );
    assert!(w.held().is_empty());
    w.coordinator.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn health_shows_the_leases_held_and_when_storage_stops_answering() {
    let repo = InMemoryLeaseRepository::new();
    let idle = LeaseCoordinator::builder(Arc::new(repo.clone()), "w0").build();
    assert!(!idle.health().is_ready());
    assert_eq!(idle.health().problems(), vec![HealthProblem::NotStarted]);

    let w = worker(&repo, "w1", 1, &[shard(0), shard(1)]).await;
    let health = w.coordinator.health();
    assert!(health.is_ready());
    assert_eq!(health.problems(), vec![]);
    assert_eq!(health.worker_id, "w1");
    assert_eq!(health.workers, 1);
    assert_eq!(health.leases_in_table, 2);
    assert_eq!(health.since_table_read, Some(Duration::ZERO));
    let keys: Vec<LeaseKey> = health.leases.iter().map(|l| l.lease_key.clone()).collect();
    assert_eq!(keys, vec![key(0), key(1)]);
    assert!(health.leases.iter().all(|l| l.reading && !l.handing_over));
    assert!(
        health
            .leases
            .iter()
            .all(|l| l.checkpoint == Checkpoint::TRIM_HORIZON)
    );

    // Renewals succeed: every lease stays fresh.
    tokio::time::sleep(RENEW * 2 + RENEW / 2).await;
    let health = w.coordinator.health();
    assert_eq!(health.problems(), vec![]);
    assert!(health.leases.iter().all(|l| l.since_renewal <= RENEW));
    assert!(health.since_renew_pass.unwrap() <= RENEW);

    // The table stops answering: renewals and scans fail.
    repo.fail_next(RepositoryMethod::RenewLease, 1_000);
    repo.fail_next(RepositoryMethod::ListLeases, 1_000);
    tokio::time::sleep(FAILOVER / 2 + RENEW).await;
    let problems = w.coordinator.health().problems();
    assert!(
        problems.iter().any(|p| matches!(p,
            HealthProblem::LeaseNotRenewed { lease_key, since }
                if *lease_key == key(0) && *since > FAILOVER / 2)),
        "{problems:?}"
    );
    assert!(
        problems[0]
            .to_string()
            .starts_with("lease shardId-000000000000 was last renewed"),
        "{}",
        problems[0]
    );

    // Past the failover time the leases are given up, and the table stays unread.
    tokio::time::sleep(TAKE + FAILOVER).await;
    let health = w.coordinator.health();
    assert!(health.leases.is_empty());
    assert!(
        matches!(health.problems()[..], [HealthProblem::TableUnread { since: Some(s) }] if s > TAKE + FAILOVER),
        "{:?}",
        health.problems()
    );

    w.coordinator.shutdown().await;
    let health = w.coordinator.health();
    assert!(!health.is_ready());
    assert_eq!(health.problems()[0], HealthProblem::ShuttingDown);
}

#[tokio::test(start_paused = true)]
async fn a_take_answered_after_the_failover_time_is_not_handed_to_the_consumer() {
    let inner = InMemoryLeaseRepository::new();
    inner.ensure_table().await.unwrap();
    inner
        .create_lease(&Lease::new(key(0), Checkpoint::TRIM_HORIZON))
        .await
        .unwrap();
    let repo = Arc::new(Slow {
        inner: inner.clone(),
        renewal: Duration::ZERO,
        take_answer: FAILOVER + Duration::from_secs(2),
        in_flight: Arc::default(),
        peak: Arc::default(),
    });
    let c = LeaseCoordinator::builder(repo, "w1")
        .settings(settings())
        .build();
    c.update_shards([shard(0)]);
    let mut acquisitions = c.acquisitions().unwrap();
    let mut events = c.events();
    let start = Instant::now();
    c.start().await.unwrap();
    // Meanwhile another worker could have taken the expired lease: the late answer's lease is
    // let go, never processed. The next take pass finds it still this worker's, renews it, and
    // only then hands it over.
    let first = tokio::time::timeout(TAKE * 2, acquisitions.recv())
        .await
        .expect("the lease comes back at the next take pass")
        .unwrap();
    assert_eq!(first.lease_key, key(0));
    let delivered_at = Instant::now() - start;
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    let lost = seen
        .iter()
        .position(|e| matches!(e, LeaseEvent::Lost { key: k } if *k == key(0)));
    assert!(lost.is_some(), "the stale take was let go: {seen:?}");
    assert!(delivered_at >= FAILOVER + Duration::from_secs(2));
    assert!(
        calls(&inner, RepositoryMethod::RenewLease) >= 1,
        "renewed before it was handed over"
    );
    c.shutdown().await;
}
