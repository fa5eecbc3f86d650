//! The lease rows each kind writes for the same states, compared attribute by attribute (names
//! and DynamoDB types): an open lease checkpointed and released at a graceful stop, a finished
//! (`SHARD_END`) parent, and its children.

#![allow(clippy::disallowed_methods, reason = "times real worker processes")]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kcl_fleet::fleet::Fleet;
use kcl_fleet::leases::{self, RowShape};
use kcl_fleet::process::{Kcl, Kind};
use kinesis_client::StreamName;

/// The rows of a lease table by state: `open`, `finished` (SHARD_END), `child` (has
/// parentShardId), and `other` (not a lease: KCL 3.x metadata).
async fn shapes_by_state(fleet: &Fleet, table: &str) -> BTreeMap<&'static str, Vec<RowShape>> {
    let rows = leases::raw_rows(fleet.config(), table).await;
    let mut out: BTreeMap<&'static str, Vec<RowShape>> = BTreeMap::new();
    for row in &rows {
        let state = if !row.contains_key("checkpoint") {
            "other"
        } else if row.get("checkpoint")
            == Some(&kinesis_kcl_compat::lease::AttributeValue::S(
                "SHARD_END".into(),
            ))
        {
            "finished"
        } else if row.contains_key("parentShardId") {
            "child"
        } else {
            "open"
        };
        out.entry(state).or_default().push(leases::shape(row));
    }
    out
}

/// Attribute → type over all rows of a state (a type of `*` where rows disagree).
fn union(shapes: &[RowShape]) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for shape in shapes {
        for (k, t) in shape {
            out.entry(k.clone())
                .and_modify(|old: &mut &'static str| {
                    if old != t {
                        *old = "*";
                    }
                })
                .or_insert(*t);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_match_the_java_kcl() {
    let Some(mut fleet) = support::fleet("rows", 2).await else {
        return;
    };
    // Three applications on one stream: each kind alone writes its own table.
    let base = fleet.application().to_owned();
    fleet.put(0..60).await;
    fleet.start_as(Kind::Java(Kcl::V2), "kcl2", &format!("{base}-kcl2"));
    fleet.start_as(
        Kind::Java(Kcl::V3Compatible),
        "kcl3",
        &format!("{base}-kcl3"),
    );
    fleet.start_as(Kind::Rust, "rust", &format!("{base}-rust"));
    let wait = |fleet: &Fleet, id: &str, n: usize| {
        let records = fleet
            .journal(id)
            .iter()
            .filter(|e| e.event == "record")
            .count();
        records >= n
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !["kcl2", "kcl3", "rust"]
        .iter()
        .all(|id| wait(&fleet, id, 60))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the three workers did not read 60 records each"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stream: StreamName = fleet.stream().parse().expect("stream name");
    let shards: Vec<kinesis_client::Shard> = {
        use futures_util::TryStreamExt;
        kinesis_client::Client::new(fleet.config())
            .list_shards(&stream, None)
            .try_collect()
            .await
            .expect("list shards")
    };
    fleet
        .admin()
        .split_shard(
            &stream,
            shards[0].id(),
            shards[0].hash_key_range().midpoint(),
        )
        .await
        .expect("split");
    fleet.put(60..120).await;
    while !["kcl2", "kcl3", "rust"]
        .iter()
        .all(|id| wait(&fleet, id, 120))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the three workers did not read 120 records each"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    fleet.stop_all();

    let java2 = shapes_by_state(&fleet, &format!("{base}-kcl2")).await;
    let java3 = shapes_by_state(&fleet, &format!("{base}-kcl3")).await;
    let rust = shapes_by_state(&fleet, &format!("{base}-rust")).await;
    let mut report = Vec::new();
    let mut differences = Vec::new();
    for (java_name, java) in [("kcl2", &java2), ("kcl3", &java3)] {
        for state in ["open", "finished", "child"] {
            let j = union(java.get(state).map(Vec::as_slice).unwrap_or_default());
            let r = union(rust.get(state).map(Vec::as_slice).unwrap_or_default());
            report.push(format!("{java_name} {state}: java {j:?}\n    rust {r:?}"));
            for (k, t) in &r {
                match j.get(k) {
                    Some(jt) if jt == t => {}
                    Some(jt) => differences.push(format!(
                        "{state}: {k} is {t} in ours, {jt} in {java_name}'s"
                    )),
                    None => {
                        differences.push(format!("{state}: {k} written by us, not by {java_name}"))
                    }
                }
            }
            for k in j.keys().filter(|k| !r.contains_key(*k)) {
                differences.push(format!("{state}: {k} written by {java_name}, not by us"));
            }
        }
    }
    eprintln!(
        "[rows]\n  {}\n  differences: {differences:#?}",
        report.join("\n  ")
    );
    let explained = [
        // A graceful stop: we release (remove leaseOwner) so that the others take at once, the
        // finished leases too; the KCL leaves its owner to expire.
        "open: leaseOwner written by kcl2, not by us",
        "open: leaseOwner written by kcl3, not by us",
        "child: leaseOwner written by kcl2, not by us",
        "child: leaseOwner written by kcl3, not by us",
        "finished: leaseOwner written by kcl2, not by us",
        "finished: leaseOwner written by kcl3, not by us",
        // We tag lease rows `entityType = LEASE` as KCL 3.x does; KCL 2.x ignores it.
        "open: entityType written by us, not by kcl2",
        "finished: entityType written by us, not by kcl2",
        "child: entityType written by us, not by kcl2",
        // KCL 3.x records each lease's throughput for its leader's load-based assignment (also
        // in its 2.x-compatible mode); we keep a value we read and write none of our own.
        "open: throughputKBps written by kcl3, not by us",
        "finished: throughputKBps written by kcl3, not by us",
        "child: throughputKBps written by kcl3, not by us",
    ];
    let unexplained: Vec<&String> = differences
        .iter()
        .filter(|d| !explained.contains(&d.as_str()))
        .collect();
    assert!(
        unexplained.is_empty(),
        "lease rows differ: {unexplained:#?}"
    );
    fleet.delete_stream().await;
}
