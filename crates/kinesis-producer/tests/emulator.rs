//! The producer against the Kinesis emulators (embedded, or the servers the standard endpoint
//! variables name): every record read back (with and without aggregation) exactly once and in
//! order per partition key, a missing stream refused at build, a reshard during production
//! losing nothing, and two producers sharing one throttled shard.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kinesis_client::{AdminClient, ClientConfig, StreamMode, StreamName, WaitConfig};
use kinesis_consumer::{Consumer, ConsumerSettings};
use kinesis_lease::CoordinatorSettings;
use kinesis_lease::lineage::InitialPosition;
use kinesis_producer::{
    AggregationSettings, ProduceErrorKind, Producer, ProducerMetrics, ProducerRecord,
    ProducerSettings,
};
use kinesis_serde::Utf8;
use kinesis_testkit::{Capability, TestEnv};
use tokio::time::Instant;

struct Fixture {
    env: TestEnv,
    config: ClientConfig,
    admin: AdminClient,
    stream: StreamName,
}

async fn fixture(env: TestEnv, shards: u32) -> Fixture {
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .wait(WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
        .build()
        .await
        .unwrap();
    let admin = AdminClient::new(&config);
    let stream: StreamName = env.unique_name("produced").parse().unwrap();
    admin
        .create_stream(
            &stream,
            StreamMode::Provisioned {
                shard_count: shards,
            },
        )
        .await
        .unwrap();
    Fixture {
        env,
        config,
        admin,
        stream,
    }
}

async fn producer(fx: &Fixture, settings: ProducerSettings) -> Producer<String> {
    Producer::builder(&fx.config, &fx.stream)
        .serializer(Utf8)
        .settings(settings)
        .build()
        .await
        .unwrap()
}

/// Reads the stream with the consumer until `n` records arrived (or 60 s passed): values
/// grouped by partition key, in the order read.
async fn read_back(fx: &Fixture, n: usize) -> BTreeMap<String, Vec<String>> {
    let consumer: Consumer<String> =
        Consumer::builder(&fx.config, &fx.stream, fx.env.unique_name("reader"))
            .deserializer(Utf8)
            .settings(
                ConsumerSettings::default()
                    .with_initial_position(InitialPosition::TrimHorizon)
                    .with_shard_sync_interval(Duration::from_secs(1))
                    .with_lease_settings(
                        CoordinatorSettings::default().with_failover_time(Duration::from_secs(1)),
                    ),
            )
            .build()
            .await
            .unwrap();
    let mut shards = consumer.shards().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(mut shard) = shards.next().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(Ok(r)) = shard.next().await {
                    shard.checkpointer().stage(r.position());
                    let _ = tx.send((r.partition_key().to_owned(), r.into_data()));
                }
            });
        }
    });
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut count = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count < n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((k, v))) => {
                got.entry(k).or_default().push(v);
                count += 1;
            }
            _ => break,
        }
    }
    // Anything more (a duplicate) would show here.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok((k, v)) = rx.try_recv() {
        got.entry(k).or_default().push(v);
    }
    consumer.shutdown().await;
    got
}

/// `n` records over `keys` keys: key `k{i % keys}`, value `{i}`.
fn records(n: usize, keys: usize) -> Vec<ProducerRecord<String>> {
    (0..n)
        .map(|i| ProducerRecord::new(format!("k{}", i % keys), i.to_string()))
        .collect()
}

