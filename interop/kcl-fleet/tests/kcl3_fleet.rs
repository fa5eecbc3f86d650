//! KCL 3.x fleets with Rust members: Rust workers under the KCL 3.x rules beside Java KCL 3.5
//! workers in 3.x mode, on one lease table. A Java leader assigns leases to a Rust worker (by
//! graceful hand-over, as its balancing moves them), a Rust leader assigns leases to a Java
//! worker, and the rows each writes have the same attributes and types.

#![allow(clippy::disallowed_methods, reason = "times real worker processes")]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kcl_fleet::fleet::Fleet;
use kcl_fleet::leases::{self, RowShape};
use kcl_fleet::process::{Kcl, Kind};
use kinesis_kcl_compat::fleet::{LEADER_KEY, LeaderLock};
use kinesis_kcl_compat::lease::{AttributeValue, Item};

const SHARDS: u32 = 4;

/// The rows of the lease table that are not leases, by `leaseKey`.
async fn fleet_rows(fleet: &Fleet) -> BTreeMap<String, Item> {
    leases::raw_rows(fleet.config(), fleet.application())
        .await
        .into_iter()
        .filter(|r| matches!(r.get("entityType"), Some(AttributeValue::S(t)) if t != "LEASE"))
        .filter_map(|r| match r.get("leaseKey") {
            Some(AttributeValue::S(k)) => Some((k.clone(), r)),
            _ => None,
        })
        .collect()
}

async fn leader_of(fleet: &Fleet) -> Option<String> {
    let rows = fleet_rows(fleet).await;
    LeaderLock::from_item(rows.get(LEADER_KEY)?)
        .ok()
        .map(|l| l.owner_name)
}

