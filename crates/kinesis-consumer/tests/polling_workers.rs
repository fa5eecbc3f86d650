//! The consumer in polling mode on the DynamoDB and Kinesis emulators (embedded, or the
//! servers the standard endpoint variables name): records from every shard, checkpoints at
//! shutdown, a second worker continuing after them, and the hand-over of leases.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kinesis_consumer::DiagnosticEvent;
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::LeaseEvent;
use support::{Fixture, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_shard_checkpoints_the_last_staged_record_and_releases_at_shutdown() {
    let fx = Fixture::new(3).await;
    let written = fx.put((0..60).map(|i| format!("v{i}")), 12).await;
    let worker = fx.worker("w1").await;
    eventually("all 60 records", Duration::from_secs(30), || {
        worker.count() >= 60
    })
    .await;
    let worker = worker.shutdown().await;

    let mut values = worker.values();
    values.sort();
    let mut expected: Vec<String> = written.iter().map(|(v, _, _)| v.clone()).collect();
    expected.sort();
    assert_eq!(values, expected, "every record once");
    let shards: BTreeSet<_> = worker
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.shard_id().to_string())
        .collect();
    assert_eq!(shards.len(), 3, "records from every shard");

    // Released, with the last record of each shard as the checkpoint.
    let mut last: BTreeMap<String, ExtendedSequenceNumber> = BTreeMap::new();
    for (_, shard, seq) in &written {
        last.insert(
            shard.to_string(),
            ExtendedSequenceNumber::plain(seq.clone()),
        );
    }
    let leases = fx.leases().await;
    assert_eq!(leases.len(), 3);
    for (key, lease) in &leases {
        assert_eq!(lease.lease_owner, None, "{key} released");
        assert_eq!(
            lease.checkpoint,
            Checkpoint::from(last[key].clone()),
            "{key} checkpointed at its last record"
        );
    }
    // Order per partition key is kept.
    let seen = worker.seen.lock().unwrap();
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in seen.iter() {
        by_key.entry(r.partition_key()).or_default().push(r.data());
    }
    for (key, vals) in by_key {
        let mut sorted = vals.clone();
        sorted.sort_by_key(|v| v[1..].parse::<u32>().unwrap());
        assert_eq!(vals, sorted, "order of {key}");
    }
    let events = worker.events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, DiagnosticEvent::PollComplete { .. }))
    );
    let released = events
        .iter()
        .filter(|e| matches!(e, DiagnosticEvent::Lease(LeaseEvent::Released { .. })))
        .count();
    assert_eq!(released, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_worker_continues_after_the_checkpoint() {
    let fx = Fixture::new(2).await;
    fx.put((0..20).map(|i| format!("a{i}")), 4).await;
    let first = fx.worker("w1").await;
    eventually("the first 20", Duration::from_secs(30), || {
        first.count() >= 20
    })
    .await;
    first.shutdown().await;

    let more = fx.put((0..10).map(|i| format!("b{i}")), 4).await;
    let second = fx.worker("w2").await;
    eventually("the next 10", Duration::from_secs(30), || {
        second.count() >= 10
    })
    .await;
    // Give it a moment to show it reads nothing twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = second.shutdown().await;
    let mut values = second.values();
    values.sort();
    let mut expected: Vec<String> = more.iter().map(|(v, _, _)| v.clone()).collect();
    expected.sort();
    assert_eq!(values, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_without_taking_the_shard_streams_releases_at_once() {
    let fx = Fixture::new(2).await;
    fx.put((0..10).map(|i| format!("v{i}")), 4).await;
    // A release timeout far above the wait below: only ending the untaken streams at once
    // lets shutdown finish in time.
    let mut settings = fx.settings();
    settings.lease = settings
        .lease
        .with_release_timeout(Duration::from_secs(120));
    let consumer: kinesis_consumer::Consumer<String> =
        kinesis_consumer::Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
            .worker_id("w1")
            .deserializer(kinesis_serde::Utf8)
            .settings(settings)
            .build()
            .await
            .unwrap();
    eventually("both leases held", Duration::from_secs(20), || {
        consumer.lease_coordinator().held_leases().len() == 2
    })
    .await;
    tokio::time::timeout(Duration::from_secs(30), consumer.shutdown())
        .await
        .expect("shutdown does not wait for streams nobody took");
    assert!(fx.leases().await.values().all(|l| l.lease_owner.is_none()));
}

/// Lease storage whose checkpoint writes take `delay`: a final checkpoint still under way
/// when the stream of shards ends is then visible.
#[derive(Debug)]
struct SlowCheckpoints<R> {
    inner: R,
    delay: Duration,
}

impl<R: kinesis_lease::LeaseRepository> kinesis_lease::LeaseRepository for SlowCheckpoints<R> {
    fn ensure_table(
        &self,
    ) -> kinesis_lease::BoxFuture<'_, Result<bool, kinesis_lease::LeaseError>> {
        self.inner.ensure_table()
    }
    fn list_leases(
        &self,
    ) -> kinesis_lease::BoxFuture<'_, Result<kinesis_lease::LeaseScan, kinesis_lease::LeaseError>>
    {
        self.inner.list_leases()
    }
    fn get_lease<'a>(
        &'a self,
        key: &'a kinesis_lease::LeaseKey,
    ) -> kinesis_lease::BoxFuture<'a, Result<Option<kinesis_lease::Lease>, kinesis_lease::LeaseError>>
    {
        self.inner.get_lease(key)
    }
    fn create_lease<'a>(
        &'a self,
        lease: &'a kinesis_lease::Lease,
    ) -> kinesis_lease::BoxFuture<'a, Result<kinesis_lease::Lease, kinesis_lease::LeaseError>> {
        self.inner.create_lease(lease)
    }
    fn take_lease<'a>(
        &'a self,
        lease: &'a kinesis_lease::Lease,
        owner: &'a str,
    ) -> kinesis_lease::BoxFuture<'a, Result<kinesis_lease::Lease, kinesis_lease::LeaseError>> {
        self.inner.take_lease(lease, owner)
    }
    fn renew_lease<'a>(
        &'a self,
        lease: &'a kinesis_lease::Lease,
    ) -> kinesis_lease::BoxFuture<'a, Result<kinesis_lease::Lease, kinesis_lease::LeaseError>> {
        self.inner.renew_lease(lease)
    }
    fn update_checkpoint<'a>(
        &'a self,
        lease: &'a kinesis_lease::Lease,
        update: kinesis_lease::CheckpointUpdate,
    ) -> kinesis_lease::BoxFuture<'a, Result<kinesis_lease::Lease, kinesis_lease::LeaseError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.inner.update_checkpoint(lease, update).await
        })
    }
    fn release_lease<'a>(
        &'a self,
        lease: &'a kinesis_lease::Lease,
    ) -> kinesis_lease::BoxFuture<'a, Result<kinesis_lease::Lease, kinesis_lease::LeaseError>> {
        self.inner.release_lease(lease)
    }
    fn delete_lease<'a>(
        &'a self,
        lease: &'a kinesis_lease::Lease,
    ) -> kinesis_lease::BoxFuture<'a, Result<(), kinesis_lease::LeaseError>> {
        self.inner.delete_lease(lease)
    }
}

