//! The publisher under paused tokio time with a sink the test controls (aggregation, levels,
//! dimensions, batching, CloudWatch down for minutes, calls that never answer), and against the
//! embedded CloudWatch receiver (or an external CloudWatch named by the endpoint variables).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_client::{ClientConfig, Error, Telemetry};
use kinesis_kcl_compat::metrics::{MetricsLevel, Unit};
use kinesis_metrics::{
    BoxFuture, CloudWatchPublisher, CloudWatchSink, MetricKey, MetricSink, PublisherSettings,
    StatisticSet,
};
use kinesis_testkit::TestEnv;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Up,
    Throttling,
    Hanging,
}

/// One call: its namespace and data.
type Call = (String, Vec<(MetricKey, StatisticSet)>);

#[derive(Debug)]
struct Recorder {
    mode: Mutex<Mode>,
    calls: Mutex<Vec<Call>>,
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            mode: Mutex::new(Mode::Up),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn data(&self) -> Vec<(MetricKey, StatisticSet)> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, d)| d.clone())
            .collect()
    }
}

impl MetricSink for Recorder {
    fn put<'a>(
        &'a self,
        namespace: &'a str,
        data: &'a [(MetricKey, StatisticSet)],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mode = *self.mode.lock().unwrap();
            match mode {
                Mode::Up => {
                    self.calls
                        .lock()
                        .unwrap()
                        .push((namespace.to_owned(), data.to_vec()));
                    Ok(())
                }
                Mode::Throttling => Err(Error::from_code(
                    "ThrottlingException",
                    "Rate exceeded",
                    Some(400),
                )),
                Mode::Hanging => std::future::pending().await,
            }
        })
    }
}

/// Records one value through the seam, as a component would.
fn record(
    p: &CloudWatchPublisher,
    name: &str,
    unit: Unit,
    level: MetricsLevel,
    dimensions: &[(&str, &str)],
    value: f64,
) {
    Telemetry::new(p.clone()).distribution(level, name, unit, dimensions, value);
}

fn settings() -> PublisherSettings {
    PublisherSettings::new("app").with_level(MetricsLevel::Summary)
}

#[tokio::test(start_paused = true)]
async fn values_of_one_interval_become_one_statistic_set_per_metric() {
    let sink = Recorder::new();
    let p = CloudWatchPublisher::start(
        settings().with_enabled_dimensions(["Operation", "ShardId"]),
        sink.clone(),
    );
    for v in [3.0, 5.0, 1.0] {
        record(
            &p,
            "RecordsProcessed",
            Unit::Count,
            MetricsLevel::Summary,
            &[
                ("Operation", "ProcessTask"),
                ("ShardId", "s-1"),
                ("WorkerIdentifier", "w"),
            ],
            v,
        );
    }
    // Above the configured level: not recorded.
    record(
        &p,
        "RenewLease.Time",
        Unit::Milliseconds,
        MetricsLevel::Detailed,
        &[("Operation", "RenewAllLeases")],
        7.0,
    );
    tokio::time::sleep(Duration::from_secs(11)).await;
    let data = sink.data();
    assert_eq!(data.len(), 1, "{data:?}");
    let (key, set) = &data[0];
    assert_eq!(
        key,
        &MetricKey::new(
            "RecordsProcessed",
            Unit::Count,
            [("Operation", "ProcessTask"), ("ShardId", "s-1")]
        )
    );
    assert_eq!(
        (set.sample_count, set.sum, set.minimum, set.maximum),
        (3.0, 9.0, 1.0, 5.0)
    );
    assert_eq!(sink.calls.lock().unwrap()[0].0, "app");
    p.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn data_go_in_batches_of_the_configured_size() {
    let sink = Recorder::new();
    let p = CloudWatchPublisher::start(settings(), sink.clone());
    for i in 0..45 {
        record(
            &p,
            &format!("m{i}"),
            Unit::Count,
            MetricsLevel::Summary,
            &[],
            1.0,
        );
    }
    p.shutdown().await;
    let sizes: Vec<usize> = sink
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|(_, d)| d.len())
        .collect();
    assert_eq!(sizes, vec![20, 20, 5]);
    assert_eq!(p.stats().sent, 45);
}

