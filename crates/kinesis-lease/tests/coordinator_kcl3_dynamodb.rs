//! Three coordinators under the KCL 3.x rules on one DynamoDB lease table (the embedded
//! emulator, or the server the standard endpoint variables name), in real time with short
//! intervals: the lease-owner index is created as the KCL creates it, one worker is elected,
//! it splits the shards, and when it is killed another takes over and reassigns its leases.
//! (A leader that assigns before the others have reported gives itself every lease; its
//! balancing then moves them, a few per balancing run: 10 to 26 s here on moto.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kinesis_client::ClientConfig;
use kinesis_kcl_compat::fleet::{LEADER_KEY, LeaderLock, WorkerMetricStats};
use kinesis_lease::coordinator::{CoordinatorSettings, LeaseCoordinator};
use kinesis_lease::kcl3::Kcl3Settings;
use kinesis_lease::lineage::{InitialPosition, ShardInfo};
use kinesis_lease::repository::{DynamoDbLeaseRepository, Kcl3Repository, TableOptions};
use kinesis_lease::{LeaseProtocol, LeaseRepository};
use kinesis_testkit::TestEnv;

async fn owners(repo: &DynamoDbLeaseRepository) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for l in repo.list_leases().await.unwrap().leases {
        *by.entry(l.lease_owner.unwrap_or_else(|| "-".into()))
            .or_insert(0) += 1;
    }
    by
}

async fn leader(repo: &DynamoDbLeaseRepository) -> Option<String> {
    let item = repo.get_row(LEADER_KEY).await.unwrap()?;
    Some(LeaderLock::from_item(&item).unwrap().owner_name)
}

/// Polls `check` every 200 ms for up to `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match check().await {
            Ok(()) => return,
            Err(state) if tokio::time::Instant::now() >= deadline => {
                panic!("{what} not within {limit:?}: {state}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test]
async fn three_kcl3_workers_elect_a_leader_split_the_shards_and_fail_over() {
    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let table = env.unique_name("kcl3-leases");
    let options = TableOptions::default().with_poll_interval(Duration::from_millis(20));
    let repo = Arc::new(DynamoDbLeaseRepository::with_options(
        &config,
        table.clone(),
        options,
    ));
    let shards: Vec<ShardInfo> = (0..6)
        .map(|i| ShardInfo::new(format!("shardId-{i:012}").parse().unwrap()))
        .collect();
    let k = Kcl3Settings::default()
        .with_cpu_metric(false)
        .with_assignment_interval(Duration::from_secs(2))
        .with_discovery_interval(Duration::from_millis(500))
        .with_worker_metrics_interval(Duration::from_secs(1))
        .with_leader_timing(Duration::from_secs(3), Duration::from_millis(500))
        // Nobody consumes here: a hand-over completes by its timeout.
        .with_handoff_timeout(Duration::from_secs(1));
    let settings = CoordinatorSettings::default()
        .with_failover_time(Duration::from_secs(1))
        .with_initial_position(InitialPosition::TrimHorizon)
        .with_release_timeout(Duration::from_secs(2))
        .with_protocol(LeaseProtocol::Kcl3(k));
    let mut workers = Vec::new();
    for id in ["w1", "w2", "w3"] {
        let c = LeaseCoordinator::builder(Arc::clone(&repo) as Arc<dyn LeaseRepository>, id)
            .settings(settings.clone())
            .build();
        c.update_shards(shards.iter());
        c.start().await.unwrap();
        workers.push(c);
    }

    // The index, as the KCL creates it.
    let sdk = aws_sdk_dynamodb::Client::new(&env.sdk_config());
    let described = sdk
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let index = described
        .table()
        .and_then(|t| t.global_secondary_indexes().first().cloned())
        .expect("the lease-owner index");
    assert_eq!(index.index_name(), Some("LeaseOwnerToLeaseKeyIndex"));
    let keys: Vec<(&str, &str)> = index
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, [("leaseOwner", "HASH"), ("leaseKey", "RANGE")]);
    assert_eq!(
        index
            .projection()
            .and_then(|p| p.projection_type())
            .map(|p| p.as_str()),
        Some("KEYS_ONLY")
    );

    eventually(Duration::from_secs(120), "a 2/2/2 split", || async {
        let by = owners(&repo).await;
        let held: Vec<usize> = workers.iter().map(|w| w.held_leases().len()).collect();
        if by.len() == 3 && by.values().all(|n| *n == 2) && held == [2, 2, 2] {
            Ok(())
        } else {
            Err(format!("table {by:?}, held {held:?}"))
        }
    })
    .await;
    let first = leader(&repo).await.expect("a leader");
    // Every worker reported itself.
    let scan = repo.scan_fleet().await.unwrap();
    let mut reported: Vec<&str> = scan
        .worker_metrics
        .iter()
        .map(|w: &WorkerMetricStats| w.worker_id.as_str())
        .collect();
    reported.sort_unstable();
    assert_eq!(reported, ["w1", "w2", "w3"]);

    // The leader crashes (no shutdown: its lock and leases are left as they are).
    let at = workers.iter().position(|w| w.worker_id() == first).unwrap();
    drop(workers.remove(at));
    eventually(
        Duration::from_secs(120),
        "a new leader and a 3/3 split of the survivors",
        || async {
            let by = owners(&repo).await;
            let now = leader(&repo).await;
            if now.as_deref().is_some_and(|l| l != first)
                && by.len() == 2
                && by.values().all(|n| *n == 3)
                && !by.contains_key(&first)
            {
                Ok(())
            } else {
                Err(format!("leader {now:?}, table {by:?}"))
            }
        },
    )
    .await;
    for w in workers {
        w.shutdown().await;
    }
    // The workers that shut down deleted their reports (a leader no longer counts them as
    // active); the crashed one's is left.
    let scan = repo.scan_fleet().await.unwrap();
    let left: Vec<&str> = scan
        .worker_metrics
        .iter()
        .map(|w| w.worker_id.as_str())
        .collect();
    assert_eq!(left, [first.as_str()], "reports left after shutdown");
}