/// An application whose `main` returns when the stream of shard streams ends (as with
/// `shutdown_on_signals`) must find every final checkpoint written by then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_of_shards_ends_only_after_the_final_checkpoints() {
    use futures_util::StreamExt;
    use kinesis_consumer::{Consumer, Utf8};

    let fx = Fixture::new(2).await;
    let written = fx.put((0..40).map(|i| format!("v{i}")), 8).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let consumer: Consumer<String> = Consumer::builder(&fx.config, &fx.stream, &fx.app)
        .deserializer(Utf8)
        .settings(fx.settings())
        .lease_repository(std::sync::Arc::new(SlowCheckpoints {
            inner: fx.repository(),
            delay: Duration::from_millis(500),
        }))
        .shutdown_on(async {
            let _ = stop_rx.await;
        })
        .build()
        .await
        .unwrap();
    let mut shards = consumer.shards().unwrap();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        while let Some(mut shard) = shards.next().await {
            let seen_tx = seen_tx.clone();
            tasks.spawn(async move {
                while let Some(Ok(record)) = shard.next().await {
                    shard.checkpointer().stage(record.position());
                    let _ = seen_tx.send(());
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    });
    for _ in 0..40 {
        tokio::time::timeout(Duration::from_secs(30), seen_rx.recv())
            .await
            .expect("40 records within 30 s");
    }
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the shard streams end after the shutdown")
        .unwrap();
    // Read at once, as a process that exits now would leave the table.
    let leases = fx.leases().await;
    for (_, shard, seq) in &written {
        let lease = &leases[&shard.to_string()];
        assert_eq!(lease.lease_owner, None, "{shard} released");
        assert!(
            lease.checkpoint >= Checkpoint::from(ExtendedSequenceNumber::plain(seq.clone())),
            "{shard} checkpointed through its last record when the stream of shards ended"
        );
    }
    drop(consumer);
}

/// With the final checkpoint deferred, work after the end of a stream still checkpoints: here
/// the records are staged only once the shutdown ended the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_final_checkpoint_waits_for_the_drop() {
    use futures_util::StreamExt;
    use kinesis_consumer::{Consumer, ShardStreamEnd, Utf8};

    let fx = Fixture::new(1).await;
    let written = fx.put((0..10).map(|i| format!("v{i}")), 10).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let consumer: Consumer<String> = Consumer::builder(&fx.config, &fx.stream, &fx.app)
        .deserializer(Utf8)
        .settings(fx.settings())
        .shutdown_on(async {
            let _ = stop_rx.await;
        })
        .build()
        .await
        .unwrap();
    let mut shards = consumer.shards().unwrap();
    let mut shard = tokio::time::timeout(Duration::from_secs(30), shards.next())
        .await
        .expect("a shard within 30 s")
        .unwrap();
    shard.defer_final_checkpoint();
    let mut last = None;
    for _ in 0..10 {
        let record = tokio::time::timeout(Duration::from_secs(30), shard.next())
            .await
            .expect("10 records within 30 s")
            .unwrap()
            .unwrap();
        last = Some(record.position());
    }
    stop_tx.send(()).unwrap();
    let end = tokio::time::timeout(Duration::from_secs(30), shard.next())
        .await
        .expect("the stream ends after the shutdown");
    assert!(end.is_none());
    assert_eq!(shard.end_reason(), Some(ShardStreamEnd::Shutdown));
    // After the end, before the drop: the lease is still held, however long the work after
    // the end takes (without the deferral the final write would have released it by now).
    tokio::time::sleep(Duration::from_millis(500)).await;
    shard.checkpointer().stage(last.clone().unwrap());
    shard
        .checkpointer()
        .checkpoint()
        .await
        .expect("a checkpoint after the end of a deferred stream");
    drop(shard);
    tokio::time::timeout(Duration::from_secs(30), async {
        while shards.next().await.is_some() {}
    })
    .await
    .expect("the shutdown completes after the drop");
    let leases = fx.leases().await;
    let (_, shard_id, seq) = written.last().unwrap();
    let lease = &leases[&shard_id.to_string()];
    assert_eq!(lease.lease_owner, None, "released on the drop");
    assert_eq!(
        lease.checkpoint,
        Checkpoint::from(ExtendedSequenceNumber::plain(seq.clone()))
    );
    drop(consumer);
}
