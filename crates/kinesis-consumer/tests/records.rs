//! What the records look like and where reading resumes, on the emulators: KPL aggregates split
//! with sub-sequence numbers and resumed inside an aggregate; an expired iterator and
//! throttling recovered from without loss; poison records reported with their position.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kinesis_client::{ClientConfig, PartitionKey, PutRecordsEntry, RetryConfig};
use kinesis_consumer::{Consumer, ConsumerErrorKind, DiagnosticEvent, FetchMode, PollingSettings};
use kinesis_kcl_compat::aggregation::AggregateBuilder;
use kinesis_serde::{Utf8, deserializer_fn};
use kinesis_testkit::{Fault, FaultRule};
use support::{Fixture, Worker, eventually};

async fn put_aggregate(fx: &Fixture, values: impl IntoIterator<Item = String>) {
    put_keyed_aggregate(
        fx,
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("user-{i}"), v)),
    )
    .await;
}

/// Puts one KPL aggregate of `(partition key, value)` records, routed by its first record;
/// returns the shard that stored it.
async fn put_keyed_aggregate(
    fx: &Fixture,
    records: impl IntoIterator<Item = (String, String)>,
) -> kinesis_client::ShardId {
    let mut builder = AggregateBuilder::new();
    for (k, v) in records {
        builder.add(PutRecordsEntry::new(v, PartitionKey::new(k).unwrap()));
    }
    let aggregate = builder.finish().unwrap();
    fx.client
        .put_record(
            &fx.stream,
            PutRecordsEntry::new(aggregate.data().clone(), aggregate.partition_key().clone())
                .with_explicit_hash_key(aggregate.explicit_hash_key()),
        )
        .await
        .unwrap()
        .shard_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_are_split_and_resumed_at_the_sub_sequence_number() {
    let fx = Fixture::new(1).await;
    put_aggregate(&fx, (0..10).map(|i| format!("u{i}"))).await;

    // The first run processes five user records, stages the fifth, and stops.
    let first: Consumer<String> = fx.consumer("w1").await;
    let mut shards = first.shards().unwrap();
    let mut shard = shards.next().await.unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        let r = shard.next().await.unwrap().unwrap();
        assert!(r.is_aggregated());
        assert_eq!(r.partition_key(), format!("user-{}", got.len()));
        got.push((r.data().clone(), r.sub_sequence_number().unwrap()));
        shard.checkpointer().stage(r.position());
    }
    drop(shard);
    first.shutdown().await;
    assert_eq!(
        got,
        (0..5).map(|i| (format!("u{i}"), i)).collect::<Vec<_>>()
    );

    // The second run starts inside the aggregate, at the sixth.
    let second = fx.worker("w2").await;
    eventually("the other five", Duration::from_secs(20), || {
        second.count() >= 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = second.shutdown().await;
    let seen = second.seen.lock().unwrap();
    let rest: Vec<(String, u64)> = seen
        .iter()
        .map(|r| (r.data().clone(), r.sub_sequence_number().unwrap()))
        .collect();
    assert_eq!(
        rest,
        (5..10).map(|i| (format!("u{i}"), i)).collect::<Vec<_>>()
    );
    // All ten share the Kinesis record's sequence number.
    assert!(
        seen.iter()
            .all(|r| r.sequence_number() == seen[0].sequence_number())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_iterator_is_renewed_after_the_last_record_delivered() {
    let fx = Fixture::new(1).await;
    kinesis_testkit::require_capability!(fx.env, kinesis_testkit::Capability::FaultInjection);
    let written = fx.put((0..30).map(|i| format!("v{i}")), 3).await;
    // Small batches, so that the iterator expires in the middle of the shard.
    let settings = fx.settings().with_fetch_mode(FetchMode::Polling(
        PollingSettings::default().with_batch_size(10),
    ));
    let expiry = fx.env.faults().add(
        FaultRule::new("GetRecords", Fault::expired_iterator())
            .after(1)
            .times(1),
    );
    let worker = fx.worker_with("w1", settings).await;
    eventually("all 30", Duration::from_secs(20), || worker.count() >= 30).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let worker = worker.shutdown().await;
    assert_eq!(expiry.fired(), 1);
    let values = worker.values();
    let expected: Vec<String> = written.into_iter().map(|(v, _, _)| v).collect();
    assert_eq!(
        values, expected,
        "nothing skipped, nothing repeated, in order"
    );
    // One iterator at the start, one after the expiry.
    assert_eq!(fx.env.faults().calls("GetShardIterator"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_fetches_back_off_and_resume() {
    let fx = Fixture::new(1).await;
    kinesis_testkit::require_capability!(fx.env, kinesis_testkit::Capability::FaultInjection);
    let written = fx.put((0..20).map(|i| format!("v{i}")), 3).await;
    // The configuration retries each call up to 10 times; the fetcher's calls make one attempt
    // each (its loop owns the retries), so every throttle is one retry of the fetcher.
    let throttle = fx
        .env
        .faults()
        .add(FaultRule::new("GetRecords", Fault::throttle()).times(5));
    let config = ClientConfig::builder()
        .sdk_config(fx.env.sdk_config())
        .retry(RetryConfig::default())
        .build()
        .await
        .unwrap();
    let settings = fx.settings().with_fetch_mode(FetchMode::Polling(
        PollingSettings::default()
            .with_retry_delays(Duration::from_millis(100), Duration::from_millis(400)),
    ));
    let events: support::Events = Arc::default();
    let sink = Arc::clone(&events);
    let consumer: Consumer<String> = Consumer::builder(&config, &fx.stream, fx.app.clone())
        .worker_id("w1")
        .deserializer(Utf8)
        .settings(settings)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    let worker = Worker::run(consumer, events);
    eventually("all 20", Duration::from_secs(60), || worker.count() >= 20).await;
    let worker = worker.shutdown().await;
    assert_eq!(throttle.fired(), 5);
    let expected: Vec<String> = written.into_iter().map(|(v, _, _)| v).collect();
    assert_eq!(worker.values(), expected);
    let retries = worker
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, DiagnosticEvent::FetchRetry { .. }))
        .count();
    assert_eq!(retries, 5, "5 throttles, 5 retries of the fetcher");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_cannot_be_deserialized_is_reported_with_its_position() {
    let fx = Fixture::new(1).await;
    let written = fx.put(["1", "2", "x", "4"].map(String::from), 1).await;
    let numbers = deserializer_fn(|b: bytes::Bytes| {
        std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or("not a number")
    });
    let consumer: Consumer<u32> = Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
        .worker_id("w1")
        .deserializer(numbers)
        .settings(fx.settings())
        .build()
        .await
        .unwrap();
    let mut shards = consumer.shards().unwrap();
    let mut shard = shards.next().await.unwrap();
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    while ok.len() + bad.len() < 4 {
        match shard.next().await.unwrap() {
            Ok(r) => ok.push(*r.data()),
            Err(e) => {
                assert_eq!(e.kind(), ConsumerErrorKind::Deserialize);
                bad.push(e.record_position().unwrap().clone());
            }
        }
    }
    assert_eq!(ok, [1, 2, 4]);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].sequence_number(), &written[2].2);
    drop(shard);
    consumer.shutdown().await;
}

/// Reads one shard's records until `n` arrived, with the given settings.
async fn read_shard(
    fx: &Fixture,
    app: &str,
    settings: kinesis_consumer::ConsumerSettings,
    shard: &kinesis_client::ShardId,
    n: usize,
) -> (Vec<String>, Vec<DiagnosticEvent>) {
    let events: support::Events = Arc::default();
    let sink = Arc::clone(&events);
    let consumer: Consumer<String> = Consumer::builder(&fx.config, &fx.stream, app)
        .worker_id("w1")
        .deserializer(Utf8)
        .settings(settings)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    let mut shards = consumer.shards().unwrap();
    let mut got = Vec::new();
    while got.len() < n {
        let mut stream = shards.next().await.unwrap();
        if stream.shard_id() != shard {
            continue;
        }
        while got.len() < n {
            got.push(stream.next().await.unwrap().unwrap().into_data());
        }
    }
    // Nothing more arrives on that shard.
    tokio::time::sleep(Duration::from_millis(300)).await;
    consumer.shutdown().await;
    let events = events.lock().unwrap().clone();
    (got, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregate_holding_records_of_another_shard_is_skipped_whole_as_the_kcl_does_or_delivered()
 {
    use futures_util::TryStreamExt;
    use kinesis_kcl_compat::hash::partition_key_hash;

    let fx = Fixture::new(2).await;
    let shards: Vec<kinesis_client::Shard> = fx
        .client
        .list_shards(&fx.stream, None)
        .try_collect()
        .await
        .unwrap();
    let home = &shards[0];
    let keys: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
    let (inside, outside): (Vec<&String>, Vec<&String>) = keys
        .iter()
        .partition(|k| home.hash_key_range().contains(partition_key_hash(k)));
    // A mixed aggregate (three records of the home shard, then two of the other; the first
    // decides where it lands), then one whose records all belong to the home shard.
    let mut mixed: Vec<&String> = inside.iter().take(3).copied().collect();
    mixed.extend(outside.iter().take(2));
    let owned: Vec<&String> = inside[3..5].to_vec();
    for members in [&mixed, &owned] {
        let records = members
            .iter()
            .map(|k| (k.to_string(), format!("value of {k}")));
        assert_eq!(put_keyed_aggregate(&fx, records).await, *home.id());
    }
    let values = |keys: &[&String]| -> Vec<String> {
        keys.iter().map(|k| format!("value of {k}")).collect()
    };

    // As the KCL: the mixed aggregate is skipped whole (its producer sends all of it again),
    // and said so; the next one is delivered.
    let (got, events) = read_shard(&fx, &fx.app, fx.settings(), home.id(), 2).await;
    assert_eq!(got, values(&owned));
    let skipped: usize = events
        .iter()
        .map(|e| match e {
            DiagnosticEvent::AggregatedRecordsSkipped { count, .. } => *count,
            _ => 0,
        })
        .sum();
    assert_eq!(skipped, 5);

    // Not skipping: all seven come from the shard they landed on.
    let settings = fx
        .settings()
        .with_skip_aggregated_records_outside_shard(false);
    let (got, _) = read_shard(&fx, &format!("{}-all", fx.app), settings, home.id(), 7).await;
    assert_eq!(got, [values(&mixed), values(&owned)].concat());
}
