//! What a fleet costs in DynamoDB calls per hour under each protocol, measured in one virtual
//! hour (10 workers, 100 shards, the KCL's default timings, no checkpoints) and compared with
//! the calls the timings predict. `docs/leases.md` quotes the printed table.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kinesis_lease::coordinator::{CoordinatorSettings, LeaseCoordinator};
use kinesis_lease::kcl3::Kcl3Settings;
use kinesis_lease::lineage::{InitialPosition, ShardInfo};
use kinesis_lease::repository::{InMemoryLeaseRepository, RepositoryMethod};
use kinesis_lease::{LeaseProtocol, LeaseRepository};

const WORKERS: usize = 10;
const SHARDS: usize = 100;
const HOUR: f64 = 3600.0;

async fn measure(protocol: LeaseProtocol, probes: bool) -> BTreeMap<RepositoryMethod, u64> {
    let repo = InMemoryLeaseRepository::new();
    let shards: Vec<ShardInfo> = (0..SHARDS)
        .map(|i| ShardInfo::new(format!("shardId-{i:012}").parse().unwrap()))
        .collect();
    let settings = CoordinatorSettings::default()
        .with_initial_position(InitialPosition::TrimHorizon)
        .with_protocol(protocol)
        .with_expiry_probes(probes);
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let c = LeaseCoordinator::builder(Arc::new(repo.clone()), format!("w{w}"))
            .settings(settings.clone())
            .build();
        c.update_shards(shards.iter());
        let mut acquisitions = c.acquisitions().unwrap();
        tokio::spawn(async move { while acquisitions.recv().await.is_some() {} });
        c.start().await.unwrap();
        workers.push(c);
        // Workers start apart, as real ones do (timers that fire at one instant for every
        // worker are an artefact of virtual time).
        tokio::time::sleep(Duration::from_millis(137)).await;
    }
    // Settle (every lease owned, the split even), then count one hour.
    let step = Duration::from_secs(1);
    for _ in 0..600 {
        tokio::time::sleep(step).await;
    }
    let scan = repo.list_leases().await.unwrap();
    assert!(
        scan.leases.iter().all(|l| l.lease_owner.is_some()),
        "not settled"
    );
    repo.reset_call_counts();
    for _ in 0..3600 {
        tokio::time::sleep(step).await;
    }
    let counts = RepositoryMethod::ALL
        .iter()
        .map(|m| (*m, repo.call_count(*m)))
        .filter(|(_, n)| *n > 0)
        .collect();
    for w in workers {
        w.shutdown().await;
    }
    counts
}

fn within(measured: u64, predicted: f64, what: &str) {
    let ratio = measured as f64 / predicted;
    assert!(
        (0.95..=1.05).contains(&ratio),
        "{what}: measured {measured}, predicted {predicted:.0}"
    );
}

#[tokio::test(start_paused = true)]
async fn dynamodb_calls_per_hour_of_each_protocol() {
    let renew = HOUR / 3.308;
    let kcl2 = measure(LeaseProtocol::Kcl2, true).await;
    eprintln!("KCL 2.x rules, {WORKERS} workers, {SHARDS} shards, calls per hour: {kcl2:?}");
    // The expiry probes add their reads, and no scan: a live owner is never taken for stopped.
    let without_probes = measure(LeaseProtocol::Kcl2, false).await;
    assert_eq!(
        without_probes[&RepositoryMethod::ListLeases],
        kcl2[&RepositoryMethod::ListLeases]
    );
    within(
        kcl2[&RepositoryMethod::RenewLease],
        SHARDS as f64 * renew,
        "kcl2 renewals",
    );
    within(
        kcl2[&RepositoryMethod::ListLeases],
        WORKERS as f64 * HOUR / 20.05,
        "kcl2 scans",
    );
    // Expiry probes: each worker reads one lease of each of the two owners after it every two
    // renew intervals, however large the fleet.
    within(
        kcl2[&RepositoryMethod::GetLease],
        (WORKERS * 2) as f64 * HOUR / 6.616,
        "kcl2 probes",
    );

    let kcl3 = measure(
        LeaseProtocol::Kcl3(Kcl3Settings::default().with_cpu_metric(false)),
        true,
    )
    .await;
    eprintln!("KCL 3.x rules, {WORKERS} workers, {SHARDS} shards, calls per hour: {kcl3:?}");
    within(
        kcl3[&RepositoryMethod::RenewLease],
        SHARDS as f64 * renew,
        "kcl3 renewals",
    );
    within(
        kcl3[&RepositoryMethod::LeaseKeysOf],
        WORKERS as f64 * HOUR / 9.975,
        "kcl3 discovery",
    );
    within(
        kcl3[&RepositoryMethod::ScanFleet],
        HOUR / 20.0,
        "kcl3 leader scans",
    );
    within(
        kcl3[&RepositoryMethod::PutWorkerMetrics],
        WORKERS as f64 * HOUR / 30.0,
        "kcl3 reports",
    );
    // The leader's heartbeat and the others' checks of the lock, every 20 s.
    within(
        kcl3[&RepositoryMethod::PutRow],
        HOUR / 20.0,
        "kcl3 lock heartbeats",
    );
    within(
        kcl3[&RepositoryMethod::GetRow],
        (WORKERS - 1) as f64 * HOUR / 20.0,
        "kcl3 lock checks",
    );
    assert!(!kcl3.contains_key(&RepositoryMethod::ListLeases));
    assert!(!kcl3.contains_key(&RepositoryMethod::TakeLease));
}
