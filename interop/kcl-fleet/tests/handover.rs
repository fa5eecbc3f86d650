//! Sequential hand-over between the kinds: one worker processes and checkpoints, stops
//! gracefully, and a worker of the other kind continues from its checkpoints.

#![allow(clippy::disallowed_methods, reason = "times real worker processes")]

mod support;

use std::time::Duration;

use kcl_fleet::fleet::{CHECKPOINT_EVERY, Fleet};
use kcl_fleet::leases;
use kcl_fleet::process::{Kcl, Kind};

const SHARDS: u32 = 4;

async fn handover(label: &str, first: Kind, second: Kind) {
    let Some(mut fleet) = support::fleet(label, SHARDS).await else {
        return;
    };
    let watch = fleet.watch_leases();
    fleet.put(0..200).await;
    fleet.start(first, "first");
    if fleet
        .wait_processed(Duration::from_secs(120))
        .await
        .is_none()
    {
        support::fail(&fleet, "the first worker did not process every record");
    }
    if !fleet.stop(first_id()) {
        support::fail(&fleet, "the first worker did not stop cleanly");
    }
    // Every lease row is in the table (read again: the watcher's last scan may predate the
    // first worker's final writes).
    let rows_after_first = watch
        .wait_for(Duration::from_secs(10), |l| l.len() == SHARDS as usize)
        .await;
    fleet.put(200..400).await;
    let started = std::time::Instant::now();
    fleet.start(second, "second");
    let took = watch
        .wait_for(Duration::from_secs(60), |l| {
            l.len() == SHARDS as usize && leases::all_open_owned_by(l, &["second"])
        })
        .await;
    let Some(_) = took else {
        support::fail(&fleet, "the second worker did not take every lease")
    };
    let took = started.elapsed();
    if fleet
        .wait_processed(Duration::from_secs(120))
        .await
        .is_none()
    {
        support::fail(&fleet, "the second worker did not process every record");
    }
    fleet.stop_all();
    let account = fleet.account();
    eprintln!(
        "[{label}] {first} then {second}: every lease held by the second worker {:.1} s after it started; {}",
        took.as_secs_f64(),
        account.summary()
    );
    assert!(account.missing.is_empty(), "missing: {:?}", account.missing);
    assert!(account.unexpected.is_empty());
    assert!(
        account.order_violations.is_empty(),
        "{:?}",
        account.order_violations
    );
    assert!(account.shard_order_violations.is_empty());
    // The first worker checkpointed at its shutdown: the second starts after those records.
    assert_eq!(
        account.duplicates, 0,
        "records processed twice after a graceful hand-over (checkpoint every {CHECKPOINT_EVERY})"
    );
    // Every record the second worker processed is one the first did not.
    let second = fleet.journal("second");
    assert!(second.iter().any(|e| e.event == "record"));
    assert!(
        rows_after_first.is_some(),
        "the lease table did not show one row per shard after the first worker stopped"
    );
    assert_no_lease_warnings(&fleet);
    fleet.delete_stream().await;
}

fn first_id() -> &'static str {
    "first"
}

/// The Java KCL logs a warning or error when it cannot read a lease row; every other warning is
/// shown, not judged.
fn assert_no_lease_warnings(fleet: &Fleet) {
    const UNREADABLE: [&str; 6] = [
        "Serializer",
        "deserializ",
        "NumberFormat",
        "IllegalArgument",
        "Malformed",
        "Unable to parse",
    ];
    for id in ["first", "second"] {
        let Some(log) = fleet.log(id) else { continue };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let warnings: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .collect();
        for w in warnings.iter().take(10) {
            eprintln!("  {id}: {w}");
        }
        let bad: Vec<&&str> = warnings
            .iter()
            .filter(|l| UNREADABLE.iter().any(|u| l.contains(u)))
            .collect();
        assert!(bad.is_empty(), "{id} could not read lease rows:\n{bad:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kcl2_first_then_rust() {
    handover("kcl2-then-rust", Kind::Java(Kcl::V2), Kind::Rust).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_first_then_kcl2() {
    handover("rust-then-kcl2", Kind::Rust, Kind::Java(Kcl::V2)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kcl3_first_then_rust() {
    handover("kcl3-then-rust", Kind::Java(Kcl::V3), Kind::Rust).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_first_then_kcl3() {
    handover("rust-then-kcl3", Kind::Rust, Kind::Java(Kcl::V3)).await;
}
