//! Resharding during a mixed run: children start only after their parents reach SHARD_END,
//! whichever kind holds them; nothing is lost and each key's records stay in order; finished
//! leases neither count toward a worker's share nor stay in the table for ever.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kcl_fleet::journal::Entry;
use kcl_fleet::leases;
use kcl_fleet::process::{Kcl, Kind};
use kinesis_client::{ShardId, StreamName};

/// For each shard, when its processing started (first `initialized`), and when each shard
/// reached its end (`shard_ended`).
fn timeline(entries: &[Entry]) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let mut started = BTreeMap::new();
    let mut ended = BTreeMap::new();
    for e in entries {
        let Some(shard) = e.shard.clone() else {
            continue;
        };
        match e.event.as_str() {
            "initialized" => {
                started.entry(shard).or_insert(e.time_ms);
            }
            "shard_ended" => {
                ended.entry(shard).or_insert(e.time_ms);
            }
            _ => {}
        }
    }
    (started, ended)
}

async fn reshard(label: &str, java: Kcl) {
    const SHARDS: u32 = 4;
    let Some(mut fleet) = support::fleet(label, SHARDS).await else {
        return;
    };
    let watch = fleet.watch_leases();
    fleet.put(0..100).await;
    fleet.start(Kind::Java(java), "java");
    fleet.start(Kind::Rust, "rust");
    let limit = fleet.take_interval() * 4 + Duration::from_secs(20);
    if watch
        .wait_for(limit, |l| {
            let by = leases::open_by_owner(l);
            by.get("java") == Some(&2) && by.get("rust") == Some(&2)
        })
        .await
        .is_none()
    {
        support::fail(&fleet, "the workers did not split the leases 2/2");
    }

    // Split shard 0 at the middle of its range; merge shards 2 and 3.
    let stream: StreamName = fleet.stream().parse().expect("stream name");
    let shards: Vec<kinesis_client::Shard> = {
        use futures_util::TryStreamExt;
        kinesis_client::Client::new(fleet.config())
            .list_shards(&stream, None)
            .try_collect()
            .await
            .expect("list shards")
    };
    let id = |n: usize| -> ShardId { shards[n].id().clone() };
    let middle = shards[0].hash_key_range().midpoint();
    fleet
        .admin()
        .split_shard(&stream, &id(0), middle)
        .await
        .expect("split");
    fleet
        .admin()
        .merge_shards(&stream, &id(2), &id(3))
        .await
        .expect("merge");
    fleet.put(100..300).await;
    if fleet
        .wait_processed(Duration::from_secs(120))
        .await
        .is_none()
    {
        support::fail(
            &fleet,
            "records written after the resharding were not processed",
        );
    }
    // Finished leases are cleaned up once their children have checkpointed; the open ones
    // (shard 1, two children of the split, one of the merge) stay split between the kinds.
    let cleaned = watch
        .wait_for(fleet.take_interval() * 3 + Duration::from_secs(10), |l| {
            let by = leases::open_by_owner(l);
            let open: usize = by.values().sum();
            open == 4
                && by
                    .get("java")
                    .copied()
                    .unwrap_or(0)
                    .abs_diff(by.get("rust").copied().unwrap_or(0))
                    <= 1
        })
        .await;
    // The split's parent, whose children both received records and checkpointed, is deleted.
    let split_parent = id(0).to_string();
    let parent_deleted = watch
        .wait_for(fleet.take_interval() * 2 + Duration::from_secs(5), |l| {
            !l.is_empty() && l.iter().all(|l| l.lease_key.to_string() != split_parent)
        })
        .await;
    let finished: Vec<String> = watch
        .latest()
        .iter()
        .filter(|l| l.checkpoint.is_shard_end())
        .map(|l| format!("{} ({:?})", l.lease_key, l.lease_owner))
        .collect();
    let split = leases::open_by_owner(&watch.latest());
    fleet.stop_all();
    let entries = fleet.entries();
    let account = fleet.account();
    let (started, ended) = timeline(&entries);
    eprintln!(
        "[{label}] split {} and merge {}+{}: open leases {:?} before the stop, finished leases left {:?}; {}",
        id(0),
        id(2),
        id(3),
        split,
        finished,
        account.summary()
    );
    account.assert_sound();
    assert!(
        account.order_violations.is_empty(),
        "{:?}",
        account.order_violations
    );
    // Every child started after each of its parents ended.
    for shard in watch.latest() {
        let Some(child_started) = started.get(&shard.lease_key.to_string()) else {
            continue;
        };
        for parent in &shard.parent_shard_ids {
            let parent_ended = ended.get(&parent.to_string()).unwrap_or_else(|| {
                panic!(
                    "{} started but its parent {parent} never ended",
                    shard.lease_key
                )
            });
            assert!(
                child_started >= parent_ended,
                "{} started before its parent {parent} ended",
                shard.lease_key
            );
        }
    }
    assert!(
        parent_deleted.is_some(),
        "the finished lease of {split_parent} was not cleaned up"
    );
    assert!(
        cleaned.is_some(),
        "the four open leases were not split fairly: {:?}",
        leases::open_by_owner(&watch.latest())
    );
    fleet.delete_stream().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kcl2_and_rust_split_and_merge() {
    reshard("reshard-kcl2", Kcl::V2).await;
}
