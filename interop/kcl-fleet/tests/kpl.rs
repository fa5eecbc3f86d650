//! KPL aggregates both ways: records aggregated by the real KPL are read by the Rust worker
//! (sub-records, sub-sequence checkpoints, a restart in the middle of an aggregate), and
//! records aggregated by our producer are read by the Java KCL.

#![allow(clippy::disallowed_methods, reason = "times real worker processes")]

mod support;

use std::time::Duration;

use kcl_fleet::process::{Kcl, Kind};

#[tokio::test(flavor = "multi_thread")]
async fn kpl_aggregates_read_by_rust() {
    let Some(mut fleet) = support::fleet("kpl-to-rust", 2).await else {
        return;
    };
    let produced = fleet.produce(true, "kpl", 1000);
    let put = produced.iter().filter(|e| e.event == "put").count();
    assert_eq!(put, 1000, "the KPL reported {put} of 1000 records stored");
    // A first Rust worker stops part way: it checkpoints inside an aggregate.
    fleet.start(Kind::Rust, "rust-1");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while fleet.account().missing.len() > 600 {
        assert!(
            std::time::Instant::now() < deadline,
            "the Rust worker read too little: {}",
            fleet.account().summary()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fleet.stop("rust-1"));
    let first = fleet.journal("rust-1");
    let mid_aggregate = first
        .iter()
        .filter(|e| e.event == "checkpoint")
        .filter(|e| e.u64("subsequence").unwrap_or(0) > 0)
        .count();
    fleet.start(Kind::Rust, "rust-2");
    if fleet
        .wait_processed(Duration::from_secs(90))
        .await
        .is_none()
    {
        support::fail(&fleet, "the second Rust worker did not read the rest");
    }
    fleet.stop_all();
    let resumed: Vec<String> = fleet
        .journal("rust-2")
        .iter()
        .filter(|e| e.event == "initialized")
        .map(|e| {
            format!(
                "{}@{}/{}",
                e.shard.clone().unwrap_or_default(),
                e.str("sequence").unwrap_or("?"),
                e.u64("subsequence").unwrap_or(0)
            )
        })
        .collect();
    let account = fleet.account();
    eprintln!(
        "[kpl-to-rust] 1000 KPL records: {mid_aggregate} checkpoints inside aggregates by rust-1, rust-2 resumed at {resumed:?}; {}",
        account.summary()
    );
    assert!(account.missing.is_empty(), "missing {:?}", account.missing);
    assert!(
        account.aggregated > 0,
        "no sub-record had a sub-sequence number: not aggregated?"
    );
    assert!(mid_aggregate > 0, "no checkpoint fell inside an aggregate");
    assert_eq!(
        account.duplicates, 0,
        "a graceful stop mid-aggregate redelivered records"
    );
    // The KPL may send a key's records out of order (several requests in flight per shard); the
    // consumer must keep the shard's order.
    assert!(
        account.shard_order_violations.is_empty(),
        "{:?}",
        account.shard_order_violations
    );
    fleet.delete_stream().await;
}

async fn ours_read_by(label: &str, kcl: Kcl) {
    let Some(mut fleet) = support::fleet(label, 2).await else {
        return;
    };
    let produced = fleet.produce(false, "ours", 1000);
    let aggregated = produced
        .iter()
        .filter(|e| e.event == "put" && e.u64("subsequence").is_some())
        .count();
    fleet.start(Kind::Java(kcl), "java");
    if fleet
        .wait_processed(Duration::from_secs(120))
        .await
        .is_none()
    {
        support::fail(&fleet, "the Java KCL did not read every record");
    }
    fleet.stop_all();
    let account = fleet.account();
    eprintln!(
        "[{label}] 1000 records from our producer ({aggregated} reported in aggregates): {}",
        account.summary()
    );
    assert!(account.missing.is_empty(), "missing {:?}", account.missing);
    assert!(account.aggregated > 0, "the KCL saw no sub-records");
    assert!(
        account.order_violations.is_empty(),
        "{:?}",
        account.order_violations
    );
    fleet.delete_stream().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn our_aggregates_read_by_kcl2() {
    ours_read_by("ours-to-kcl2", Kcl::V2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn our_aggregates_read_by_kcl3() {
    ours_read_by("ours-to-kcl3", Kcl::V3Compatible).await;
}
