//! CloudWatch embedded metric format through the `metrics` facade: the lines
//! `metrics_cloudwatch_embedded` writes for what a consumer reports carry the namespace, the
//! KCL's metric names and units, and the dimensions. (Its own process: the collector is the
//! global `metrics` recorder.)

#![cfg(feature = "metrics-facade")]

use kinesis_client::Telemetry;
use kinesis_client::telemetry::MetricsLevel;
use kinesis_kcl_compat::metrics::{dimension, process_task};
use kinesis_metrics::MetricsFacade;

#[test]
fn lines_carry_the_kcl_names_units_and_dimensions() {
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("my-application")
        .init()
        .unwrap();
    let telemetry = Telemetry::new(MetricsFacade::new(MetricsLevel::Summary));
    let dims = [
        (dimension::OPERATION, process_task::OPERATION),
        (dimension::SHARD_ID, "shardId-000000000000"),
    ];
    telemetry.count(
        MetricsLevel::Summary,
        process_task::RECORDS_PROCESSED,
        &dims,
        5,
    );
    telemetry.count(
        MetricsLevel::Summary,
        process_task::RECORDS_PROCESSED,
        &dims,
        2,
    );

    let mut out = Vec::new();
    collector.flush(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let line: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v.get(process_task::RECORDS_PROCESSED).is_some())
        .unwrap_or_else(|| panic!("no RecordsProcessed line in {text}"));
    assert_eq!(line[process_task::RECORDS_PROCESSED], 7);
    assert_eq!(line["Operation"], "ProcessTask");
    assert_eq!(line["ShardId"], "shardId-000000000000");
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "my-application");
    let metric = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Name"] == process_task::RECORDS_PROCESSED)
        .unwrap();
    assert_eq!(metric["Unit"], "Count");
    let dimension_names: Vec<&str> = directive["Dimensions"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        dimension_names.contains(&"Operation") && dimension_names.contains(&"ShardId"),
        "{dimension_names:?}"
    );
}
