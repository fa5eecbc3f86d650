//! The `metrics` facade output: measurements become counters, gauges and histograms with the
//! dimensions as labels (read back with `metrics-util`'s debugging recorder), and CloudWatch
//! embedded-metric-format lines through `metrics_cloudwatch_embedded`.

#![cfg(feature = "metrics-facade")]

use kinesis_client::Telemetry;
use kinesis_client::telemetry::{MetricsLevel, Unit};
use kinesis_kcl_compat::metrics::{dimension, process_task, renew_all_leases};
use kinesis_metrics::MetricsFacade;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

fn report(t: &Telemetry) {
    let shard = [
        (dimension::OPERATION, process_task::OPERATION),
        (dimension::SHARD_ID, "shardId-000000000001"),
    ];
    t.count(
        MetricsLevel::Summary,
        process_task::RECORDS_PROCESSED,
        &shard,
        3,
    );
    t.count(
        MetricsLevel::Summary,
        process_task::RECORDS_PROCESSED,
        &shard,
        4,
    );
    t.gauge(
        MetricsLevel::Summary,
        process_task::MILLIS_BEHIND_LATEST,
        Unit::Milliseconds,
        &shard,
        250.0,
    );
    let worker = [
        (dimension::OPERATION, renew_all_leases::OPERATION),
        (dimension::WORKER_IDENTIFIER, "w-1"),
    ];
    t.time(
        MetricsLevel::Detailed,
        renew_all_leases::RENEW_LEASE_TIME,
        &worker,
        std::time::Duration::from_millis(12),
    );
}

#[test]
fn counters_gauges_and_histograms_with_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        report(&Telemetry::new(MetricsFacade::new(MetricsLevel::Detailed)));
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let find = |name: &str| {
        snapshot
            .iter()
            .find(|(k, ..)| k.key().name() == name)
            .unwrap_or_else(|| panic!("{name} missing from {snapshot:?}"))
    };
    let (key, unit, _, value) = find(process_task::RECORDS_PROCESSED);
    assert_eq!(value, &DebugValue::Counter(7));
    assert_eq!(unit, &Some(metrics::Unit::Count));
    let labels: Vec<(&str, &str)> = key.key().labels().map(|l| (l.key(), l.value())).collect();
    assert_eq!(
        labels,
        [
            ("Operation", "ProcessTask"),
            ("ShardId", "shardId-000000000001")
        ]
    );
    assert!(
        matches!(find(process_task::MILLIS_BEHIND_LATEST).3, DebugValue::Gauge(g) if g.into_inner() == 250.0)
    );
    assert!(
        matches!(&find(renew_all_leases::RENEW_LEASE_TIME).3, DebugValue::Histogram(h) if h.len() == 1)
    );
}

#[test]
fn a_summary_facade_forwards_no_detailed_metric() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        report(&Telemetry::new(MetricsFacade::new(MetricsLevel::Summary)));
    });
    let names: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .iter()
        .map(|(k, ..)| k.key().name().to_owned())
        .collect();
    assert!(names.contains(&process_task::RECORDS_PROCESSED.to_owned()));
    assert!(
        !names.contains(&renew_all_leases::RENEW_LEASE_TIME.to_owned()),
        "{names:?}"
    );
}
