//! Rust and Java workers of one application at the same time: a fair split, no steal storm, no
//! shard processed by two workers for longer than a renew interval, and take-over after a
//! graceful stop or a crash of either kind.

#![allow(clippy::disallowed_methods, reason = "times real worker processes")]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kcl_fleet::fleet::{Fleet, double_processing_ms};
use kcl_fleet::leases::{self, LeaseWatch};
use kcl_fleet::process::{Kcl, Kind};

/// Whether the open leases are split between `a` and `b` within one lease.
fn fair(leases: &[kinesis_kcl_compat::lease::Lease], shards: usize, a: &str, b: &str) -> bool {
    let by = leases::open_by_owner(leases);
    let (x, y) = (
        by.get(a).copied().unwrap_or(0),
        by.get(b).copied().unwrap_or(0),
    );
    x + y == shards && x.abs_diff(y) <= 1
}

async fn wait_fair(fleet: &Fleet, watch: &LeaseWatch, shards: usize, a: &str, b: &str) -> Duration {
    // The KCL steals one lease per take interval: half the shards' worth of intervals, two
    // more, plus JVM start-up.
    let limit = fleet.take_interval() * (shards as u32 / 2 + 2) + Duration::from_secs(20);
    match watch.wait_for(limit, |l| fair(l, shards, a, b)).await {
        Some(took) => took,
        None => support::fail(
            fleet,
            &format!(
                "{a} and {b} did not split {shards} leases fairly within {limit:?}: {:?}",
                leases::open_by_owner(&watch.latest())
            ),
        ),
    }
}