#[tokio::test(start_paused = true)]
async fn cloudwatch_down_for_minutes_never_blocks_and_keeps_only_the_newest() {
    let sink = Recorder::new();
    sink.set(Mode::Throttling);
    let p = CloudWatchPublisher::start(settings().with_max_queue_size(50), sink.clone());
    // Ten minutes of 10 distinct metrics per second: recording never waits.
    for second in 0..600u64 {
        let started = tokio::time::Instant::now();
        for m in 0..10 {
            record(
                &p,
                &format!("m{m}"),
                Unit::Count,
                MetricsLevel::Summary,
                &[("Second", &(second / 10).to_string())],
                1.0,
            );
        }
        assert_eq!(started.elapsed(), Duration::ZERO);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let stats = p.stats();
    assert!(stats.failed_calls >= 59, "{stats:?}");
    assert!(stats.dropped > 500, "{stats:?}");
    assert_eq!(stats.sent, 0);
    // CloudWatch comes back: at most the queue's bound arrives, the newest data.
    sink.set(Mode::Up);
    tokio::time::sleep(Duration::from_secs(11)).await;
    p.shutdown().await;
    let data = sink.data();
    assert!(!data.is_empty() && data.len() <= 50 + 10, "{}", data.len());
    assert!(
        data.iter().any(|(k, _)| k.dimensions()[0].1 == "59"),
        "the newest interval arrived"
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_that_never_answers_is_unknown_and_not_sent_again() {
    let sink = Recorder::new();
    sink.set(Mode::Hanging);
    let p = CloudWatchPublisher::start(settings(), sink.clone());
    record(&p, "m", Unit::Count, MetricsLevel::Summary, &[], 1.0);
    tokio::time::sleep(Duration::from_secs(16)).await;
    sink.set(Mode::Up);
    tokio::time::sleep(Duration::from_secs(20)).await;
    p.shutdown().await;
    let stats = p.stats();
    assert_eq!((stats.unknown, stats.sent), (1, 0), "{stats:?}");
    assert!(sink.data().is_empty());
}

#[tokio::test]
async fn published_statistic_sets_arrive_at_cloudwatch() {
    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let namespace = env.unique_name("metrics");
    let p = CloudWatchPublisher::start(
        PublisherSettings::new(namespace.clone()),
        Arc::new(CloudWatchSink::new(&config)),
    );
    for v in [10.0, 20.0, 30.0] {
        record(
            &p,
            "MillisBehindLatest",
            Unit::Milliseconds,
            MetricsLevel::Summary,
            &[
                ("Operation", "ProcessTask"),
                ("ShardId", "shardId-000000000000"),
            ],
            v,
        );
    }
    record(
        &p,
        "DataBytesProcessed",
        Unit::Bytes,
        MetricsLevel::Summary,
        &[("Operation", "ProcessTask")],
        2048.0,
    );
    p.shutdown().await;
    let stats = p.stats();
    assert_eq!(
        (stats.sent, stats.failed_calls, stats.dropped),
        (2, 0, 0),
        "{stats:?}"
    );
    if let Some(receiver) = env.try_cloudwatch() {
        let data: Vec<_> = receiver
            .metric_data()
            .into_iter()
            .filter(|d| d.namespace == namespace)
            .collect();
        assert_eq!(data.len(), 2, "{data:?}");
        let behind = data
            .iter()
            .find(|d| d.metric_name == "MillisBehindLatest")
            .unwrap();
        assert_eq!(behind.unit.as_deref(), Some("Milliseconds"));
        assert_eq!(behind.dimension("ShardId"), Some("shardId-000000000000"));
        let s = behind.statistic_values.unwrap();
        assert_eq!(
            (s.sample_count, s.sum, s.minimum, s.maximum),
            (3.0, 60.0, 10.0, 30.0)
        );
    }
}
