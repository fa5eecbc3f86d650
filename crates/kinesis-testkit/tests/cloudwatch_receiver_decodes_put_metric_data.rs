//! The embedded CloudWatch receiver understands PutMetricData as aws-sdk-cloudwatch sends it
//! (Smithy RPC v2 CBOR, gzip from 10 240 bytes on) and answers other operations with a proper
//! error.

#![allow(clippy::disallowed_methods, reason = "timestamps of real requests")]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use kinesis_testkit::{Capability, TestEnv};

#[tokio::test]
async fn a_single_datum_arrives_decoded() {
    let env = TestEnv::builder().embedded_only().start().await;
    assert!(env.supports(Capability::MetricCapture));
    let timestamp = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);

    env.cloudwatch_sdk()
        .put_metric_data()
        .namespace("KinesisTestkit")
        .metric_data(
            MetricDatum::builder()
                .metric_name("RecordsProcessed")
                .dimensions(
                    Dimension::builder()
                        .name("ShardId")
                        .value("shardId-000000000001")
                        .build(),
                )
                .dimensions(
                    Dimension::builder()
                        .name("Operation")
                        .value("ProcessTask")
                        .build(),
                )
                .timestamp(DateTime::from(timestamp))
                .value(42.0)
                .unit(StandardUnit::Count)
                .storage_resolution(1)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let requests = env.cloudwatch().requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.namespace, "KinesisTestkit");
    assert!(!request.gzip);
    let datum = &request.metric_data[0];
    assert_eq!(datum.namespace, "KinesisTestkit");
    assert_eq!(datum.metric_name, "RecordsProcessed");
    assert_eq!(datum.dimension("ShardId"), Some("shardId-000000000001"));
    assert_eq!(datum.dimension("Operation"), Some("ProcessTask"));
    assert_eq!(datum.dimensions.len(), 2);
    assert_eq!(datum.value, Some(42.0));
    assert_eq!(datum.unit.as_deref(), Some("Count"));
    assert_eq!(datum.storage_resolution, Some(1));
    let received = datum.timestamp.unwrap();
    let skew = received
        .duration_since(timestamp)
        .unwrap_or_else(|e| e.duration());
    assert!(
        skew < Duration::from_millis(1),
        "{received:?} vs {timestamp:?}"
    );
}

#[tokio::test]
async fn four_hundred_datums_arrive_gzip_compressed_and_decoded() {
    let env = TestEnv::builder().embedded_only().start().await;
    let data: Vec<MetricDatum> = (0..400)
        .map(|i| {
            MetricDatum::builder()
                .metric_name(format!("Metric{i}"))
                .dimensions(
                    Dimension::builder()
                        .name("Worker")
                        .value(format!("worker-{i}"))
                        .build(),
                )
                .timestamp(DateTime::from(SystemTime::now()))
                .statistic_values(
                    StatisticSet::builder()
                        .sample_count(3.0)
                        .sum(f64::from(i))
                        .minimum(0.0)
                        .maximum(f64::from(i))
                        .build(),
                )
                .values(1.0)
                .values(2.5)
                .counts(10.0)
                .counts(20.0)
                .unit(StandardUnit::Milliseconds)
                .build()
        })
        .collect();

    env.cloudwatch_sdk()
        .put_metric_data()
        .namespace("Bulk")
        .set_metric_data(Some(data))
        .send()
        .await
        .unwrap();

    let requests = env.cloudwatch().wait_for_requests(1).await;
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].gzip,
        "a body of 400 datums is over 10 240 bytes and is compressed"
    );
    let data = env.cloudwatch().metric_data();
    assert_eq!(data.len(), 400);
    for (i, datum) in data.iter().enumerate() {
        assert_eq!(datum.metric_name, format!("Metric{i}"));
        assert_eq!(
            datum.dimension("Worker"),
            Some(format!("worker-{i}").as_str())
        );
        let stats = datum.statistic_values.unwrap();
        assert_eq!(stats.sample_count, 3.0);
        assert_eq!(stats.sum, i as f64);
        assert_eq!(stats.maximum, i as f64);
        assert_eq!(datum.values, [1.0, 2.5]);
        assert_eq!(datum.counts, [10.0, 20.0]);
        assert_eq!(datum.unit.as_deref(), Some("Milliseconds"));
    }

    env.cloudwatch().clear();
    assert!(env.cloudwatch().requests().is_empty());
}

#[tokio::test]
async fn calls_accumulate_and_can_be_awaited() {
    let env = TestEnv::builder().embedded_only().start().await;
    let receiver = env.cloudwatch().clone();
    let waiter = tokio::spawn(async move { receiver.wait_for_requests(3).await.len() });
    for i in 0..3 {
        env.cloudwatch_sdk()
            .put_metric_data()
            .namespace(format!("N{i}"))
            .metric_data(MetricDatum::builder().metric_name("M").value(1.0).build())
            .send()
            .await
            .unwrap();
    }
    let seen = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, 3);
    let namespaces: Vec<_> = env
        .cloudwatch()
        .metric_data()
        .into_iter()
        .map(|d| d.namespace)
        .collect();
    assert_eq!(namespaces, ["N0", "N1", "N2"]);
}

#[tokio::test]
async fn other_operations_get_an_rpc_v2_cbor_error() {
    let env = TestEnv::builder().embedded_only().start().await;
    let err = env
        .cloudwatch_sdk()
        .list_metrics()
        .namespace("Anything")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    assert_eq!(err.code(), Some("UnknownOperationException"));
    assert!(err.message().unwrap().contains("PutMetricData"));
    assert!(env.cloudwatch().requests().is_empty());
}
