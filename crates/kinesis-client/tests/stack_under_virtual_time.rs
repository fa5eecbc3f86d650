//! The retry, rate-limit and timeout layers, driven through the real SDK over a scripted
//! connection (`kinesis_testkit::scripted`), under virtual time.

use std::time::Duration;

use kinesis_client::layer::{AttemptTimeouts, RateLimits};
use kinesis_client::{
    Client, ClientConfig, ErrorKind, PartitionKey, PutRecordsEntry, PutRecordsResultEntry,
    RetryConfig, ShardId, ShardIterator, StreamId,
};
use kinesis_testkit::scripted::{Answer, Scripted, Seen};
use tokio::time::Instant;

/// A client configuration whose calls go to `http`.
async fn config(http: &Scripted, retry: RetryConfig, limits: RateLimits) -> ClientConfig {
    ClientConfig::builder()
        .sdk_config(http.sdk_config())
        .retry(retry)
        .rate_limits(limits)
        .build()
        .await
        .unwrap()
}

/// A `DescribeStreamSummary` answer for an active stream called `name`.
fn summary(name: &str) -> Answer {
    Answer::ok(serde_json::json!({
        "StreamDescriptionSummary": {
            "StreamName": name,
            "StreamARN": format!("arn:aws:kinesis:us-east-1:123456789012:stream/{name}"),
            "StreamStatus": "ACTIVE",
            "RetentionPeriodHours": 24,
            "StreamCreationTimestamp": 1.7e9,
            "EnhancedMonitoring": [],
            "OpenShardCount": 1
        }
    }))
}

fn stream() -> StreamId {
    "s".parse().unwrap()
}

fn throttle() -> Answer {
    Answer::error(400, "ProvisionedThroughputExceededException")
}

#[tokio::test(start_paused = true)]
async fn throttled_twice_then_success() {
    let http = Scripted::new([throttle(), throttle(), summary("s")]);
    let retry = RetryConfig::default().with_throttling_backoff(Duration::from_millis(200));
    let client = Client::new(&config(&http, retry, RateLimits::none()).await);

    let start = Instant::now();
    let s = client.describe_stream_summary(stream()).await.unwrap();
    assert_eq!(s.name.as_str(), "s");

    let seen = http.seen();
    assert_eq!(seen.len(), 3);
    // Backoff ceilings of 200 ms then 400 ms, each wait random below its ceiling (full jitter).
    let waited = start.elapsed();
    assert!(waited <= Duration::from_millis(600), "{waited:?}");
    assert!(seen[1].at - seen[0].at <= Duration::from_millis(200));
    assert!(seen[2].at - seen[1].at <= Duration::from_millis(400));
}