fn assert_complete_and_ordered(got: &BTreeMap<String, Vec<String>>, n: usize, keys: usize) {
    let total: usize = got.values().map(Vec::len).sum();
    assert_eq!(total, n, "every record exactly once");
    for k in 0..keys {
        let expected: Vec<String> = (0..n)
            .filter(|i| i % keys == k)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(got[&format!("k{k}")], expected, "order of k{k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_is_read_back_once_and_in_order_without_aggregation() {
    let fx = fixture(TestEnv::start().await, 3).await;
    let p = producer(&fx, ProducerSettings::default()).await;
    let results = p.produce_batch(records(600, 20)).await;
    assert!(results.iter().all(Result::is_ok));
    let metrics = p.shutdown().await;
    assert_eq!(metrics.records_published(), 600);
    assert_eq!(metrics.shard_prediction_errors(), 0);
    assert_complete_and_ordered(&read_back(&fx, 600).await, 600, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_records_are_read_back_once_and_in_order() {
    let fx = fixture(TestEnv::start().await, 4).await;
    let p = producer(
        &fx,
        ProducerSettings::default().with_aggregation(AggregationSettings::default()),
    )
    .await;
    let results = p.produce_batch(records(2000, 50)).await;
    let stored: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    assert!(stored.iter().any(|r| r.sub_sequence_number().is_some()));
    let metrics = p.shutdown().await;
    assert_eq!(metrics.records_published(), 2000);
    assert_eq!(
        metrics.shard_prediction_errors(),
        0,
        "aggregates land on their predicted shard"
    );
    assert!(
        metrics.put_records_calls() < 2000 / 50,
        "records were packed"
    );
    assert_complete_and_ordered(&read_back(&fx, 2000).await, 2000, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_all_stores_a_stream_longer_than_the_buffer_in_order() {
    let fx = fixture(TestEnv::start().await, 2).await;
    // A buffer of 50 records for a stream of 500: the stream is read as space frees up.
    let p = producer(&fx, ProducerSettings::default().with_buffer(50, 1 << 20)).await;
    let stream = futures_util::stream::iter(records(500, 10));
    assert_eq!(p.send_all(stream).await.unwrap(), 500);
    p.shutdown().await;
    assert_complete_and_ordered(&read_back(&fx, 500).await, 500, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_all_stops_at_a_bad_record_and_reports_it() {
    let fx = fixture(TestEnv::start().await, 1).await;
    let p = producer(&fx, ProducerSettings::default()).await;
    let mut input = records(10, 1);
    input.insert(5, ProducerRecord::new("k".repeat(257), "bad".to_owned()));
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&taken);
    let stream = futures_util::stream::iter(input).inspect(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let err = p.send_all(stream).await.unwrap_err();
    assert_eq!(err.stored(), 5, "the records before the bad one are stored");
    assert_eq!(err.failures().len(), 1);
    assert_eq!(err.failures()[0].kind(), ProduceErrorKind::InvalidRecord);
    assert!(err.to_string().contains("257"), "{err}");
    assert_eq!(
        taken.load(std::sync::atomic::Ordering::SeqCst),
        6,
        "nothing is taken from the stream after the bad record"
    );
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stream_is_refused_at_build() {
    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let missing: StreamName = env.unique_name("missing").parse().unwrap();
    let e = Producer::builder(&config, &missing)
        .build()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::Setup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reshard_during_production_loses_nothing_and_mispredictions_stop_after_the_refresh() {
    let fx = fixture(TestEnv::start().await, 2).await;
    let intervals: Arc<std::sync::Mutex<Vec<ProducerMetrics>>> = Arc::default();
    let sink = Arc::clone(&intervals);
    let p: Producer<String> = Producer::builder(&fx.config, &fx.stream)
        .serializer(Utf8)
        .settings(
            ProducerSettings::default()
                .with_aggregation(AggregationSettings::default())
                .with_metrics_interval(Duration::from_millis(500))
                .with_shard_map_refresh(Duration::from_secs(3600)),
        )
        .on_metrics(move |m| sink.lock().unwrap().push(m.clone()))
        .build()
        .await
        .unwrap();
    let writer = {
        let p = p.clone();
        tokio::spawn(async move {
            let mut all = Vec::new();
            for round in 0..40 {
                let batch = (0..50).map(|i| {
                    let n = round * 50 + i;
                    ProducerRecord::new(format!("k{}", n % 40), n.to_string())
                });
                all.extend(p.produce_batch(batch).await);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            all
        })
    };
    // 2 → 4 shards while writing: split both.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shards: Vec<kinesis_client::Shard> = futures_util::TryStreamExt::try_collect(
        kinesis_client::Client::new(&fx.config).list_shards(&fx.stream, None),
    )
    .await
    .unwrap();
    for s in &shards {
        fx.admin
            .split_shard(&fx.stream, s.id(), s.hash_key_range().midpoint())
            .await
            .unwrap();
    }
    let results = writer.await.unwrap();
    assert!(results.iter().all(Result::is_ok), "nothing lost");
    p.shutdown().await;
    let intervals = intervals.lock().unwrap().clone();
    let total: ProducerMetrics = intervals.iter().sum();
    assert_eq!(total.records_published(), 2000);
    assert!(
        total.shard_prediction_errors() > 0,
        "records of the closed parents landed on the children"
    );
    // After the refresh, the last intervals predict right.
    let last: Vec<u64> = intervals
        .iter()
        .rev()
        .filter(|m| m.records_published() > 0)
        .take(3)
        .map(ProducerMetrics::shard_prediction_errors)
        .collect();
    assert_eq!(last, [0, 0, 0], "mispredictions stopped: {intervals:?}");
    assert_complete_and_ordered(&read_back(&fx, 2000).await, 2000, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_producers_on_one_throttled_shard_store_everything_with_bounded_retries() {
    let env = TestEnv::builder().enforce_limits(true).start().await;
    if !env.require(Capability::WriteThrottling) {
        return;
    }
    let fx = fixture(env, 1).await;
    // Each producer hears of every throttled entry: its calls make one attempt, so the success
    // rate below counts every entry sent, none hidden in the client's retries.
    let settings = ProducerSettings::default()
        .with_linger(Duration::from_millis(20))
        .with_retry_limits(Duration::from_secs(60), 100);
    let (a, b) = (
        producer(&fx, settings.clone()).await,
        producer(&fx, settings).await,
    );
    // Together 3000 records of 1 KiB: three times the shard's 1000 records/s.
    let value = "x".repeat(1000);
    let run = |p: Producer<String>, tag: &'static str| {
        let value = value.clone();
        tokio::spawn(async move {
            let records =
                (0..1500).map(|i| ProducerRecord::new(format!("{tag}{i}"), value.clone()));
            let results = p.produce_batch(records).await;
            (results, p.shutdown().await)
        })
    };
    let (ra, rb) = tokio::join!(run(a, "a"), run(b, "b"));
    let ((results_a, metrics_a), (results_b, metrics_b)) = (ra.unwrap(), rb.unwrap());
    assert!(results_a.iter().chain(&results_b).all(Result::is_ok));
    let total = metrics_a + metrics_b;
    assert_eq!(total.records_published(), 3000);
    // Offered at twice the shard's rate for about one throttle period, about half the entries
    // are refused; a retry storm (records sent many times over) would be far below this.
    assert!(
        total.success_rate() > 0.4,
        "at most 1.5 refusals per record: {total}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_faults_injected_no_record_is_missing() {
    use kinesis_testkit::{Fault, FaultRule};
    let fx = fixture(TestEnv::start().await, 2).await;
    if !fx.env.require(Capability::FaultInjection) {
        return;
    }
    let faults = fx.env.faults();
    let rules = [
        faults.add(
            FaultRule::new("PutRecords", Fault::service_unavailable())
                .after(1)
                .times(3),
        ),
        faults.add(
            FaultRule::new("PutRecords", Fault::throttle())
                .after(5)
                .times(3),
        ),
        faults.add(
            FaultRule::new("PutRecords", Fault::drop_connection())
                .after(9)
                .times(2),
        ),
    ];
    let p = producer(
        &fx,
        ProducerSettings::default()
            // Small aggregates and batches: enough calls for every fault to happen.
            .with_aggregation(AggregationSettings::default().with_max_records(4))
            .with_batch_limits(10, 5 * 1024 * 1024)
            .with_linger(Duration::from_millis(5)),
    )
    .await;
    let results = p.produce_batch(records(1000, 25)).await;
    assert!(results.iter().all(Result::is_ok), "every record stored");
    p.shutdown().await;
    assert!(rules.iter().all(|r| r.fired() > 0), "every fault happened");
    // A dropped connection may have stored a call whose answer was lost: duplicates are
    // allowed, gaps are not.
    let got = read_back(&fx, 1000).await;
    for i in 0..1000 {
        let key = format!("k{}", i % 25);
        assert!(
            got.get(&key).is_some_and(|v| v.contains(&i.to_string())),
            "record {i} missing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramp_load_into_throttled_shards_is_stored_completely() {
    let env = TestEnv::builder().enforce_limits(true).start().await;
    if !env.require(Capability::WriteThrottling) {
        return;
    }
    let fx = fixture(env, 2).await;
    let p = producer(
        &fx,
        ProducerSettings::default().with_retry_limits(Duration::from_secs(60), 100),
    )
    .await;
    // From 100 to 3000 records/s over 3 s (the two shards take 2000/s together).
    let value = "x".repeat(200);
    let mut handles = Vec::new();
    let start = Instant::now();
    let mut sent = 0usize;
    while start.elapsed() < Duration::from_secs(3) {
        let t = start.elapsed().as_secs_f64();
        let due = (100.0 * t + (3000.0 - 100.0) * t * t / 6.0) as usize;
        while sent < due {
            handles.push(
                p.send(ProducerRecord::new(format!("k{sent}"), value.clone()))
                    .await
                    .unwrap(),
            );
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for h in handles {
        h.await.unwrap();
    }
    let metrics = p.shutdown().await;
    assert_eq!(metrics.records_published() as usize, sent);
}
