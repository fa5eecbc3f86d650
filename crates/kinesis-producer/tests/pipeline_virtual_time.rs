//! The producer over the real client stack and SDK, answered by a scripted in-process stream
//! under virtual time: linger and batch limits, aggregation, retries of only the failed entries,
//! codes that fail a record, time-to-live, flush, shutdown with a full buffer, and a drop
//! without shutdown. Every time asserted is exact, whatever the machine's speed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_client::layer::RateLimits;
use kinesis_client::{ClientConfig, RetryConfig};
use kinesis_kcl_compat::hash::partition_key_hash;
use kinesis_producer::{
    AggregationSettings, ProduceError, ProduceErrorKind, ProduceResult, Producer, ProducerRecord,
    ProducerSettings, ThrottleSettings,
};
use kinesis_testkit::scripted::{Answer, Scripted, Seen};
use serde_json::{Value, json};
use tokio::time::Instant;

const HALF: u128 = 1 << 127;

/// A two-shard stream: shard 0 owns hash keys below 2^127, shard 1 the rest. Each PutRecords
/// call takes its per-entry error codes from `plan` (one list per call; none: all stored).
#[derive(Default)]
struct Fake {
    plan: VecDeque<Vec<Option<&'static str>>>,
    next_sequence: u64,
    /// The next this many `PutRecords` calls get no answer at all.
    hang: usize,
    /// How long each `PutRecords` call takes.
    latency: Duration,
}

fn shard_of(entry: &Value) -> &'static str {
    let key: u128 = match entry.get("ExplicitHashKey").and_then(Value::as_str) {
        Some(k) => k.parse().unwrap(),
        None => partition_key_hash(entry["PartitionKey"].as_str().unwrap()).get(),
    };
    if key < HALF {
        "shardId-000000000000"
    } else {
        "shardId-000000000001"
    }
}

fn respond(fake: &Mutex<Fake>, seen: &Seen) -> Answer {
    match seen.operation.as_str() {
        "ListShards" => Answer::ok(json!({"Shards": [
            {"ShardId": "shardId-000000000000",
             "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": (HALF - 1).to_string()},
             "SequenceNumberRange": {"StartingSequenceNumber": "1"}},
            {"ShardId": "shardId-000000000001",
             "HashKeyRange": {"StartingHashKey": HALF.to_string(), "EndingHashKey": u128::MAX.to_string()},
             "SequenceNumberRange": {"StartingSequenceNumber": "1"}},
        ]})),
        "PutRecords" => {
            let mut fake = fake.lock().unwrap();
            if fake.hang > 0 {
                fake.hang -= 1;
                return Answer::Hang;
            }
            let entries = seen.body["Records"].as_array().unwrap();
            let plan = fake.plan.pop_front().unwrap_or_default();
            let mut failed = 0;
            let mut results = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                match plan.get(i).copied().flatten() {
                    Some(code) => {
                        failed += 1;
                        results.push(json!({"ErrorCode": code, "ErrorMessage": "scripted"}));
                    }
                    None => {
                        fake.next_sequence += 1;
                        results.push(json!({
                            "ShardId": shard_of(entry),
                            "SequenceNumber": (1000 + fake.next_sequence).to_string(),
                        }));
                    }
                }
            }
            Answer::ok(json!({"FailedRecordCount": failed, "Records": results})).after(fake.latency)
        }
        other => panic!("unexpected {other}"),
    }
}

/// `n` partition keys that all hash to shard 0.
fn keys_on_shard_0(n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("k{i}"))
        .filter(|k| partition_key_hash(k).get() < HALF)
        .take(n)
        .collect()
}

struct Setup {
    http: Scripted,
    fake: Arc<Mutex<Fake>>,
    config: ClientConfig,
}

/// The configuration's retry policy is the default one (10 attempts); the producer's calls make
/// one attempt each whatever it says, so every retry seen is the producer's.
async fn setup() -> Setup {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let f = Arc::clone(&fake);
    let http = Scripted::new([]).with_responder(move |seen| respond(&f, seen));
    let config = ClientConfig::builder()
        .sdk_config(http.sdk_config())
        .retry(RetryConfig::default())
        .rate_limits(RateLimits::none())
        .build()
        .await
        .unwrap();
    Setup { http, fake, config }
}

impl Setup {
    /// The next `n` `PutRecords` calls have their first entry throttled.
    fn throttle_next_calls(&self, n: usize) {
        let mut fake = self.fake.lock().unwrap();
        for _ in 0..n {
            fake.plan
                .push_back(vec![Some("ProvisionedThroughputExceededException")]);
        }
    }
}

fn settings() -> ProducerSettings {
    ProducerSettings::default()
        .with_throttle(ThrottleSettings::default().with_enabled(false))
        .with_retry_delays(Duration::from_millis(100), Duration::from_secs(1))
}