/// Writes a few records every second (so that leases have a throughput to balance on) until
/// `done` holds for the leases, at most `limit`. Returns how long it took.
async fn put_until(
    fleet: &mut Fleet,
    limit: Duration,
    done: impl Fn(&[kinesis_kcl_compat::lease::Lease]) -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    let mut next = fleet.written().len() as u64;
    while started.elapsed() < limit {
        fleet.put(next..next + 8).await;
        next += 8;
        let rows = leases::raw_rows(fleet.config(), fleet.application()).await;
        let leases: Vec<_> = rows
            .into_iter()
            .filter_map(|r| {
                kinesis_kcl_compat::lease::ParsedRow::from_item(r)
                    .ok()?
                    .into_lease()
            })
            .collect();
        if done(&leases) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    None
}

/// The shape of a row without the values that differ by nature.
fn shape(row: &Item) -> RowShape {
    leases::shape(row)
}

fn finish(mut fleet: Fleet, label: &str, took: Duration) {
    fleet.stop_all();
    let account = fleet.account();
    eprintln!(
        "[{label}] leases moved {:.1} s after the second worker started; {}",
        took.as_secs_f64(),
        account.summary()
    );
    account.assert_sound();
    assert!(
        account.order_violations.is_empty(),
        "{:?}",
        account.order_violations
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_java_kcl3_leader_assigns_leases_to_a_rust_worker() {
    let label = "kcl3-leader-rust-worker";
    let Some(mut fleet) = support::fleet(label, SHARDS).await else {
        return;
    };
    let watch = fleet.watch_leases();
    fleet.put(0..40).await;
    fleet.start(Kind::Java(Kcl::V3), "java");
    if watch
        .wait_for(Duration::from_secs(120), |l| {
            l.len() == SHARDS as usize && leases::all_open_owned_by(l, &["java"])
        })
        .await
        .is_none()
    {
        support::fail(
            &fleet,
            "the Java KCL 3.x worker did not assign itself every lease",
        );
    }
    assert_eq!(leader_of(&fleet).await.as_deref(), Some("java"));

    fleet.start(Kind::RustKcl3, "rust");
    // The Java leader balances every third assignment run (3 × 2 × failover), by throughput.
    let limit = support::FAILOVER * 2 * 3 * 4 + Duration::from_secs(30);
    let Some(took) = put_until(&mut fleet, limit, |l| holds(l, "rust", 1)).await else {
        support::fail(
            &fleet,
            &format!("the Java leader gave the Rust worker no lease within {limit:?}"),
        )
    };
    // Records on every shard, for the new owner to process from the hand-over's checkpoint on.
    let next = fleet.written().len() as u64;
    fleet.put(next..next + 40).await;
    if fleet
        .wait_processed(Duration::from_secs(120))
        .await
        .is_none()
    {
        support::fail(&fleet, "records were not processed");
    }
    let rust = fleet.journal("rust");
    assert!(
        !rust.iter().any(|e| e.event == "became_leader"),
        "the Rust worker must not lead while the Java leader lives"
    );
    assert!(rust.iter().any(|e| e.event == "lease_acquired"));

    // The rows each kind writes: the same attributes, of the same types.
    let rows = fleet_rows(&fleet).await;
    let (java_stats, rust_stats) = (rows.get("java").map(shape), rows.get("rust").map(shape));
    assert!(
        java_stats.is_some() && rust_stats.is_some(),
        "both report: {:?}",
        rows.keys()
    );
    assert_eq!(rust_stats, java_stats, "WorkerMetricStats rows differ");
    let java_leader = rows
        .get(LEADER_KEY)
        .map(shape)
        .expect("the Java leader's lock");
    let java_migration = rows
        .get("Migration3.0")
        .map(shape)
        .expect("the migration row");
    let ours = kinesis_kcl_compat::fleet::ClientVersionMigration::new_3x("w", 1).to_item();
    assert_eq!(
        shape(&ours),
        java_migration,
        "the migration row we write differs from the Java KCL's"
    );
    // The lease rows each kind renews (with `throughputKBps`, which the leader balances on).
    let rows_now = leases::raw_rows(fleet.config(), fleet.application()).await;
    let lease_shapes = |owner: &str| -> Vec<RowShape> {
        rows_now
            .iter()
            .filter(|r| matches!(r.get("leaseOwner"), Some(AttributeValue::S(o)) if o == owner))
            .filter(
                |r| !matches!(r.get("checkpoint"), Some(AttributeValue::S(c)) if c == "SHARD_END"),
            )
            .map(shape)
            .collect()
    };
    let (rust_leases, java_leases) = (lease_shapes("rust"), lease_shapes("java"));
    assert!(!rust_leases.is_empty() && !java_leases.is_empty());
    for r in &rust_leases {
        assert!(
            r.contains_key("throughputKBps"),
            "a Rust-held lease without throughputKBps: {r:?}"
        );
        assert!(
            java_leases.contains(r),
            "a Rust-held lease row {r:?} has no Java-held counterpart of the same shape: {java_leases:?}"
        );
    }

    // The Java leader stops (it releases its lock): the Rust worker takes the leadership, and
    // its lock row is the lock client's.
    fleet.stop("java");
    // The KCL releases its lock at shutdown; if not, the lock expires after 120 s and the Rust
    // worker takes over at its next check (every 30 s).
    let deadline = Instant::now() + Duration::from_secs(200);
    while leader_of(&fleet).await.as_deref() != Some("rust") {
        if Instant::now() > deadline {
            support::fail(
                &fleet,
                "the Rust worker did not take the leadership after the Java leader stopped",
            );
        }
        fleet.put(0..0).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rows = fleet_rows(&fleet).await;
    assert_eq!(
        rows.get(LEADER_KEY).map(shape).as_ref(),
        Some(&java_leader),
        "the lock rows differ"
    );
    // And it assigns the leases the Java worker left to itself.
    if put_until(&mut fleet, Duration::from_secs(90), |l| {
        holds(l, "rust", SHARDS as usize)
    })
    .await
    .is_none()
    {
        support::fail(
            &fleet,
            "the Rust leader did not take over the leases the Java worker left",
        );
    }
    if fleet
        .wait_processed(Duration::from_secs(120))
        .await
        .is_none()
    {
        support::fail(
            &fleet,
            "records were not processed after the Rust worker took over",
        );
    }
    finish(fleet, label, took);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_kcl3_leader_assigns_leases_to_a_java_kcl3_worker() {
    let label = "rust-leader-kcl3-worker";
    let Some(mut fleet) = support::fleet(label, SHARDS).await else {
        return;
    };
    let watch = fleet.watch_leases();
    fleet.put(0..40).await;
    fleet.start(Kind::RustKcl3, "rust");
    if watch
        .wait_for(Duration::from_secs(60), |l| {
            l.len() == SHARDS as usize && leases::all_open_owned_by(l, &["rust"])
        })
        .await
        .is_none()
    {
        support::fail(
            &fleet,
            "the Rust worker did not lead and assign itself every lease",
        );
    }
    assert_eq!(leader_of(&fleet).await.as_deref(), Some("rust"));

    fleet.start(Kind::Java(Kcl::V3), "java");
    let limit = support::FAILOVER * 2 * 3 * 4 + Duration::from_secs(30);
    let Some(took) = put_until(&mut fleet, limit, |l| holds(l, "java", 1)).await else {
        support::fail(
            &fleet,
            &format!("the Rust leader gave the Java worker no lease within {limit:?}"),
        )
    };
    // Records on every shard, for the new owner to process from the hand-over's checkpoint on.
    let next = fleet.written().len() as u64;
    fleet.put(next..next + 40).await;
    if fleet
        .wait_processed(Duration::from_secs(120))
        .await
        .is_none()
    {
        support::fail(&fleet, "records were not processed");
    }
    // The Java worker accepted the Rust leader: it never took the lock.
    assert_eq!(leader_of(&fleet).await.as_deref(), Some("rust"));
    let rust = fleet.journal("rust");
    assert!(
        rust.iter().any(|e| e.event == "handed_over"),
        "the Rust worker handed leases over gracefully"
    );
    let java = fleet.journal("java");
    assert!(
        java.iter().any(|e| e.event == "record"),
        "the Java worker processed records"
    );
    finish(fleet, label, took);
}

/// Whether `worker` holds at least `n` open leases, none of them still being handed over.
fn holds(leases: &[kinesis_kcl_compat::lease::Lease], worker: &str, n: usize) -> bool {
    leases
        .iter()
        .filter(|l| {
            !l.checkpoint.is_shard_end()
                && l.lease_owner.as_deref() == Some(worker)
                && l.checkpoint_owner.is_none()
        })
        .count()
        >= n
}
