//! A producer's metrics: what it records through the telemetry seam is what arrives at
//! CloudWatch (the embedded receiver) under the KPL's namespace and names, and the figures match
//! the work done.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_client::telemetry::{Measurement, Recorder};
use kinesis_client::{AdminClient, ClientConfig, StreamMode, StreamName, Telemetry};
use kinesis_kcl_compat::metrics::kpl;
use kinesis_producer::{
    AggregationSettings, MetricsLevel, Producer, ProducerRecord, ProducerSettings,
    PublisherSettings,
};
use kinesis_serde::Utf8;
use kinesis_testkit::TestEnv;

/// (metric name, sorted dimensions) → (count, sum, min, max), over the whole run.
type Sets = BTreeMap<(String, Vec<(String, String)>), (f64, f64, f64, f64)>;

fn add(sets: &mut Sets, key: (String, Vec<(String, String)>), v: (f64, f64, f64, f64)) {
    let e = sets
        .entry(key)
        .or_insert((0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY));
    e.0 += v.0;
    e.1 += v.1;
    e.2 = e.2.min(v.2);
    e.3 = e.3.max(v.3);
}

#[derive(Debug, Default)]
struct Keep(Mutex<Sets>);

impl Recorder for Keep {
    fn level(&self) -> MetricsLevel {
        MetricsLevel::Detailed
    }
    fn record(&self, m: &Measurement<'_>) {
        if m.dimension("Operation").is_some() {
            return; // the client stack's call metrics: compared by the consumer's test
        }
        let mut dims: Vec<(String, String)> = m
            .dimensions
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        dims.sort();
        add(
            &mut self.0.lock().unwrap(),
            (m.name.to_owned(), dims),
            (1.0, m.value, m.value, m.value),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_producer_records_arrives_at_cloudwatch_under_the_kpl_names() {
    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let stream: StreamName = env.unique_name("metrics").parse().unwrap();
    AdminClient::new(&config)
        .create_stream(&stream, StreamMode::Provisioned { shard_count: 2 })
        .await
        .unwrap();
    let keep = Arc::new(Keep::default());
    let producer: Producer<String> = Producer::builder(&config, &stream)
        .serializer(Utf8)
        .settings(ProducerSettings::default().with_aggregation(AggregationSettings::default()))
        .cloudwatch_metrics_with(
            PublisherSettings::new(kpl::NAMESPACE)
                .with_level(MetricsLevel::Detailed)
                .with_buffer_time(Duration::from_millis(500)),
        )
        .telemetry(Telemetry::new(Arc::clone(&keep)))
        .build()
        .await
        .unwrap();
    let mut handles = Vec::new();
    for i in 0..300 {
        let record = ProducerRecord::new(format!("key-{}", i % 16), format!("value-{i:04}"));
        handles.push(producer.send(record).await.unwrap());
    }
    for h in handles {
        h.await.unwrap();
    }
    producer.shutdown().await;

    let recorded = keep.0.lock().unwrap().clone();
    let global = |name: &str| recorded.get(&(name.to_owned(), vec![])).copied();
    // The figures match the work done: 300 records of 10 bytes, aggregated.
    assert_eq!(global(kpl::USER_RECORDS_RECEIVED).map(|s| s.1), Some(300.0));
    assert_eq!(global(kpl::USER_RECORDS_PUT).map(|s| s.1), Some(300.0));
    assert_eq!(
        global(kpl::USER_RECORDS_DATA_PUT).map(|s| s.1),
        Some(3000.0)
    );
    assert_eq!(
        global(kpl::RETRIES_PER_RECORD).map(|s| (s.0, s.1)),
        Some((300.0, 0.0))
    );
    let kinesis_records = global(kpl::KINESIS_RECORDS_PUT).unwrap().1;
    assert!(
        kinesis_records < 300.0,
        "aggregated: {kinesis_records} Kinesis records"
    );
    assert_eq!(
        global(kpl::USER_RECORDS_PER_KINESIS_RECORD).map(|s| (s.0, s.1)),
        Some((kinesis_records, 300.0))
    );
    let per_stream = recorded
        .keys()
        .filter(|(n, d)| n == kpl::USER_RECORDS_PUT && d.len() == 2)
        .count();
    assert_eq!(
        per_stream, 2,
        "one UserRecordsPut per shard at shard granularity"
    );

    let Some(receiver) = env.try_cloudwatch() else {
        return; // An external CloudWatch: what it stored is not read back.
    };
    let mut arrived = Sets::new();
    for d in receiver
        .metric_data()
        .into_iter()
        .filter(|d| d.namespace == kpl::NAMESPACE)
    {
        if d.dimension("Operation").is_some() {
            continue;
        }
        let mut dims: Vec<(String, String)> = d
            .dimensions
            .iter()
            .map(|x| (x.name.clone(), x.value.clone()))
            .collect();
        dims.sort();
        let s = d.statistic_values.expect("statistic sets");
        add(
            &mut arrived,
            (d.metric_name.clone(), dims),
            (s.sample_count, s.sum, s.minimum, s.maximum),
        );
    }
    assert_eq!(
        arrived.keys().collect::<Vec<_>>(),
        recorded.keys().collect::<Vec<_>>()
    );
    for (key, (n, sum, min, max)) in &recorded {
        let (an, asum, amin, amax) = arrived[key];
        assert_eq!((an, amin, amax), (*n, *min, *max), "{key:?}");
        assert!(
            (asum - sum).abs() <= 1e-6 * sum.abs().max(1.0),
            "{key:?}: {asum} vs {sum}"
        );
    }
}
