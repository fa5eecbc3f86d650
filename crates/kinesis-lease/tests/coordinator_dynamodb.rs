//! Three coordinators on one DynamoDB lease table (the embedded emulator, or the server the
//! standard endpoint variables name), in real time with short intervals: they converge to a fair
//! share, each lease ends up held by exactly its table owner, and a stopped worker's released
//! leases are held by the others within one take interval.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kinesis_client::ClientConfig;
use kinesis_kcl_compat::lease::LeaseKey;
use kinesis_lease::coordinator::{CoordinatorSettings, Handover, LeaseCoordinator};
use kinesis_lease::lineage::{InitialPosition, ShardInfo};
use kinesis_lease::repository::{DynamoDbLeaseRepository, TableOptions};
use kinesis_lease::{Balanced, LeaseRepository};
use kinesis_testkit::TestEnv;

#[tokio::test]
async fn three_workers_converge_with_exclusive_ownership() {
    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let options = TableOptions::default().with_poll_interval(Duration::from_millis(20));
    let repo: Arc<dyn LeaseRepository> = Arc::new(DynamoDbLeaseRepository::with_options(
        &config,
        env.unique_name("leases"),
        options,
    ));
    let shards: Vec<ShardInfo> = (0..6)
        .map(|i| ShardInfo::new(format!("shardId-{i:012}").parse().unwrap()))
        .collect();
    let settings = CoordinatorSettings::default()
        .with_failover_time(Duration::from_secs(1))
        .with_initial_position(InitialPosition::TrimHorizon)
        .with_release_timeout(Duration::from_secs(2));
    let handover = Handover::new();
    let mut workers = Vec::new();
    for (i, id) in ["w1", "w2", "w3"].into_iter().enumerate() {
        let c = LeaseCoordinator::builder(Arc::clone(&repo), id)
            .strategy(Arc::new(Balanced::with_seed(i as u64)))
            .settings(settings.clone())
            .handover(handover.clone())
            .build();
        c.update_shards(shards.iter());
        c.start().await.unwrap();
        workers.push(c);
    }

    // Converged: every worker holds 2, and its local view matches the table's owners.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let scan = repo.list_leases().await.unwrap();
        let mut owners: BTreeMap<String, Vec<LeaseKey>> = BTreeMap::new();
        for l in &scan.leases {
            if let Some(o) = &l.lease_owner {
                owners
                    .entry(o.clone())
                    .or_default()
                    .push(l.lease_key.clone());
            }
        }
        let consistent = workers.iter().all(|w| {
            let mut held: Vec<LeaseKey> =
                w.held_leases().into_iter().map(|l| l.lease_key).collect();
            held.sort();
            let mut owned = owners.get(w.worker_id()).cloned().unwrap_or_default();
            owned.sort();
            held.len() == 2 && held == owned
        });
        if consistent && scan.leases.len() == 6 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no convergence: {owners:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every lease has exactly one local holder.
    let mut holders: BTreeMap<LeaseKey, usize> = BTreeMap::new();
    for w in &workers {
        for l in w.held_leases() {
            *holders.entry(l.lease_key).or_default() += 1;
        }
    }
    assert_eq!(holders.len(), 6);
    assert!(holders.values().all(|n| *n == 1));

    // w3 stops: its leases are released, and the other two hold all six. How soon is asserted
    // under virtual time (`coordinator_inmemory.rs`); on a real server, only that it happens.
    let w3 = workers.pop().unwrap();
    w3.shutdown().await;
    let stopped = tokio::time::Instant::now();
    loop {
        let scan = repo.list_leases().await.unwrap();
        let taken = scan
            .leases
            .iter()
            .filter(|l| matches!(l.lease_owner.as_deref(), Some("w1" | "w2")))
            .count();
        if taken == 6 {
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "released leases not taken within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The local views follow the table (a lease stolen to even out the shares is dropped by its
    // former holder at that one's next renewal): each lease held by exactly its table owner.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let scan = repo.list_leases().await.unwrap();
        let consistent = workers.iter().all(|w| {
            let mut held: Vec<LeaseKey> =
                w.held_leases().into_iter().map(|l| l.lease_key).collect();
            held.sort();
            let mut owned: Vec<LeaseKey> = scan
                .leases
                .iter()
                .filter(|l| l.lease_owner.as_deref() == Some(w.worker_id()))
                .map(|l| l.lease_key.clone())
                .collect();
            owned.sort();
            held == owned
        });
        let all_owned = scan
            .leases
            .iter()
            .all(|l| matches!(l.lease_owner.as_deref(), Some("w1" | "w2")));
        if consistent && all_owned {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "local views do not match the table"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for w in &workers {
        w.shutdown().await;
    }
    let scan = repo.list_leases().await.unwrap();
    assert!(scan.leases.iter().all(|l| l.lease_owner.is_none()));
}

/// A lease row missing an attribute the KCL requires is reported once as an event naming the
/// row and the attribute, and counted at every scan; the other shards go on.
#[tokio::test]
async fn a_corrupt_row_is_an_event_and_a_metric() {
    use std::sync::Mutex;

    use kinesis_client::Telemetry;
    use kinesis_client::sdk::dynamodb::types::AttributeValue;
    use kinesis_client::telemetry::{Measurement, MetricsLevel, Recorder};
    use kinesis_lease::LeaseEvent;

    #[derive(Debug, Default)]
    struct Counted(Mutex<Vec<f64>>);
    impl Recorder for Counted {
        fn level(&self) -> MetricsLevel {
            MetricsLevel::Summary
        }
        fn record(&self, m: &Measurement<'_>) {
            if m.name == "CorruptLeaseRows" {
                self.0.lock().unwrap().push(m.value);
            }
        }
    }

    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let table = env.unique_name("corrupt");
    let options = TableOptions::default().with_poll_interval(Duration::from_millis(20));
    let repo = DynamoDbLeaseRepository::with_options(&config, table.clone(), options);
    repo.ensure_table().await.unwrap();
    // A lease of shard 1 without its `leaseCounter`.
    config
        .dynamodb_sdk()
        .put_item()
        .table_name(&table)
        .item("leaseKey", AttributeValue::S("shardId-000000000001".into()))
        .item("checkpoint", AttributeValue::S("TRIM_HORIZON".into()))
        .item("checkpointSubSequenceNumber", AttributeValue::N("0".into()))
        .item(
            "ownerSwitchesSinceCheckpoint",
            AttributeValue::N("0".into()),
        )
        .send()
        .await
        .unwrap();
    let counted = Arc::new(Counted::default());
    let c = LeaseCoordinator::builder(Arc::new(repo), "w1")
        .settings(
            CoordinatorSettings::default()
                .with_failover_time(Duration::from_secs(1))
                .with_initial_position(InitialPosition::TrimHorizon),
        )
        .telemetry(Telemetry::new(Arc::clone(&counted)))
        .build();
    let mut events = c.events();
    c.update_shards(
        (0..2)
            .map(|i| ShardInfo::new(format!("shardId-{i:012}").parse().unwrap()))
            .collect::<Vec<_>>()
            .iter(),
    );
    let mut acquisitions = c.acquisitions().unwrap();
    c.start().await.unwrap();
    let acquired = tokio::time::timeout(Duration::from_secs(30), acquisitions.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        acquired.lease_key.shard_id().as_str(),
        "shardId-000000000000",
        "the other shard goes on"
    );
    // Several scans later: one event, a count at every scan.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut corrupt = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let LeaseEvent::CorruptRow { key, attribute, .. } = e {
            corrupt.push((key, attribute));
        }
    }
    assert_eq!(
        corrupt,
        [(Some("shardId-000000000001".to_owned()), "leaseCounter")]
    );
    let counts = counted.0.lock().unwrap().clone();
    assert!(
        counts.len() >= 2 && counts.iter().all(|n| *n == 1.0),
        "{counts:?}"
    );
    c.shutdown().await;
    drop(acquired);
}
