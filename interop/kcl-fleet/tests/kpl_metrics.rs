//! The metrics our producer publishes against those of the real KPL: both write the same
//! records to one stream with DETAILED metrics at shard granularity, the KPL to the harness's
//! CloudWatch stub, ours to the embedded CloudWatch receiver; the shapes (metric name, unit,
//! dimension names) are compared. Every difference is fixed or listed below and in
//! `docs/kcl-compatibility.md`.

#![allow(clippy::disallowed_methods, reason = "times real producer processes")]

mod support;

use std::collections::BTreeSet;

use kcl_fleet::journal;
use kinesis_kcl_compat::metrics::kpl;
use kinesis_testkit::TestEnv;

/// One published metric's shape: name, unit, dimension names.
type Shape = (String, String, Vec<String>);

/// Published by the KPL, not by our producer, with the reason.
const ONLY_KPL: &[(&str, &str)] = &[];

/// Published by our producer only, with the reason (besides the client stack's per-call
/// metrics, whose `Operation` dimension no KPL metric has).
const ONLY_OURS: &[(&str, &str)] = &[];

#[tokio::test(flavor = "multi_thread")]
async fn our_producer_and_the_kpl_publish_the_same_metrics() {
    let Some(mut fleet) = support::fleet("kpl-metrics", 2).await else {
        return;
    };
    let cloudwatch = TestEnv::builder().embedded_only().start().await;
    fleet.publish_metrics_to(cloudwatch.cloudwatch_endpoint());
    fleet.produce(true, "kpl", 500);
    fleet.produce(false, "ours", 500);

    let mut theirs = BTreeSet::new();
    for e in journal::read(&fleet.kpl_metrics_path("kpl")) {
        assert_eq!(e.str("namespace"), Some(kpl::NAMESPACE));
        let mut dims: Vec<String> = e
            .str("dimensions")
            .unwrap_or_default()
            .split(',')
            .filter(|d| !d.is_empty())
            .filter_map(|d| d.split('=').next().map(str::to_owned))
            .collect();
        dims.sort();
        theirs.insert((
            e.str("metric").unwrap_or_default().to_owned(),
            e.str("unit").unwrap_or_default().to_owned(),
            dims,
        ));
    }
    let ours: BTreeSet<Shape> = cloudwatch
        .cloudwatch()
        .metric_data()
        .into_iter()
        .filter(|d| d.namespace == kpl::NAMESPACE)
        .filter(|d| d.dimension("Operation").is_none())
        .map(|d| {
            let mut dims: Vec<String> = d.dimensions.iter().map(|x| x.name.clone()).collect();
            dims.sort();
            (
                d.metric_name.clone(),
                d.unit.clone().unwrap_or_default(),
                dims,
            )
        })
        .collect();
    assert!(!theirs.is_empty(), "the KPL published nothing");
    let only_kpl: Vec<&Shape> = theirs.difference(&ours).collect();
    let only_ours: Vec<&Shape> = ours.difference(&theirs).collect();
    eprintln!("published by both: {}", theirs.intersection(&ours).count());
    for s in &only_kpl {
        eprintln!("only KPL: {s:?}");
    }
    for s in &only_ours {
        eprintln!("only ours: {s:?}");
    }
    let listed = |list: &[(&str, &str)], s: &Shape| list.iter().any(|(name, _)| *name == s.0);
    let unexplained_kpl: Vec<&&Shape> = only_kpl.iter().filter(|s| !listed(ONLY_KPL, s)).collect();
    let unexplained_ours: Vec<&&Shape> =
        only_ours.iter().filter(|s| !listed(ONLY_OURS, s)).collect();
    assert!(
        unexplained_kpl.is_empty() && unexplained_ours.is_empty(),
        "unexplained differences:\nonly KPL: {unexplained_kpl:#?}\nonly ours: {unexplained_ours:#?}"
    );
}
