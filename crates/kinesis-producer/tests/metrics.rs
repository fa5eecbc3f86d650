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
use kinesis_testkit::{MetricId, StatisticSet, TestEnv};

/// Every metric recorded, with its samples added up over the run.
type Sets = BTreeMap<MetricId, StatisticSet>;

fn add(sets: &mut Sets, key: MetricId, value: f64) {
    sets.entry(key)
        .and_modify(|t| t.add(&StatisticSet::of(value)))
        .or_insert(StatisticSet::of(value));
}

#[derive(Debug, Default)]
struct Keep(Mutex<Sets>);

impl Recorder for Keep {
    fn level(&self) -> MetricsLevel {
        MetricsLevel::Detailed
    }
    fn record(&self, m: &Measurement<'_>) {
        let mut dims: Vec<(String, String)> = m
            .dimensions
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        dims.sort();
        add(
            &mut self.0.lock().unwrap(),
            (m.name.to_owned(), dims),
            m.value,
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
    assert_eq!(
        global(kpl::USER_RECORDS_RECEIVED).map(|s| s.sum),
        Some(300.0)
    );
    assert_eq!(global(kpl::USER_RECORDS_PUT).map(|s| s.sum), Some(300.0));
    assert_eq!(
        global(kpl::USER_RECORDS_DATA_PUT).map(|s| s.sum),
        Some(3000.0)
    );
    assert_eq!(
        global(kpl::RETRIES_PER_RECORD).map(|s| (s.sample_count, s.sum)),
        Some((300.0, 0.0))
    );
    let kinesis_records = global(kpl::KINESIS_RECORDS_PUT).unwrap().sum;
    assert!(
        kinesis_records < 300.0,
        "aggregated: {kinesis_records} Kinesis records"
    );
    assert_eq!(
        global(kpl::USER_RECORDS_PER_KINESIS_RECORD).map(|s| (s.sample_count, s.sum)),
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
    let arrived = receiver.totals(kpl::NAMESPACE);
    assert_eq!(
        arrived.keys().collect::<Vec<_>>(),
        recorded.keys().collect::<Vec<_>>()
    );
    for (id, set) in &recorded {
        assert!(
            arrived[id].matches(set),
            "{id:?}: {:?} arrived, {set:?} recorded",
            arrived[id]
        );
    }
}