#[tokio::test(start_paused = true)]
async fn a_call_stays_within_its_stated_worst_case() {
    let http = Scripted::default().with_responder(|_| throttle());
    let retry = RetryConfig::default();
    let worst = retry.worst_case_backoff();
    assert_eq!(
        worst,
        Duration::from_millis(42_600),
        "the figure docs/operations.md states"
    );
    let client = Client::new(&config(&http, retry, RateLimits::none()).await);

    let start = Instant::now();
    let err = client.describe_stream_summary(stream()).await.unwrap_err();
    assert!(err.is_throttling());
    assert_eq!(http.seen().len(), 10);
    assert!(start.elapsed() <= worst, "{:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_single_attempt_configuration_makes_one_call_and_shares_the_budget() {
    let http = Scripted::default().with_responder(|_| throttle());
    let config = config(&http, RetryConfig::default(), RateLimits::none()).await;
    let once = config.single_attempt();
    let err = Client::new(&once)
        .describe_stream_summary(stream())
        .await
        .unwrap_err();
    assert!(err.is_throttling());
    assert_eq!(http.seen().len(), 1);
    // One budget: what one spends, the other cannot.
    let spent = (0..10_000)
        .take_while(|_| once.retry_budget().withdraw())
        .count();
    assert!(spent < 10_000);
    assert!(!config.retry_budget().withdraw());
}

#[tokio::test(start_paused = true)]
async fn attempts_run_out_with_the_typed_error() {
    let http = Scripted::default().with_responder(|_| throttle());
    let retry = RetryConfig::default().with_max_attempts(4);
    let client = Client::new(&config(&http, retry, RateLimits::none()).await);

    let err = client.describe_stream_summary(stream()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert!(err.is_throttling() && err.is_retryable());
    assert_eq!(err.code(), Some("ProvisionedThroughputExceededException"));
    assert_eq!(err.operation(), Some("DescribeStreamSummary"));
    assert_eq!(http.seen().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn spent_budget_stops_retries() {
    let http = Scripted::default().with_responder(|_| Answer::error(503, "ServiceUnavailable"));
    // No reserve and no share of traffic: the budget allows no retry at all.
    let retry = RetryConfig::default().with_budget(Duration::from_secs(1), 0, 0.0);
    let client = Client::new(&config(&http, retry, RateLimits::none()).await);

    let err = client.describe_stream_summary(stream()).await.unwrap_err();
    assert!(err.is_transient());
    assert_eq!(http.seen().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn fatal_errors_are_not_retried() {
    let http = Scripted::new([Answer::error(400, "ResourceNotFoundException")]);
    let client = Client::new(&config(&http, RetryConfig::default(), RateLimits::none()).await);

    let err = client.describe_stream_summary(stream()).await.unwrap_err();
    assert!(err.is_not_found());
    assert!(!err.is_retryable());
    assert_eq!(http.seen().len(), 1);
}

fn entries(n: usize) -> Vec<PutRecordsEntry> {
    (0..n)
        .map(|i| PutRecordsEntry::new(format!("r{i}"), PartitionKey::new(format!("k{i}")).unwrap()))
        .collect()
}

fn put_answer(results: &[Option<&str>]) -> Answer {
    let records: Vec<_> = results
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            None => serde_json::json!({"ShardId": "shardId-000000000000", "SequenceNumber": format!("{}", 100 + i)}),
            Some(code) => serde_json::json!({"ErrorCode": code, "ErrorMessage": "scripted"}),
        })
        .collect();
    let failed = results.iter().filter(|r| r.is_some()).count();
    Answer::ok(serde_json::json!({"FailedRecordCount": failed, "Records": records}))
}

fn partition_keys(body: &serde_json::Value) -> Vec<String> {
    body["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["PartitionKey"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn partial_put_records_retries_only_the_failed_entries() {
    let http = Scripted::new([
        put_answer(&[
            None,
            Some("ProvisionedThroughputExceededException"),
            None,
            Some("InternalFailure"),
        ]),
        put_answer(&[Some("ProvisionedThroughputExceededException"), None]),
        put_answer(&[None]),
    ]);
    let client = Client::new(&config(&http, RetryConfig::default(), RateLimits::none()).await);

    let out = client.put_records(stream(), entries(4)).await.unwrap();

    let seen = http.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(partition_keys(&seen[0].body), ["k0", "k1", "k2", "k3"]);
    assert_eq!(partition_keys(&seen[1].body), ["k1", "k3"]);
    assert_eq!(partition_keys(&seen[2].body), ["k1"]);
    // Outcomes come back in request order, each with its own sequence number.
    let seqs: Vec<String> = out
        .entries()
        .iter()
        .map(|e| match e {
            PutRecordsResultEntry::Stored(p) => p.sequence_number.to_string(),
            other => panic!("not stored: {other:?}"),
        })
        .collect();
    assert_eq!(seqs, ["100", "100", "102", "101"]);
}

#[tokio::test(start_paused = true)]
async fn exhausted_partial_failure_hands_back_the_failed_entries() {
    let http = Scripted::new([put_answer(&[
        None,
        Some("ProvisionedThroughputExceededException"),
    ])])
    .with_responder(|_| put_answer(&[Some("ProvisionedThroughputExceededException")]));
    let retry = RetryConfig::default().with_max_attempts(3);
    let client = Client::new(&config(&http, retry, RateLimits::none()).await);

    let err = client.put_records(stream(), entries(2)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PartialFailure);
    assert!(err.is_throttling());
    let out = err.put_records_output().unwrap();
    assert!(matches!(out.entries()[0], PutRecordsResultEntry::Stored(_)));
    let failed: Vec<_> = out.failed().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0.partition_key().as_str(), "k1");
    assert_eq!(failed[0].1, "ProvisionedThroughputExceededException");
    assert_eq!(http.seen().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn entries_with_fatal_codes_are_not_resent() {
    let http = Scripted::new([put_answer(&[None, Some("KMSAccessDeniedException")])]);
    let client = Client::new(&config(&http, RetryConfig::default(), RateLimits::none()).await);

    let err = client.put_records(stream(), entries(2)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PartialFailure);
    assert!(!err.is_retryable());
    assert_eq!(http.seen().len(), 1);
}

fn records_answer(_: &Seen) -> Answer {
    Answer::ok(
        serde_json::json!({"Records": [], "NextShardIterator": "next", "MillisBehindLatest": 0}),
    )
}

#[tokio::test(start_paused = true)]
async fn the_limiter_keeps_get_records_at_five_calls_per_second_per_shard() {
    let http = Scripted::default().with_responder(records_answer);
    let config = config(
        &http,
        RetryConfig::default(),
        RateLimits::kinesis_defaults(),
    )
    .await;
    let client = Client::new(&config);
    let busy = ShardIterator::new(
        "it-busy",
        stream(),
        ShardId::new("shardId-000000000000").unwrap(),
    )
    .unwrap();
    let other = ShardIterator::new(
        "it-other",
        stream(),
        ShardId::new("shardId-000000000001").unwrap(),
    )
    .unwrap();

    let start = Instant::now();
    let mut calls = Vec::new();
    for _ in 0..20 {
        let (c, it) = (client.clone(), busy.clone());
        calls.push(tokio::spawn(async move { c.get_records(&it, None).await }));
    }
    for _ in 0..5 {
        let (c, it) = (client.clone(), other.clone());
        calls.push(tokio::spawn(async move { c.get_records(&it, None).await }));
    }
    for c in calls {
        c.await.unwrap().unwrap();
    }

    let seen = http.seen();
    assert_eq!(seen.len(), 25);
    let mut busy_times: Vec<Duration> = Vec::new();
    let mut other_times: Vec<Duration> = Vec::new();
    for s in &seen {
        let t = s.at - start;
        match s.body["ShardIterator"].as_str() {
            Some("it-busy") => busy_times.push(t),
            Some("it-other") => other_times.push(t),
            other => panic!("unexpected iterator {other:?}"),
        }
    }
    // Any window of one second holds at most five calls of the busy shard.
    busy_times.sort();
    for w in busy_times.windows(6) {
        assert!(w[5] - w[0] >= Duration::from_secs(1), "{busy_times:?}");
    }
    // 20 calls at 5 per second take three seconds after the first burst, and no more.
    assert_eq!(*busy_times.last().unwrap(), Duration::from_secs(3));
    // The other shard is not held back by the busy one.
    assert_eq!(other_times, vec![Duration::ZERO; 5]);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_attempt_times_out_and_is_retried() {
    let http = Scripted::new([Answer::Hang, summary("s")]);
    let config = ClientConfig::builder()
        .sdk_config(http.sdk_config())
        .attempt_timeouts(AttemptTimeouts::new(Duration::from_secs(2)))
        .rate_limits(RateLimits::none())
        .build()
        .await
        .unwrap();
    let client = Client::new(&config);

    let start = Instant::now();
    client.describe_stream_summary(stream()).await.unwrap();
    assert_eq!(http.seen().len(), 2);
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_without_retries_is_a_typed_transient_error() {
    let http = Scripted::new([Answer::Hang]);
    let config = ClientConfig::builder()
        .sdk_config(http.sdk_config())
        .retry(RetryConfig::disabled())
        .attempt_timeouts(AttemptTimeouts::new(Duration::from_millis(500)))
        .build()
        .await
        .unwrap();
    let err = Client::new(&config)
        .describe_stream_summary(stream())
        .await
        .unwrap_err();
    assert!(err.is_transient());
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.operation(), Some("DescribeStreamSummary"));
}

/// Keeps every measurement the stack reports.
#[derive(Debug, Default)]
struct Measured(std::sync::Mutex<Vec<(String, String, f64)>>);

impl kinesis_client::telemetry::Recorder for Measured {
    fn level(&self) -> kinesis_client::telemetry::MetricsLevel {
        kinesis_client::telemetry::MetricsLevel::Detailed
    }
    fn record(&self, m: &kinesis_client::telemetry::Measurement<'_>) {
        let op = m.dimension("Operation").unwrap_or_default().to_owned();
        self.0
            .lock()
            .unwrap()
            .push((op, m.name.to_owned(), m.value));
    }
}

#[tokio::test(start_paused = true)]
async fn the_stack_reports_each_call_its_throttles_and_retries() {
    let http = Scripted::new([
        throttle(),
        throttle(),
        summary("s"),
        Answer::error(400, "ResourceNotFoundException"),
    ]);
    let measured = std::sync::Arc::new(Measured::default());
    let config = config(&http, RetryConfig::default(), RateLimits::none())
        .await
        .with_telemetry(kinesis_client::Telemetry::new(std::sync::Arc::clone(
            &measured,
        )));
    let client = Client::new(&config);

    client.describe_stream_summary(stream()).await.unwrap();
    client.describe_stream_summary(stream()).await.unwrap_err();

    let seen = measured.0.lock().unwrap().clone();
    let values = |name: &str| -> Vec<f64> {
        seen.iter()
            .filter(|(op, n, _)| op == "DescribeStreamSummary" && n == name)
            .map(|(_, _, v)| *v)
            .collect()
    };
    assert_eq!(values("Throttles"), vec![1.0, 1.0]);
    assert_eq!(values("Retries"), vec![1.0, 1.0]);
    assert_eq!(values("Success"), vec![1.0, 0.0], "{seen:?}");
    let times = values("Time");
    assert_eq!(times.len(), 2);
    assert!(
        times[0] > 0.0 && times[0] <= 600.0,
        "the backoff is inside the call's time: {times:?}"
    );
}