/// A Java worker of `java` and a Rust worker started together on `shards` shards.
async fn both_at_once(label: &str, java: Kcl, shards: u32) {
    let Some(mut fleet) = support::fleet(label, shards).await else {
        return;
    };
    let watch = fleet.watch_leases();
    fleet.put(0..100).await;
    fleet.start(Kind::Java(java), "java");
    fleet.start(Kind::Rust, "rust");
    let balanced = wait_fair(&fleet, &watch, shards as usize, "java", "rust").await;
    let switches_at_balance = watch.owner_switches();
    // Steady state: one more take interval of both, with records flowing.
    fleet.put(100..200).await;
    tokio::time::sleep(fleet.take_interval()).await;
    let still_fair = fair(&watch.latest(), shards as usize, "java", "rust");
    let switches = watch.owner_switches();
    if fleet
        .wait_processed(Duration::from_secs(60))
        .await
        .is_none()
    {
        support::fail(&fleet, "records were not processed");
    }
    fleet.stop_all();
    let account = fleet.account();
    let double = double_processing_ms(&fleet.entries());
    let worst = double.values().copied().max().unwrap_or(0);
    eprintln!(
        "[{label}] {shards} shards: split {:?} {:.1} s after both started; owner switches {switches_at_balance} at balance, {switches} after one more take interval; longest double processing {worst} ms; {}",
        leases::open_by_owner(&watch.latest()),
        balanced.as_secs_f64(),
        account.summary()
    );
    assert!(still_fair, "the split did not hold in steady state");
    account.assert_sound();
    assert!(
        account.order_violations.is_empty(),
        "{:?}",
        account.order_violations
    );
    // Each of the other worker's fair share changes hands once; a storm would be many more.
    assert!(
        switches <= shards as usize,
        "{switches} owner switches for {shards} leases: a steal storm"
    );
    assert_eq!(
        switches, switches_at_balance,
        "leases kept changing hands after the split was fair"
    );
    let renew = fleet.renew_interval().as_millis() as u64;
    assert!(
        worst <= renew + 1_000,
        "a shard was processed by two workers for {worst} ms (renew interval {renew} ms): {double:?}"
    );
    fleet.delete_stream().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kcl2_and_rust_on_4_shards() {
    both_at_once("both-kcl2-4", Kcl::V2, 4).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kcl3_and_rust_on_8_shards() {
    both_at_once("both-kcl3-8", Kcl::V3Compatible, 8).await;
}

/// One stop (graceful or crash) of one kind while the other runs; returns how long the
/// survivor took to hold every lease.
async fn survive(
    fleet: &mut Fleet,
    watch: &LeaseWatch,
    shards: usize,
    victim: &str,
    survivor: &str,
    crash: bool,
) -> Duration {
    wait_fair(fleet, watch, shards, "java", "rust").await;
    let before = fleet.written().len() as u64;
    fleet.put(before..before + 40).await;
    let t = Instant::now();
    if crash {
        fleet.kill(victim);
    } else if !fleet.stop(victim) {
        support::fail(fleet, &format!("{victim} did not stop cleanly"));
    }
    let stopped_in = t.elapsed();
    let limit = fleet.failover() + fleet.take_interval() * 2 + Duration::from_secs(20);
    let Some(_) = watch
        .wait_for(limit, |l| leases::all_open_owned_by(l, &[survivor]))
        .await
    else {
        support::fail(
            fleet,
            &format!(
                "{survivor} did not hold every lease within {limit:?} after {victim} {}: {:?}",
                if crash { "crashed" } else { "stopped" },
                leases::open_by_owner(&watch.latest())
            ),
        )
    };
    let took = t.elapsed();
    eprintln!(
        "  {victim} {} (the stop took {:.1} s): {survivor} held every lease {:.1} s after the stop began",
        if crash {
            "killed"
        } else {
            "stopped gracefully"
        },
        stopped_in.as_secs_f64(),
        took.as_secs_f64()
    );
    took
}

#[tokio::test(flavor = "multi_thread")]
async fn stops_and_crashes_of_either_kind() {
    const SHARDS: u32 = 4;
    let Some(mut fleet) = support::fleet("failover-kcl2", SHARDS).await else {
        return;
    };
    let watch = fleet.watch_leases();
    let shards = SHARDS as usize;
    fleet.put(0..40).await;
    fleet.start(Kind::Java(Kcl::V2), "java");
    fleet.start(Kind::Rust, "rust");
    let mut took = BTreeMap::new();

    // A graceful Rust stop: it releases its leases; the Java taker takes them at its next run.
    took.insert(
        "rust stopped",
        survive(&mut fleet, &watch, shards, "rust", "java", false).await,
    );
    fleet.start(Kind::Rust, "rust");
    // A graceful Java 2.x stop: its leases keep their owner and expire after the failover time.
    took.insert(
        "java stopped",
        survive(&mut fleet, &watch, shards, "java", "rust", false).await,
    );
    fleet.start(Kind::Java(Kcl::V2), "java");
    took.insert(
        "rust killed",
        survive(&mut fleet, &watch, shards, "rust", "java", true).await,
    );
    fleet.start(Kind::Rust, "rust");
    took.insert(
        "java killed",
        survive(&mut fleet, &watch, shards, "java", "rust", true).await,
    );

    if fleet
        .wait_processed(Duration::from_secs(60))
        .await
        .is_none()
    {
        support::fail(&fleet, "records were lost across the stops");
    }
    fleet.stop_all();
    let account = fleet.account();
    eprintln!(
        "[failover-kcl2] take-over times {:?}; failover {:?}, take interval {:?}; {}",
        took.iter()
            .map(|(k, v)| format!("{k}: {:.1} s", v.as_secs_f64()))
            .collect::<Vec<_>>(),
        fleet.failover(),
        fleet.take_interval(),
        account.summary()
    );
    account.assert_sound();
    // The takers run with a fixed delay after their previous run (which scans the table), and
    // our watcher scans every 200 ms: seconds past the interval on a loaded machine.
    let slack = Duration::from_secs(10);
    let (failover, take) = (fleet.failover(), fleet.take_interval());
    let bounds = [
        // The Java taker takes released (unowned) leases at its next run.
        ("rust stopped", take + slack),
        // The Rust taker takes expired leases at its next run after the failover time; its
        // expiry probes look at a silent owner's leases between scans.
        ("java stopped", failover + take + slack),
        ("java killed", failover + take + slack),
        // The KCL's taker sees a lease as expired once two of its scans, a failover time
        // apart, found the same counter: the first after the stop notes it, the next one
        // takes. Up to two take intervals.
        ("rust killed", failover + take * 2 + slack),
    ];
    for (case, bound) in bounds {
        assert!(
            took[case] <= bound,
            "{case}: taken over after {:?}, bound {bound:?}",
            took[case]
        );
    }
    fleet.delete_stream().await;
}
