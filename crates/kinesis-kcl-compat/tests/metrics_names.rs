//! The metric vocabulary is consistent: names unique per operation, operations unique, every
//! operation shaped as the KCL emits it.

use std::collections::HashSet;

use kinesis_kcl_compat::metrics::{
    self, KCL_OPERATIONS, MetricsLevel, Unit, dimension, kpl, process_task, publishing,
    renew_all_leases, take_leases,
};

#[test]
fn metric_names_are_unique_within_each_operation() {
    for op in KCL_OPERATIONS {
        let mut seen = HashSet::new();
        for m in op.metrics {
            assert!(
                seen.insert(m.name),
                "{} lists {} twice",
                op.operation,
                m.name
            );
            assert!(
                !m.name.is_empty() && m.name.trim() == m.name,
                "{:?}",
                m.name
            );
        }
        assert!(!op.metrics.is_empty(), "{}", op.operation);
    }
}

#[test]
fn operations_are_unique_and_carry_operation_first() {
    let mut seen = HashSet::new();
    for op in KCL_OPERATIONS {
        assert!(seen.insert(op.operation), "{} twice", op.operation);
        assert_eq!(
            op.dimensions.first(),
            Some(&dimension::OPERATION),
            "{}",
            op.operation
        );
        for d in op.dimensions {
            assert!(dimension::ALL.contains(d), "{d}");
        }
        assert_eq!(metrics::operation(op.operation), Some(op));
    }
    for name in [
        "InitializeTask",
        "ShutdownTask",
        "ShardSyncTask",
        "BlockOnParentShardTask",
        "PeriodicShardSyncManager",
        "MultiStreamTracker",
        "RenewAllLeases",
        "TakeLeases",
        "ProcessTask",
        "ApplicationTracker",
        "LeaseRenewerInitialize",
    ] {
        let op = metrics::operation(name).unwrap_or_else(|| panic!("{name} is missing"));
        assert!(!op.kcl3_only, "{name}");
    }
}

#[test]
fn success_and_latency_pairs_match() {
    // Every `X.Success` has its `X.Time` (MetricsUtil.addSuccessAndLatency emits both), with the
    // right units, except where the KCL only records a latency or a success.
    for op in KCL_OPERATIONS {
        for m in op.metrics {
            if let Some(prefix) = m.name.strip_suffix(".Success") {
                if prefix == "SyncShards" {
                    // `MetricsUtil.addSuccess` alone: the shard sync's time is the task's.
                    continue;
                }
                let time = op.metric(&metrics::time_metric(prefix));
                assert!(
                    time.is_some(),
                    "{}: {} without its Time",
                    op.operation,
                    m.name
                );
                assert_eq!(
                    time.map(|t| (t.unit, t.level)),
                    Some((Unit::Milliseconds, m.level))
                );
            }
            if m.name.ends_with(".Success") || m.name == metrics::SUCCESS {
                assert_eq!(m.unit, Unit::Count, "{}", m.name);
            }
            if m.name.ends_with(".Time") || m.name == metrics::TIME {
                assert_eq!(m.unit, Unit::Milliseconds, "{}", m.name);
            }
        }
        if let Some(success) = op.metric(metrics::SUCCESS) {
            let time = op.metric(metrics::TIME).expect("Success comes with Time");
            assert_eq!(
                (success.level, time.level),
                (MetricsLevel::Summary, MetricsLevel::Summary)
            );
        }
    }
}

#[test]
fn the_metrics_a_consumer_publishes_have_kcl_levels() {
    let level = |op: &metrics::OperationSpec, name| op.metric(name).unwrap().level;
    assert_eq!(
        level(&renew_all_leases::SPEC, "RenewLease.Success"),
        MetricsLevel::Detailed
    );
    assert_eq!(
        level(&renew_all_leases::SPEC, "LostLeases"),
        MetricsLevel::Summary
    );
    assert_eq!(
        level(&take_leases::SPEC, "TotalLeases"),
        MetricsLevel::Detailed
    );
    assert_eq!(
        level(&take_leases::SPEC, "NumWorkers"),
        MetricsLevel::Summary
    );
    assert_eq!(
        level(&process_task::SPEC, "MillisBehindLatest"),
        MetricsLevel::Summary
    );
    assert_eq!(
        process_task::SPEC
            .metric("DataBytesProcessed")
            .unwrap()
            .unit,
        Unit::Bytes
    );
    assert_eq!(
        process_task::SPEC.dimensions,
        &[
            dimension::OPERATION,
            dimension::SHARD_ID,
            dimension::STREAM_ID
        ]
    );
}

#[test]
fn levels_filter_like_the_kcl() {
    use MetricsLevel::*;
    for (configured, metric, published) in [
        (Detailed, Detailed, true),
        (Detailed, Summary, true),
        (Summary, Detailed, false),
        (Summary, Summary, true),
        (None, Summary, false),
        (None, Detailed, false),
    ] {
        assert_eq!(
            configured.enables(metric),
            published,
            "{configured} / {metric}"
        );
    }
    for level in [None, Summary, Detailed] {
        assert_eq!(level.as_str().parse::<MetricsLevel>(), Ok(level));
    }
}

#[test]
fn publishing_defaults() {
    assert_eq!(publishing::BUFFER_TIME.as_millis(), 10_000);
    assert_eq!(publishing::MAX_QUEUE_SIZE, 10_000);
    assert_eq!(publishing::BATCH_SIZE, 20);
    assert_eq!(publishing::PUT_TIMEOUT.as_millis(), 5_000);
}

#[test]
fn kpl_names_are_unique_and_complete() {
    let names: HashSet<_> = kpl::METRICS.iter().map(|m| m.name).collect();
    assert_eq!(names.len(), kpl::METRICS.len());
    assert_eq!(names.len(), 15);
    for unit in [Unit::Count, Unit::Milliseconds, Unit::Bytes] {
        assert_eq!(unit.as_str().parse::<Unit>(), Ok(unit));
    }
    assert_eq!(
        kpl::metric(kpl::BUFFERING_TIME).unwrap().unit,
        Unit::Milliseconds
    );
    assert_eq!(
        kpl::metric(kpl::USER_RECORDS_DATA_PUT).unwrap().unit,
        Unit::Bytes
    );
    assert_eq!(kpl::dimension::ERROR_CODE, "ErrorCode");
}
