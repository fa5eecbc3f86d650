//! `Consumer::health` on the emulators: a worker that reads is ready with no problem and
//! reports each shard's lag and deliveries; a shard whose stream the application does not read
//! shows the task waiting on the application, not a fetch stall.

mod support;

use std::time::Duration;

use futures_util::StreamExt as _;
use kinesis_consumer::{Consumer, FetchMode, PollingSettings};
use kinesis_serde::Utf8;
use support::{Fixture, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_worker_is_ready_and_reports_lag_and_deliveries_per_shard() {
    let fx = Fixture::new(2).await;
    fx.put((0..40).map(|i| format!("r-{i}")), 8).await;
    let w = fx.worker("w-health").await;
    eventually("all 40 records read", Duration::from_secs(30), || {
        w.count() == 40
    })
    .await;

    let health = w.consumer.health();
    assert!(health.is_ready(), "{health:?}");
    assert_eq!(health.problems(), vec![], "{health:?}");
    assert_eq!(health.stream.to_string(), fx.stream.to_string());
    assert_eq!(health.application_name, fx.app);
    assert_eq!(health.leases.worker_id, "w-health");
    assert_eq!(health.leases.leases.len(), 2);
    assert_eq!(health.shards.len(), 2);
    assert_eq!(
        health
            .shards
            .iter()
            .map(|s| s.records_delivered)
            .sum::<u64>(),
        40
    );
    for shard in &health.shards {
        assert!(shard.since_last_answer.is_some(), "{shard:?}");
        assert!(shard.since_last_delivery.is_some(), "{shard:?}");
        assert_eq!(shard.waiting_on_application, None, "{shard:?}");
        assert!(shard.millis_behind_latest.is_some(), "{shard:?}");
    }
    assert!(health.max_millis_behind_latest().is_some());

    let w = w.shutdown().await;
    assert!(!w.consumer.health().is_ready());
    eventually("the shard tasks are gone", Duration::from_secs(10), || {
        w.consumer.health().shards.is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_nobody_reads_shows_its_task_waiting_on_the_application() {
    let fx = Fixture::new(1).await;
    fx.put((0..10).map(|i| format!("r-{i}")), 1).await;
    let settings = fx.settings().with_fetch_mode(FetchMode::Polling(
        PollingSettings::default()
            .with_batch_size(2)
            .with_prefetch_batches(1),
    ));
    let consumer: Consumer<String> = Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
        .worker_id("w-slow")
        .deserializer(Utf8)
        .settings(settings)
        .build()
        .await
        .unwrap();
    let mut shards = consumer.shards().unwrap();
    let mut shard = tokio::time::timeout(Duration::from_secs(30), shards.next())
        .await
        .unwrap()
        .unwrap();

    // One batch of two waits in the stream; the task holds the next one.
    eventually(
        "the task waits on the application",
        Duration::from_secs(30),
        || {
            consumer
                .health()
                .shards
                .first()
                .is_some_and(|s| s.waiting_on_application.is_some())
        },
    )
    .await;
    let health = consumer.health();
    assert_eq!(health.shards[0].records_delivered, 2, "{health:?}");
    assert_eq!(health.problems(), vec![], "{health:?}");

    let mut read = 0;
    while read < 10 {
        let record = tokio::time::timeout(Duration::from_secs(30), shard.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        shard.checkpointer().stage(record.position());
        read += 1;
    }
    eventually("every record delivered", Duration::from_secs(30), || {
        consumer
            .health()
            .shards
            .first()
            .is_some_and(|s| s.records_delivered == 10 && s.waiting_on_application.is_none())
    })
    .await;
    consumer.shutdown().await;
}
