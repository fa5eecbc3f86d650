//! A consumer's metrics: what it records through the telemetry seam is what arrives at
//! CloudWatch (the embedded receiver), under the KCL's names, and the figures match the work
//! done.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use kinesis_client::Telemetry;
use kinesis_client::telemetry::{Measurement, Recorder};
use kinesis_consumer::{Consumer, MetricsLevel};
use kinesis_kcl_compat::metrics::{dimension, process_task, renew_all_leases};
use kinesis_serde::Utf8;
use kinesis_testkit::{MetricId, StatisticSet};
use support::Fixture;

/// Every metric recorded, with its samples added up over the run.
type Sets = BTreeMap<MetricId, StatisticSet>;

fn add(sets: &mut Sets, key: MetricId, value: f64) {
    sets.entry(key)
        .and_modify(|t| t.add(&StatisticSet::of(value)))
        .or_insert(StatisticSet::of(value));
}

#[derive(Debug, Default)]
struct Keep(Mutex<Sets>, Mutex<Vec<String>>);

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
    fn event(&self, event: &dyn kinesis_client::telemetry::Event) {
        let kind = if let Some(e) = event.downcast_ref::<kinesis_lease::LeaseEvent>() {
            format!("lease {e:?}")
        } else if let Some(e) = event.downcast_ref::<kinesis_consumer::DiagnosticEvent>() {
            format!("diagnostic {e:?}")
        } else {
            "other".to_owned()
        };
        self.1.lock().unwrap().push(kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_consumer_records_arrives_at_cloudwatch_under_the_kcl_names() {
    let fx = Fixture::new(2).await;
    let values: Vec<String> = (0..20).map(|i| format!("value-{i}")).collect();
    fx.put(values.clone(), 8).await;
    let keep = Arc::new(Keep::default());
    let consumer: Consumer<String> = Consumer::builder(&fx.config, &fx.stream, fx.app.clone())
        .worker_id("w-metrics")
        .deserializer(Utf8)
        .settings(fx.settings())
        .cloudwatch_metrics(MetricsLevel::Detailed)
        .telemetry(Telemetry::new(Arc::clone(&keep)))
        .build()
        .await
        .unwrap();

    let mut shards = consumer.shards().unwrap();
    let read = Arc::new(Mutex::new(0usize));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let mut shard = tokio::time::timeout(Duration::from_secs(30), shards.next())
            .await
            .expect("two shards within 30 s")
            .unwrap();
        let read = Arc::clone(&read);
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(record)) = shard.next().await {
                shard.checkpointer().stage(record.position());
                *read.lock().unwrap() += 1;
            }
        }));
    }
    support::eventually("every record read", Duration::from_secs(30), || {
        *read.lock().unwrap() == 20
    })
    .await;
    let renewed = |keep: &Keep| {
        keep.0.lock().unwrap().keys().any(|(name, dims)| {
            name == renew_all_leases::CURRENT_LEASES
                && dims.contains(&(
                    dimension::WORKER_IDENTIFIER.to_owned(),
                    "w-metrics".to_owned(),
                ))
        })
    };
    support::eventually("a renewal pass", Duration::from_secs(30), || renewed(&keep)).await;
    consumer.shutdown().await;
    for t in tasks {
        t.await.unwrap();
    }

    // The recorder had the events too: each lease event once, from the coordinator.
    let events = keep.1.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| e.starts_with("lease Acquired")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("diagnostic ShardStarted"))
    );
    assert!(
        !events.iter().any(|e| e.starts_with("diagnostic Lease")),
        "{events:?}"
    );

    let recorded = keep.0.lock().unwrap().clone();
    // The figures match the work done.
    let processed: f64 = recorded
        .iter()
        .filter(|((name, dims), _)| {
            name == process_task::RECORDS_PROCESSED
                && dims.contains(&(
                    dimension::OPERATION.to_owned(),
                    process_task::OPERATION.to_owned(),
                ))
        })
        .map(|(_, set)| set.sum)
        .sum();
    assert_eq!(processed, 20.0);

    let stats = consumer.cloudwatch_publisher().unwrap().stats();
    assert_eq!(
        (stats.dropped, stats.failed_calls, stats.unknown),
        (0, 0, 0),
        "{stats:?}"
    );
    assert!(stats.sent > 0);
    let Some(receiver) = fx.env.try_cloudwatch() else {
        return; // An external CloudWatch: what it stored is not read back.
    };
    // What arrived, summed over the intervals, equals what was recorded.
    let arrived = receiver.totals(&fx.app);
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
