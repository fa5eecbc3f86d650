//! Resharding while the consumer runs, on the emulators: the parent's checkpoint ends at
//! `SHARD_END`, children start only after every parent finished, and nothing is lost or
//! reordered per partition key.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use kinesis_client::Shard;
use kinesis_consumer::{Consumer, DiagnosticEvent};
use kinesis_kcl_compat::lease::LeaseKey;
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_serde::Utf8;
use support::{Fixture, Worker, eventually};

/// Every value once, and in write order per partition key (values are `"{tag}{n}"` with `n`
/// counting up per test).
fn check_order_and_completeness(worker: &Worker, written: &[String]) {
    let seen = worker.seen.lock().unwrap();
    let mut got: Vec<String> = seen.iter().map(|r| r.data().clone()).collect();
    got.sort();
    let mut expected = written.to_vec();
    expected.sort();
    assert_eq!(got, expected, "every record exactly once");
    let mut by_key: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for r in seen.iter() {
        let n: u32 = r.data()[1..].parse().unwrap();
        by_key.entry(r.partition_key()).or_default().push(n);
    }
    for (key, ns) in by_key {
        let mut sorted = ns.clone();
        sorted.sort();
        assert_eq!(ns, sorted, "order of {key}");
    }
}

/// The order in which shards started and stopped on `worker`.
fn shard_timeline(worker: &Worker) -> Vec<(String, &'static str)> {
    worker
        .events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            DiagnosticEvent::ShardStarted { shard_id, .. } => Some((shard_id.to_string(), "start")),
            DiagnosticEvent::ShardStopped { shard_id } => Some((shard_id.to_string(), "stop")),
            _ => None,
        })
        .collect()
}

/// No child started before its parent stopped for the last time.
fn check_parents_first(timeline: &[(String, &str)], parent: &str, children: &[String]) {
    let parent_stop = timeline
        .iter()
        .rposition(|(s, e)| s == parent && *e == "stop")
        .expect("the parent stopped");
    for child in children {
        let first_start = timeline
            .iter()
            .position(|(s, e)| s == child && *e == "start")
            .unwrap_or_else(|| panic!("{child} started"));
        assert!(
            first_start > parent_stop,
            "{child} started before its parent {parent} finished: {timeline:?}"
        );
    }
}

/// Splits `shard` at the middle of its hash key range.
async fn split(fx: &Fixture, shard: &Shard) {
    fx.admin
        .split_shard(&fx.stream, shard.id(), shard.hash_key_range().midpoint())
        .await
        .unwrap();
}

/// Puts the values `v{i}` for `i` in `range`, over `keys` partition keys; returns them.
async fn put_values(fx: &Fixture, range: std::ops::Range<u32>, keys: usize) -> Vec<String> {
    fx.put(range.map(|i| format!("v{i}")), keys)
        .await
        .into_iter()
        .map(|(v, _, _)| v)
        .collect()
}