async fn producer(s: &Setup, settings: ProducerSettings) -> Producer<String> {
    Producer::builder(
        &s.config,
        "scripted".parse::<kinesis_client::StreamId>().unwrap(),
    )
    .serializer(kinesis_serde::Utf8)
    .settings(settings)
    .build()
    .await
    .unwrap()
}

/// The sequence number of a stored record (the fake's are numbers).
fn sequence_of(result: &Result<ProduceResult, ProduceError>) -> u64 {
    result
        .as_ref()
        .unwrap()
        .sequence_number()
        .as_str()
        .parse()
        .unwrap()
}

/// The PutRecords calls: when, and their entries' partition keys.
fn calls(http: &Scripted, start: Instant) -> Vec<(Duration, Vec<String>)> {
    http.seen_for("PutRecords")
        .into_iter()
        .map(|s| {
            let keys = s.body["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["PartitionKey"].as_str().unwrap().to_owned())
                .collect();
            (s.at - start, keys)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_record_waits_the_linger_time_and_a_full_batch_goes_at_once() {
    let s = setup().await;
    let p = producer(&s, settings().with_linger(Duration::from_millis(100))).await;
    let start = Instant::now();
    let stored = p
        .produce(ProducerRecord::new("k", "v".to_owned()))
        .await
        .unwrap();
    assert_eq!(stored.attempts(), 1);
    assert_eq!(calls(&s.http, start)[0].0, Duration::from_millis(100));

    // 1200 records: two full calls at once; the 200 left over are not sent in a call of their
    // own at once, but wait out the linger time (for more records to join them).
    let start = Instant::now();
    let results = p
        .produce_batch((0..1200).map(|i| ProducerRecord::new(format!("k{i}"), format!("v{i}"))))
        .await;
    assert!(results.iter().all(Result::is_ok));
    let c: Vec<(Duration, usize)> = calls(&s.http, start)[1..]
        .iter()
        .map(|(at, keys)| (*at, keys.len()))
        .collect();
    let linger = Duration::from_millis(100);
    assert_eq!(
        c,
        [(Duration::ZERO, 500), (Duration::ZERO, 500), (linger, 200)],
        "full calls do not linger; what is left does"
    );
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_nearly_full_buffer_sends_without_waiting_for_the_linger_time() {
    let s = setup().await;
    let linger = Duration::from_secs(10);
    let p = producer(&s, settings().with_linger(linger).with_buffer(16, 1 << 20)).await;
    let start = Instant::now();
    // 14 of 16 records: 7/8 of the buffer taken.
    let handles: Vec<_> = (0..14)
        .map(|i| {
            p.try_send(ProducerRecord::new(format!("k{i}"), format!("v{i}")))
                .unwrap()
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let c = calls(&s.http, start);
    assert_eq!(c.iter().map(|(_, k)| k.len()).sum::<usize>(), 14);
    assert_eq!(
        c[0].0,
        Duration::ZERO,
        "no linger with the buffer nearly full"
    );

    // 2 records leave the buffer mostly free: they wait out the linger time.
    let start = Instant::now();
    let results = p
        .produce_batch((0..2).map(|i| ProducerRecord::new(format!("k{i}"), format!("v{i}"))))
        .await;
    assert!(results.iter().all(Result::is_ok));
    let c = calls(&s.http, start);
    assert!(c[1..].iter().all(|(at, _)| *at == linger), "{c:?}");
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn batches_keep_within_the_byte_limit() {
    let s = setup().await;
    let p = producer(&s, settings()).await;
    let big = "x".repeat(1_000_000);
    let results = p
        .produce_batch((0..12).map(|i| ProducerRecord::new(format!("k{i}"), big.clone())))
        .await;
    assert!(results.iter().all(Result::is_ok));
    for seen in s.http.seen_for("PutRecords") {
        let n = seen.body["Records"].as_array().unwrap().len();
        assert!(n <= 5, "{n} records of 1 MB in one call");
    }
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn only_the_failed_entries_are_retried_after_a_pause() {
    let s = setup().await;
    s.fake.lock().unwrap().plan.push_back(vec![
        None,
        Some("ProvisionedThroughputExceededException"),
        None,
    ]);
    let p = producer(&s, settings().with_linger(Duration::from_millis(10))).await;
    let start = Instant::now();
    // Three keys on one shard, so that they travel in one call.
    let keys = keys_on_shard_0(3);
    let results = p
        .produce_batch(
            keys.iter()
                .map(|k| ProducerRecord::new(k.clone(), k.clone())),
        )
        .await;
    let attempts: Vec<u32> = results
        .iter()
        .map(|r| r.as_ref().unwrap().attempts())
        .collect();
    assert_eq!(attempts, [1, 2, 1]);
    let c = calls(&s.http, start);
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].1, keys);
    assert_eq!(
        c[1].1,
        [keys[1].clone()],
        "only the failed entry is sent again"
    );
    assert_eq!(c[0].0, Duration::from_millis(10), "after the linger time");
    // The retry pause is random below its 100 ms ceiling (full jitter).
    assert!(
        c[1].0 >= c[0].0 && c[1].0 <= Duration::from_millis(110),
        "after the retry pause: {:?}",
        c[1].0
    );
    let metrics = p.shutdown().await;
    assert_eq!(metrics.records_published(), 3);
    assert_eq!(metrics.retried_attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn buffer_space_comes_back_when_records_are_answered_stored_or_failed() {
    space_comes_back(4, 1 << 20, 2).await;
}

#[tokio::test(start_paused = true)]
async fn buffer_bytes_come_back_when_records_are_answered_stored_or_failed() {
    // The smallest byte bound (one record of the largest size) holds ten of these 100 KiB
    // records: the 40 below fit only if every answer gave its bytes back.
    space_comes_back(1 << 20, 1 << 20, 100 * 1024).await;
}

/// Four records that fail for good, then 40 of `payload` bytes that are stored, through a buffer
/// of `records` records and `bytes` bytes.
async fn space_comes_back(records: usize, bytes: usize, payload: usize) {
    let s = setup().await;
    // The first call's 4 entries fail for good; everything after is stored.
    s.fake
        .lock()
        .unwrap()
        .plan
        .push_back(vec![Some("KMSAccessDeniedException"); 4]);
    let p = producer(&s, settings().with_buffer(records, bytes)).await;
    let keys = keys_on_shard_0(4);
    let failed = p
        .produce_batch(
            keys.iter()
                .map(|k| ProducerRecord::new(k.clone(), k.clone())),
        )
        .await;
    assert!(failed.iter().all(Result::is_err));
    // 40 more only fit if every answer gave its space back.
    let stored = tokio::time::timeout(
        Duration::from_secs(60),
        p.produce_batch((0..40).map(|i| ProducerRecord::new(format!("k{i}"), "v".repeat(payload)))),
    )
    .await
    .expect("space given back: the records fit");
    assert!(stored.iter().all(Result::is_ok));
    for i in 0..4 {
        assert!(
            p.try_send(ProducerRecord::new(format!("t{i}"), "v".to_owned()))
                .is_ok(),
            "the buffer is empty again"
        );
    }
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_code_not_worth_retrying_fails_the_record_with_that_code_and_hands_it_back() {
    let s = setup().await;
    s.fake
        .lock()
        .unwrap()
        .plan
        .push_back(vec![Some("KMSAccessDeniedException")]);
    let p = producer(&s, settings()).await;
    let e = p
        .produce(ProducerRecord::new("k", "secret".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::Refused);
    assert_eq!(e.code(), Some("KMSAccessDeniedException"));
    let (data, key) = e.into_record().unwrap();
    assert_eq!((&data[..], key.as_str()), (&b"secret"[..], "k"));
    assert_eq!(s.http.seen_for("PutRecords").len(), 1);
    let metrics = p.shutdown().await;
    assert_eq!(metrics.records_published(), 0);
    assert_eq!(metrics.records_failed(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_record_stays_within_its_stated_worst_case() {
    // The defaults: 10 attempts, pauses below 100 ms doubling to 5 s, a 30 s time to live. An
    // always-throttled record is sent exactly 10 times (the client adds none) within the sum of
    // the 9 ceilings, 21.3 s, as docs/operations.md states.
    let s = setup().await;
    s.throttle_next_calls(20);
    let p = producer(
        &s,
        ProducerSettings::default()
            .with_throttle(ThrottleSettings::default().with_enabled(false))
            .with_linger(Duration::ZERO),
    )
    .await;
    let start = Instant::now();
    let e = p
        .produce(ProducerRecord::new("k", "v".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::RetriesExhausted);
    assert_eq!(e.attempts(), 10);
    assert_eq!(calls(&s.http, start).len(), 10);
    assert!(
        start.elapsed() <= Duration::from_millis(21_300),
        "{:?}",
        start.elapsed()
    );
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn retries_stop_when_the_record_s_time_to_live_runs_out() {
    let s = setup().await;
    s.throttle_next_calls(50);
    let p = producer(
        &s,
        settings()
            .with_linger(Duration::ZERO)
            .with_retry_limits(Duration::from_millis(500), 50),
    )
    .await;
    let e = p
        .produce(ProducerRecord::new("k", "v".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::RetriesExhausted);
    assert!(e.attempts() < 50, "{}", e.attempts());
    assert!(e.to_string().contains("record_ttl ran out"), "{e}");
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn records_stored_where_predicted_read_the_shard_map_once() {
    let s = setup().await;
    let p = producer(&s, settings().with_linger(Duration::from_millis(10))).await;
    for i in 0..5 {
        p.produce(ProducerRecord::new(format!("k{i}"), "v".to_owned()))
            .await
            .unwrap();
    }
    assert_eq!(s.http.seen_for("PutRecords").len(), 5);
    assert_eq!(
        s.http.seen_for("ListShards").len(),
        1,
        "no shard map read after answers that matched the prediction"
    );
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_attempt_limit() {
    let s = setup().await;
    s.throttle_next_calls(3);
    let p = producer(
        &s,
        settings()
            .with_linger(Duration::ZERO)
            .with_retry_limits(Duration::from_secs(30), 3),
    )
    .await;
    let start = Instant::now();
    let e = p
        .produce(ProducerRecord::new("k", "v".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::RetriesExhausted);
    assert_eq!(e.attempts(), 3);
    assert_eq!(e.code(), Some("ProvisionedThroughputExceededException"));
    assert!(e.to_string().contains("max_attempts reached"), "{e}");
    // Exactly 3 calls (none multiplied by the client's own retries), pauses below their
    // ceilings of 100 ms then 200 ms.
    let at: Vec<Duration> = calls(&s.http, start).into_iter().map(|(t, _)| t).collect();
    assert_eq!(at.len(), 3, "{at:?}");
    assert_eq!(at[0], Duration::ZERO);
    assert!(at[1] <= Duration::from_millis(100), "{at:?}");
    assert!(at[2] - at[1] <= Duration::from_millis(200), "{at:?}");
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn aggregation_packs_a_shard_s_records_into_one_entry() {
    let s = setup().await;
    let p = producer(
        &s,
        settings().with_aggregation(AggregationSettings::default()),
    )
    .await;
    let keys = keys_on_shard_0(10);
    let results = p
        .produce_batch(
            keys.iter()
                .map(|k| ProducerRecord::new(k.clone(), k.clone())),
        )
        .await;
    let stored: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    let calls = s.http.seen_for("PutRecords");
    assert_eq!(calls.len(), 1);
    let entries = calls[0].body["Records"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "one aggregate");
    // The aggregate is routed by an explicit hash key of the predicted shard.
    let ehk: u128 = entries[0]["ExplicitHashKey"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ehk < HALF);
    for (i, r) in stored.iter().enumerate() {
        assert_eq!(r.sub_sequence_number(), Some(i as u64));
        assert_eq!(r.sequence_number(), stored[0].sequence_number());
    }
    let metrics = p.shutdown().await;
    assert_eq!(metrics.records_published(), 10);
    assert_eq!(metrics.put_records_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_full_aggregate_goes_at_once_and_the_rest_lingers() {
    let s = setup().await;
    let linger = Duration::from_secs(10);
    let p = producer(
        &s,
        settings()
            .with_linger(linger)
            .with_aggregation(AggregationSettings::default().with_max_records(4)),
    )
    .await;
    let start = Instant::now();
    let keys = keys_on_shard_0(10);
    let results = p
        .produce_batch(
            keys.iter()
                .map(|k| ProducerRecord::new(k.clone(), k.clone())),
        )
        .await;
    assert!(results.iter().all(Result::is_ok));
    let entries: Vec<(Duration, usize)> = s
        .http
        .seen_for("PutRecords")
        .iter()
        .map(|c| (c.at - start, c.body["Records"].as_array().unwrap().len()))
        .collect();
    // Two full aggregates of 4 at once; the last 2 records wait out the linger time.
    assert_eq!(entries, [(Duration::ZERO, 2), (linger, 1)]);
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_aggregate_that_failed_is_split_and_its_records_sent_again() {
    let s = setup().await;
    s.fake
        .lock()
        .unwrap()
        .plan
        .push_back(vec![Some("ProvisionedThroughputExceededException")]);
    let p = producer(
        &s,
        settings().with_aggregation(AggregationSettings::default()),
    )
    .await;
    let keys = keys_on_shard_0(4);
    let results = p
        .produce_batch(
            keys.iter()
                .map(|k| ProducerRecord::new(k.clone(), k.clone())),
        )
        .await;
    assert!(results.iter().all(|r| r.as_ref().unwrap().attempts() == 2));
    let calls = s.http.seen_for("PutRecords");
    assert_eq!(calls.len(), 2);
    p.shutdown().await;
}

/// A stream whose only shard splits while the producer writes: `ListShards` lists the parent
/// (every hash key) until the first `PutRecords` call and for `stale_reads` reads after it,
/// then the parent closed and its children (`…1` below 2^127, `…2` the rest). Every entry is
/// stored on the child owning its hash key, with sequence numbers from 1001. Every answer
/// takes `latency`.
async fn splitting_stream(latency: Duration, stale_reads: usize) -> (Scripted, ClientConfig) {
    let puts = Arc::new(Mutex::new(0u64));
    let stale = Arc::new(Mutex::new(stale_reads));
    let http = Scripted::new([]).with_responder(move |seen| {
        let mut puts = puts.lock().unwrap();
        let mut stale = stale.lock().unwrap();
        let range = |start: u128, end: u128| {
            json!({"StartingHashKey": start.to_string(), "EndingHashKey": end.to_string()})
        };
        match seen.operation.as_str() {
            "ListShards" if *puts == 0 || *stale > 0 => {
                if *puts > 0 {
                    *stale -= 1;
                }
                Answer::ok(json!({"Shards": [
                {"ShardId": "shardId-000000000000", "HashKeyRange": range(0, u128::MAX),
                 "SequenceNumberRange": {"StartingSequenceNumber": "1"}},
                ]}))
                .after(latency)
            }
            "ListShards" => Answer::ok(json!({"Shards": [
                {"ShardId": "shardId-000000000000", "HashKeyRange": range(0, u128::MAX),
                 "SequenceNumberRange": {"StartingSequenceNumber": "1", "EndingSequenceNumber": "999"}},
                {"ShardId": "shardId-000000000001", "ParentShardId": "shardId-000000000000",
                 "HashKeyRange": range(0, HALF - 1),
                 "SequenceNumberRange": {"StartingSequenceNumber": "1000"}},
                {"ShardId": "shardId-000000000002", "ParentShardId": "shardId-000000000000",
                 "HashKeyRange": range(HALF, u128::MAX),
                 "SequenceNumberRange": {"StartingSequenceNumber": "1000"}},
            ]}))
            .after(latency),
            "PutRecords" => {
                let results: Vec<Value> = seen.body["Records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|entry| {
                        *puts += 1;
                        let child = if shard_of(entry).ends_with('0') { 1 } else { 2 };
                        json!({
                            "ShardId": format!("shardId-00000000000{child}"),
                            "SequenceNumber": (1000 + *puts).to_string(),
                        })
                    })
                    .collect();
                Answer::ok(json!({"FailedRecordCount": 0, "Records": results})).after(latency)
            }
            other => panic!("unexpected {other}"),
        }
    });
    let config = ClientConfig::builder()
        .sdk_config(http.sdk_config())
        .rate_limits(RateLimits::none())
        .build()
        .await
        .unwrap();
    (http, config)
}

/// Partition keys whose hash is below 2^127 (`low`) or not.
fn keys_in_half(low: bool, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("k{i}"))
        .filter(|k| (partition_key_hash(k).get() < HALF) == low)
        .take(n)
        .collect()
}

/// Produces one record per key, the key as its value, in one batch.
async fn produce_keys(
    p: &Producer<String>,
    keys: &[String],
) -> Vec<Result<ProduceResult, ProduceError>> {
    p.produce_batch(
        keys.iter()
            .map(|k| ProducerRecord::new(k.as_str(), k.clone())),
    )
    .await
}

async fn aggregating_producer(config: &ClientConfig) -> Producer<String> {
    Producer::builder(
        config,
        "scripted".parse::<kinesis_client::StreamId>().unwrap(),
    )
    .serializer(kinesis_serde::Utf8)
    .settings(settings().with_aggregation(AggregationSettings::default()))
    .build()
    .await
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_aggregate_that_landed_on_a_shard_owning_only_some_of_its_records_is_sent_again_whole() {
    let (http, config) = splitting_stream(Duration::ZERO, 0).await;
    let p = aggregating_producer(&config).await;
    // One aggregate for the parent: it lands on the upper child (its first record's), which
    // owns only the upper records. A KCL consumer skips it whole, so all of it goes again.
    let (upper, lower) = (keys_in_half(false, 3), keys_in_half(true, 3));
    let keys: Vec<&String> = upper.iter().chain(&lower).collect();
    let results = p
        .produce_batch(
            keys.iter()
                .map(|k| ProducerRecord::new(k.as_str(), k.to_string())),
        )
        .await;
    let calls = http.seen_for("PutRecords");
    let entries: Vec<usize> = calls
        .iter()
        .map(|c| c.body["Records"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        entries,
        [1, 6],
        "the aggregate, then its records sent again one by one"
    );
    for (k, result) in keys.iter().zip(&results) {
        let stored = result.as_ref().unwrap();
        let child = if upper.contains(k) { "2" } else { "1" };
        assert_eq!(
            stored.shard_id().as_str(),
            format!("shardId-00000000000{child}"),
            "{k}"
        );
        assert_ne!(
            sequence_of(result),
            1001,
            "{k} answered from the skipped aggregate"
        );
        assert_eq!(stored.attempts(), 2, "{k}");
    }
    let metrics = p.shutdown().await;
    assert_eq!(metrics.records_published(), 6);
    assert_eq!(metrics.shard_prediction_errors(), 6);
}

#[tokio::test(start_paused = true)]
async fn an_aggregate_that_landed_on_a_shard_owning_all_its_records_is_stored() {
    let (http, config) = splitting_stream(Duration::ZERO, 0).await;
    let p = aggregating_producer(&config).await;
    let results = produce_keys(&p, &keys_in_half(false, 4)).await;
    assert_eq!(http.seen_for("PutRecords").len(), 1, "nothing sent again");
    assert_eq!(http.seen_for("ListShards").len(), 2, "the map read again");
    for (i, result) in results.iter().enumerate() {
        let stored = result.as_ref().unwrap();
        assert_eq!(stored.shard_id().as_str(), "shardId-000000000002");
        assert_eq!(sequence_of(result), 1001);
        assert_eq!(stored.sub_sequence_number(), Some(i as u64));
    }
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_aggregate_waits_for_a_shard_map_that_lists_the_shard_it_landed_on() {
    // The first two reads after the split still list the parent alone: the aggregate cannot be
    // settled by them, and is not sent back to the parent meanwhile.
    let (http, config) = splitting_stream(Duration::ZERO, 2).await;
    let p = aggregating_producer(&config).await;
    let start = Instant::now();
    let results = produce_keys(&p, &keys_in_half(false, 4)).await;
    assert_eq!(http.seen_for("PutRecords").len(), 1, "nothing sent again");
    let reads: Vec<Duration> = http
        .seen_for("ListShards")
        .iter()
        .map(|c| c.at - start)
        .collect();
    // At build, on the misprediction, then twice more, each after the retry pause (100 ms).
    assert_eq!(reads.len(), 4, "{reads:?}");
    assert_eq!(reads[3] - reads[2], Duration::from_millis(100), "{reads:?}");
    for result in &results {
        assert_eq!(sequence_of(result), 1001);
    }
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_aggregate_that_no_shard_map_settles_fails_as_of_unknown_outcome_at_its_time_to_live() {
    let (http, config) = splitting_stream(Duration::ZERO, usize::MAX).await;
    let p = Producer::builder(
        &config,
        "scripted".parse::<kinesis_client::StreamId>().unwrap(),
    )
    .serializer(kinesis_serde::Utf8)
    .settings(
        settings()
            .with_aggregation(AggregationSettings::default())
            .with_retry_limits(Duration::from_secs(2), 10),
    )
    .build()
    .await
    .unwrap();
    let results = p
        .produce_batch(
            keys_in_half(false, 2)
                .into_iter()
                .map(|k| ProducerRecord::new(k.clone(), k)),
        )
        .await;
    for result in results {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ProduceErrorKind::OutcomeUnknown, "{e}");
        assert!(
            e.to_string().contains("shardId-000000000002 at 1001"),
            "{e}"
        );
        assert!(e.to_string().contains("record_ttl ran out"), "{e}");
    }
    assert_eq!(http.seen_for("PutRecords").len(), 1, "never sent again");
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_key_s_records_stay_in_order_when_its_aggregate_is_sent_again() {
    let latency = Duration::from_millis(100);
    let (_http, config) = splitting_stream(latency, 0).await;
    let p = aggregating_producer(&config).await;
    let (upper, lower) = (&keys_in_half(false, 1)[0], &keys_in_half(true, 1)[0]);
    // The first aggregate lands on the upper child and is sent again once the new map is
    // read; the key's next record, produced while it was in flight, waits for that.
    let first = tokio::spawn({
        let p = p.clone();
        let (upper, lower) = (upper.clone(), lower.clone());
        async move {
            p.produce_batch([
                ProducerRecord::new(upper, "1".to_owned()),
                ProducerRecord::new(lower, "1".to_owned()),
            ])
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = p
        .produce(ProducerRecord::new(lower.as_str(), "2".to_owned()))
        .await
        .unwrap();
    let first = first.await.unwrap();
    let earlier = first[1].as_ref().unwrap();
    assert_eq!(earlier.shard_id(), second.shard_id());
    let at = |r: &ProduceResult| (sequence_of(&Ok(r.clone())), r.sub_sequence_number());
    assert!(
        at(earlier) < at(&second),
        "{lower}: 1 stored at {:?}, 2 at {:?}",
        at(earlier),
        at(&second)
    );
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn invalid_records_are_refused_before_anything_is_sent() {
    let s = setup().await;
    let p = producer(&s, settings()).await;
    let cases = [
        ProducerRecord::new("", "v".to_owned()),
        ProducerRecord::new("k".repeat(257), "v".to_owned()),
        ProducerRecord::new("k", "v".to_owned()).with_explicit_hash_key("not a number"),
        ProducerRecord::new("k", "v".to_owned())
            .with_explicit_hash_key("340282366920938463463374607431768211456"),
        ProducerRecord::new("k", "x".repeat(1024 * 1024)),
    ];
    for record in cases {
        let e = p.produce(record).await.unwrap_err();
        assert_eq!(e.kind(), ProduceErrorKind::InvalidRecord, "{e}");
    }
    assert!(s.http.seen_for("PutRecords").is_empty());
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_retry_waits_its_backoff_ceiling_once_the_retry_budget_is_spent() {
    let mut s = setup().await;
    // A budget that grants nothing: every pause is its ceiling, 100 ms doubling, no jitter.
    s.config = ClientConfig::builder()
        .sdk_config(s.http.sdk_config())
        .retry(RetryConfig::default().with_budget(Duration::from_secs(1), 0, 0.0))
        .rate_limits(RateLimits::none())
        .build()
        .await
        .unwrap();
    s.throttle_next_calls(3);
    let p = producer(&s, settings().with_linger(Duration::from_millis(10))).await;
    let start = Instant::now();
    let result = p
        .send(ProducerRecord::new("k", "v".to_owned()))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(result.attempts(), 4);
    let at: Vec<Duration> = calls(&s.http, start).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        at,
        [10, 110, 310, 710].map(Duration::from_millis),
        "the linger time, then 100, 200 and 400 ms between attempts"
    );
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_flush_waits_for_the_records_before_it_not_for_those_after() {
    let s = setup().await;
    // The first call's entry is throttled: the record before the flush is stored after its
    // retry pause; the one sent after the flush goes out alongside and is stored first.
    s.throttle_next_calls(1);
    let p = producer(&s, settings().with_linger(Duration::from_millis(10))).await;
    let start = Instant::now();
    let before = p
        .send(ProducerRecord::new("a", "1".to_owned()))
        .await
        .unwrap();
    let flushing = {
        let p = p.clone();
        tokio::spawn(async move {
            p.flush().await.unwrap();
            Instant::now()
        })
    };
    tokio::task::yield_now().await;
    let after = p
        .send(ProducerRecord::new("b", "2".to_owned()))
        .await
        .unwrap();
    after.await.unwrap();
    let after_stored = Instant::now();
    before.await.unwrap();
    let before_stored = Instant::now();
    let flushed = flushing.await.unwrap();
    assert!(
        after_stored < before_stored,
        "the later record is stored first"
    );
    assert!(
        flushed >= before_stored,
        "the flush returned at {:?}, before the record it waits for ({:?})",
        flushed - start,
        before_stored - start
    );
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn flush_sends_at_once_and_waits_for_the_answers() {
    let s = setup().await;
    let p = producer(&s, settings().with_linger(Duration::from_secs(60))).await;
    let start = Instant::now();
    let handles = [
        p.send(ProducerRecord::new("a", "1".to_owned()))
            .await
            .unwrap(),
        p.send(ProducerRecord::new("b", "2".to_owned()))
            .await
            .unwrap(),
    ];
    p.flush().await.unwrap();
    assert_eq!(Instant::now() - start, Duration::ZERO);
    for h in handles {
        h.await.unwrap();
    }
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_with_a_full_buffer_delivers_everything() {
    let s = setup().await;
    let p = producer(
        &s,
        settings()
            .with_buffer(10, 1024 * 1024)
            .with_linger(Duration::from_secs(60)),
    )
    .await;
    let mut handles = Vec::new();
    for i in 0..10 {
        handles.push(
            p.send(ProducerRecord::new(format!("k{i}"), format!("v{i}")))
                .await
                .unwrap(),
        );
    }
    // Full: the next one is handed back.
    match p.try_send(ProducerRecord::new("k10", "v10".to_owned())) {
        Err(kinesis_producer::TrySendError::Full(r)) => assert_eq!(r.partition_key(), "k10"),
        other => panic!("expected Full, got {other:?}"),
    }
    let metrics = p.shutdown().await;
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(metrics.records_published(), 10);
    // After shutdown nothing is accepted.
    let e = p
        .produce(ProducerRecord::new("k", "v".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::Closed);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_producer_without_shutdown_fails_pending_records() {
    let s = setup().await;
    let p = producer(&s, settings().with_linger(Duration::from_secs(60))).await;
    let handle = p
        .send(ProducerRecord::new("k", "v".to_owned()))
        .await
        .unwrap();
    drop(p);
    let e = handle.await.unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::Closed);
    assert!(s.http.seen_for("PutRecords").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_key_s_records_are_stored_in_the_order_produced() {
    let s = setup().await;
    let p = producer(
        &s,
        settings()
            .with_linger(Duration::ZERO)
            .with_batch_limits(2, 5 * 1024 * 1024),
    )
    .await;
    let results = p
        .produce_batch((0..10).map(|i| ProducerRecord::new("same-key", format!("v{i}"))))
        .await;
    let sequence: Vec<u64> = results.iter().map(sequence_of).collect();
    let mut sorted = sequence.clone();
    sorted.sort();
    assert_eq!(sequence, sorted, "stored in the order produced");
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_key_s_records_sent_again_together_keep_their_order() {
    let s = setup().await;
    // The first call's entries are all throttled: sent again, singly and then aggregated.
    for aggregate in [false, true] {
        s.fake
            .lock()
            .unwrap()
            .plan
            .push_back(vec![Some("ProvisionedThroughputExceededException"); 4]);
        let settings = if aggregate {
            settings().with_aggregation(AggregationSettings::default())
        } else {
            settings()
        };
        let p = producer(&s, settings).await;
        let results = p
            .produce_batch((0..4).map(|i| ProducerRecord::new("same-key", format!("v{i}"))))
            .await;
        let stored: Vec<(u64, Option<u64>)> = results
            .iter()
            .map(|r| (sequence_of(r), r.as_ref().unwrap().sub_sequence_number()))
            .collect();
        assert!(results.iter().all(|r| r.as_ref().unwrap().attempts() == 2));
        let mut sorted = stored.clone();
        sorted.sort();
        assert_eq!(
            stored, sorted,
            "stored in the order produced (aggregated: {aggregate})"
        );
        p.shutdown().await;
    }
}

/// A call in flight holds back only the records of its keys: other keys of the same shard go in
/// calls alongside it, and each key's records are stored in the order produced.
#[tokio::test(start_paused = true)]
async fn a_key_is_in_one_call_at_a_time_while_other_keys_of_its_shard_go_alongside() {
    let s = setup().await;
    let latency = Duration::from_millis(50);
    s.fake.lock().unwrap().latency = latency;
    let p = producer(
        &s,
        settings()
            .with_linger(Duration::ZERO)
            .with_batch_limits(2, 5 * 1024 * 1024),
    )
    .await;
    let keys = keys_on_shard_0(4);
    let start = Instant::now();
    // k0 k1 k2 k3, three times over.
    let results = p
        .produce_batch((0..12).map(|i| ProducerRecord::new(keys[i % 4].clone(), format!("v{i}"))))
        .await;
    let pair = |a: usize, b: usize| vec![keys[a].clone(), keys[b].clone()];
    let expected: Vec<(Duration, Vec<String>)> = (0..3u32)
        .flat_map(|round| {
            let at = latency * round;
            [(at, pair(0, 1)), (at, pair(2, 3))]
        })
        .collect();
    assert_eq!(
        calls(&s.http, start),
        expected,
        "two calls of one shard in flight at once, no key in both"
    );
    for key in 0..4 {
        let sequence: Vec<u64> = results
            .iter()
            .skip(key)
            .step_by(4)
            .map(sequence_of)
            .collect();
        assert!(
            sequence.is_sorted(),
            "key {key} stored in the order produced: {sequence:?}"
        );
    }
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_empty_batch_returns_at_once() {
    let s = setup().await;
    let p = producer(&s, settings()).await;
    let start = Instant::now();
    assert!(p.produce_batch(Vec::new()).await.is_empty());
    assert_eq!(Instant::now(), start);
    assert!(s.http.seen_for("PutRecords").is_empty());
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_burst_larger_than_one_engine_pass_is_answered_completely() {
    let s = setup().await;
    let p = producer(&s, settings()).await;
    // try_send never yields: the whole burst is queued before the engine runs once.
    let handles: Vec<_> = (0..3000)
        .map(|i| {
            p.try_send(ProducerRecord::new(format!("k{i}"), format!("v{i}")))
                .unwrap()
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let metrics = p.shutdown().await;
    assert_eq!(metrics.records_published(), 3000);
}

#[tokio::test(start_paused = true)]
async fn a_record_whose_call_got_no_answer_is_reported_as_of_unknown_outcome() {
    let s = setup().await;
    // The first call gets no answer (its attempt times out: it may have been stored), the next
    // two are throttled.
    s.fake.lock().unwrap().hang = 1;
    s.throttle_next_calls(2);
    let p = producer(
        &s,
        settings()
            .with_linger(Duration::ZERO)
            .with_retry_limits(Duration::from_secs(300), 3),
    )
    .await;
    let e = p
        .produce(ProducerRecord::new("k", "v".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::OutcomeUnknown, "{e}");
    assert!(
        e.to_string().contains("timed out"),
        "the cause is kept: {e}"
    );
    assert!(e.to_string().contains("may have been stored"), "{e}");
    assert_eq!(e.attempts(), 3);
    assert_eq!(
        e.into_record().map(|(data, key)| (data.to_vec(), key)),
        Some((b"v".to_vec(), "k".to_owned()))
    );

    // Without a call that went unanswered, the same failure is a known one.
    s.throttle_next_calls(3);
    let e = p
        .produce(ProducerRecord::new("k", "w".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ProduceErrorKind::RetriesExhausted, "{e}");
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn build_gives_up_at_its_deadline_when_nothing_answers() {
    let http = Scripted::default().with_responder(|_| Answer::Hang);
    let config = ClientConfig::builder()
        .sdk_config(http.sdk_config())
        .build()
        .await
        .unwrap();
    let start = Instant::now();
    let e = Producer::builder(&config, "silent")
        .build_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(e.kind(), ProduceErrorKind::Setup);
    assert!(
        e.to_string().contains("silent") && e.to_string().contains("5s"),
        "{e}"
    );
    assert!(!http.seen().is_empty(), "it tried");
}