async fn shards(fx: &Fixture) -> Vec<Shard> {
    fx.client
        .list_shards(&fx.stream, None)
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_ends_the_parent_at_shard_end_before_the_children_start() {
    let fx = Fixture::new(1).await;
    let parent = shards(&fx).await.remove(0);
    let mut written: Vec<String> = put_values(&fx, 0..30, 6).await;
    let worker = fx.worker("w1").await;
    eventually("the parent's records", Duration::from_secs(20), || {
        worker.count() >= 10
    })
    .await;
    split(&fx, &parent).await;
    written.extend(put_values(&fx, 30..60, 6).await);
    eventually("all 60 records", Duration::from_secs(30), || {
        worker.count() >= 60
    })
    .await;
    let leases = fx.leases().await;
    assert_eq!(
        leases[parent.id().as_str()].checkpoint,
        Checkpoint::SHARD_END,
        "the parent's checkpoint"
    );
    let children: Vec<String> = shards(&fx)
        .await
        .into_iter()
        .filter(|s| s.parents().any(|p| p == parent.id()))
        .map(|s| s.id().to_string())
        .collect();
    assert_eq!(children.len(), 2);
    assert_eq!(
        leases[parent.id().as_str()]
            .child_shard_ids
            .iter()
            .map(|c| c.to_string())
            .collect::<std::collections::BTreeSet<_>>(),
        children.iter().cloned().collect(),
        "the parent's lease lists its children"
    );
    let worker = worker.shutdown().await;
    check_order_and_completeness(&worker, &written);
    check_parents_first(&shard_timeline(&worker), parent.id().as_str(), &children);
    assert!(worker.events.lock().unwrap().iter().any(
        |e| matches!(e, DiagnosticEvent::ShardEnded { shard_id, .. } if shard_id == parent.id())
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_ends_both_parents_before_the_child_starts() {
    let fx = Fixture::new(2).await;
    let mut parents = shards(&fx).await;
    parents.sort_by_key(|s| s.hash_key_range().start());
    let mut written: Vec<String> = put_values(&fx, 0..30, 6).await;
    let worker = fx.worker("w1").await;
    eventually("the parents' records", Duration::from_secs(20), || {
        worker.count() >= 10
    })
    .await;
    fx.admin
        .merge_shards(&fx.stream, parents[0].id(), parents[1].id())
        .await
        .unwrap();
    written.extend(put_values(&fx, 30..60, 6).await);
    eventually("all 60 records", Duration::from_secs(30), || {
        worker.count() >= 60
    })
    .await;
    let leases = fx.leases().await;
    for p in &parents {
        assert_eq!(leases[p.id().as_str()].checkpoint, Checkpoint::SHARD_END);
    }
    let child: Vec<String> = shards(&fx)
        .await
        .into_iter()
        .filter(|s| s.parents().count() == 2)
        .map(|s| s.id().to_string())
        .collect();
    assert_eq!(child.len(), 1);
    let worker = worker.shutdown().await;
    check_order_and_completeness(&worker, &written);
    let timeline = shard_timeline(&worker);
    for p in &parents {
        check_parents_first(&timeline, p.id().as_str(), &child);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_a_reshard_does_not_resume_ended_shards() {
    let fx = Fixture::new(1).await;
    let parent = shards(&fx).await.remove(0);
    fx.put((0..10).map(|i| format!("v{i}")), 3).await;
    let worker = fx.worker("w1").await;
    eventually("the parent's records", Duration::from_secs(20), || {
        worker.count() >= 10
    })
    .await;
    split(&fx, &parent).await;
    eventually("the children held", Duration::from_secs(30), || {
        worker.held() == 2
    })
    .await;
    worker.shutdown().await;

    let written = fx.put((10..20).map(|i| format!("v{i}")), 3).await;
    let again = fx.worker("w1").await;
    eventually("the new records", Duration::from_secs(20), || {
        again.count() >= 10
    })
    .await;
    let again = again.shutdown().await;
    let values: Vec<String> = written.into_iter().map(|(v, _, _)| v).collect();
    check_order_and_completeness(&again, &values);
    assert!(
        !shard_timeline(&again)
            .iter()
            .any(|(s, _)| s == parent.id().as_str()),
        "the ended parent was not resumed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_end_whose_checkpoint_fails_is_written_again_and_the_children_follow() {
    use kinesis_lease::LeaseRepository as _;
    use kinesis_lease::repository::{InMemoryLeaseRepository, RepositoryMethod};

    let fx = Fixture::new(1).await;
    let parent = shards(&fx).await.remove(0);
    let table = InMemoryLeaseRepository::new();
    let events: support::Events = Arc::default();
    let sink = Arc::clone(&events);
    let consumer = Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
        .worker_id("w1")
        .deserializer(Utf8)
        .settings(fx.settings())
        .lease_repository(Arc::new(table.clone()))
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    let worker = Worker::run(consumer, events);
    let mut written: Vec<String> = put_values(&fx, 0..20, 4).await;
    eventually("the parent's records", Duration::from_secs(20), || {
        worker.count() >= 20
    })
    .await;
    // The readers only stage: the next checkpoint writes are the parent's SHARD_END, and the
    // table is unavailable for the first two.
    let before = table.call_count(RepositoryMethod::UpdateCheckpoint);
    table.fail_next(RepositoryMethod::UpdateCheckpoint, 2);
    split(&fx, &parent).await;
    written.extend(put_values(&fx, 20..40, 4).await);
    // Both failed writes are made again (0.5 s, then up to 1 s later), and the children start.
    eventually("the children's records", Duration::from_secs(30), || {
        worker.count() >= 40
    })
    .await;
    assert_eq!(
        table.call_count(RepositoryMethod::UpdateCheckpoint) - before,
        3,
        "both injected failures were hit, then the write made again"
    );
    let key = LeaseKey::from(parent.id().clone());
    assert_eq!(
        table.get_lease(&key).await.unwrap().unwrap().checkpoint,
        Checkpoint::SHARD_END
    );
    let worker = worker.shutdown().await;
    check_order_and_completeness(&worker, &written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_lost_after_the_shard_end_ends_the_records_not_yet_taken() {
    use kinesis_lease::LeaseRepository as _;

    let fx = Fixture::new(1).await;
    let parent = shards(&fx).await.remove(0);
    fx.put((0..100).map(|i| format!("v{i}")), 4).await;
    split(&fx, &parent).await;
    let consumer: Consumer<String> = fx.consumer("w1").await;
    let mut streams = consumer.shards().unwrap();
    let mut stream = loop {
        let s = streams.next().await.unwrap();
        if s.shard_id() == parent.id() {
            break s;
        }
    };
    // A slow application: the shard's end is fetched long before it takes the records.
    stream.next().await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Another worker takes the lease: this one's next renewal finds it lost.
    let table = fx.repository();
    let key = LeaseKey::from(parent.id().clone());
    let lease = table.get_lease(&key).await.unwrap().unwrap();
    table.take_lease(&lease, "other").await.unwrap();
    let taken = tokio::time::Instant::now();
    let mut after = 0;
    while let Some(record) = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("the stream ends")
    {
        record.unwrap();
        after += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Within the failover time (1 s) and a renewal, not after the 98 records left.
    assert!(
        taken.elapsed() < Duration::from_secs(4),
        "ended {:?} after the lease was taken, {after} records later",
        taken.elapsed()
    );
    assert!(
        after < 40,
        "{after} records delivered after the lease was taken"
    );
    consumer.shutdown().await;
}
