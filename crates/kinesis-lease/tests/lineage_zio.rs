//! zio-kinesis's `LeaseCoordinatorTest` (initialCheckpointForShard, shardsReadyToConsume), case
//! by case, plus the KCL-specific rules of this crate's lineage.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use kinesis_client::{HashKey, HashKeyRange, ShardId};
use kinesis_kcl_compat::lease::{Lease, LeaseKey};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::lineage::{
    InitialPosition, ShardInfo, initial_checkpoint_for_shard, new_lease_for_shard,
    shards_ready_to_consume,
};

fn id(s: &str) -> ShardId {
    s.parse().unwrap()
}

fn zero_range() -> HashKeyRange {
    HashKeyRange::new(HashKey(0), HashKey(0)).unwrap()
}

fn shard1() -> ShardInfo {
    ShardInfo::new(id("001")).with_hash_key_range(zero_range())
}

fn shard2() -> ShardInfo {
    ShardInfo::new(id("002")).with_hash_key_range(zero_range())
}

/// A merge of 001 and 002.
fn shard3() -> ShardInfo {
    ShardInfo::new(id("003"))
        .with_parent(id("001"))
        .with_parent(id("002"))
        .with_hash_key_range(zero_range())
}

fn lease(key: &str, checkpoint: Checkpoint) -> Lease {
    let mut l = Lease::new(key.parse::<LeaseKey>().unwrap(), checkpoint);
    l.lease_owner = Some("worker1".to_owned());
    l.lease_counter = 1;
    l
}

fn open_lease(key: &str) -> Lease {
    lease(
        key,
        ExtendedSequenceNumber::new("1".parse().unwrap(), 0).into(),
    )
}

fn ended_lease(key: &str) -> Lease {
    lease(key, Checkpoint::SHARD_END)
}

fn ready(shards: &[ShardInfo], leases: &[Lease]) -> BTreeSet<String> {
    shards_ready_to_consume(shards, leases)
        .into_iter()
        .map(|s| s.id.as_str().to_owned())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

// initialCheckpointForShard

#[test]
fn initial_checkpoint_latest_for_shard_without_parents() {
    let c = initial_checkpoint_for_shard(&shard1(), &InitialPosition::Latest, &[]);
    assert_eq!(c, Checkpoint::LATEST);
}

#[test]
fn initial_checkpoint_latest_for_shard_with_parents_without_lease() {
    let c = initial_checkpoint_for_shard(&shard3(), &InitialPosition::Latest, &[]);
    assert_eq!(c, Checkpoint::LATEST);
}

#[test]
fn initial_checkpoint_latest_for_shard_with_parents_with_open_leases() {
    let leases = [open_lease("001")];
    let c = initial_checkpoint_for_shard(&shard3(), &InitialPosition::Latest, &leases);
    assert_eq!(c, Checkpoint::TRIM_HORIZON);
}

#[test]
fn initial_checkpoint_latest_for_shard_with_parents_with_ended_leases() {
    let leases = [ended_lease("001")];
    let c = initial_checkpoint_for_shard(&shard3(), &InitialPosition::Latest, &leases);
    assert_eq!(c, Checkpoint::TRIM_HORIZON);
}

#[test]
fn initial_checkpoint_trim_horizon_and_at_timestamp_ignore_lineage() {
    let leases = [open_lease("001")];
    let at = InitialPosition::AtTimestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(1));
    for shard in [shard1(), shard3()] {
        for leases in [&leases[..], &[]] {
            assert_eq!(
                initial_checkpoint_for_shard(&shard, &InitialPosition::TrimHorizon, leases),
                Checkpoint::TRIM_HORIZON
            );
            assert_eq!(
                initial_checkpoint_for_shard(&shard, &at, leases),
                Checkpoint::AT_TIMESTAMP
            );
        }
    }
}

#[test]
fn initial_checkpoint_latest_ignores_leases_of_unrelated_shards() {
    let leases = [open_lease("002"), ended_lease("009")];
    let child_of_001 = ShardInfo::new(id("004")).with_parent(id("001"));
    let c = initial_checkpoint_for_shard(&child_of_001, &InitialPosition::Latest, &leases);
    assert_eq!(c, Checkpoint::LATEST);
}

// shardsReadyToConsume

#[test]
fn shards_without_parents_and_no_leases_ready_to_consume() {
    assert_eq!(ready(&[shard1(), shard2()], &[]), set(&["001", "002"]));
}

#[test]
fn shards_without_parents_and_open_leases_ready_to_consume() {
    let leases = [open_lease("001"), open_lease("002")];
    assert_eq!(ready(&[shard1(), shard2()], &leases), set(&["001", "002"]));
}

#[test]
fn shards_without_parents_and_ended_leases_not_ready_to_consume() {
    let leases = [ended_lease("001"), ended_lease("002")];
    assert_eq!(ready(&[shard1(), shard2()], &leases), set(&[]));
}

#[test]
fn shards_with_open_parents_but_no_leases_not_ready_to_consume() {
    let r = ready(&[shard1(), shard2(), shard3()], &[]);
    assert!(!r.contains("003"));
    assert_eq!(r, set(&["001", "002"]));
}

#[test]
fn shards_with_expired_parents_ready_to_consume() {
    assert!(ready(&[shard3()], &[]).contains("003"));
}

#[test]
fn shards_with_open_parents_and_open_leases_not_ready_to_consume() {
    let leases = [open_lease("001"), open_lease("002")];
    let r = ready(&[shard1(), shard2(), shard3()], &leases);
    assert!(!r.contains("003"));
}

#[test]
fn shards_with_two_parents_of_which_one_has_expired_not_ready_to_consume() {
    assert!(!ready(&[shard2(), shard3()], &[]).contains("003"));
}

// Beyond zio-kinesis's cases.

#[test]
fn child_is_ready_once_every_parent_lease_is_at_shard_end() {
    let shards = [shard1(), shard2(), shard3()];
    let leases = [ended_lease("001"), open_lease("002")];
    assert_eq!(ready(&shards, &leases), set(&["002"]));
    let leases = [ended_lease("001"), ended_lease("002")];
    assert_eq!(ready(&shards, &leases), set(&["003"]));
}

#[test]
fn unlisted_parent_with_an_unfinished_lease_holds_the_child_back() {
    // zio-kinesis would call 003 ready (no parent listed); the KCL blocks on the parent lease.
    let leases = [open_lease("001")];
    assert_eq!(ready(&[shard3()], &leases), set(&[]));
    let leases = [ended_lease("001")];
    assert_eq!(ready(&[shard3()], &leases), set(&["003"]));
}

#[test]
fn ready_shards_keep_the_given_order() {
    let shards = [shard2(), shard1()];
    let r: Vec<&str> = shards_ready_to_consume(&shards, &[])
        .into_iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(r, ["002", "001"]);
}

#[test]
fn multi_stream_leases_match_by_shard_id() {
    let mut parent = ended_lease("001");
    parent.lease_key = "123:orders:1700000000:001".parse().unwrap();
    // 001 is finished (so not ready itself), which frees its child; 002 is gone.
    assert_eq!(ready(&[shard1(), shard3()], &[parent]), set(&["003"]));
}

// newLeaseForShard

#[test]
fn new_lease_records_parents_and_hash_keys() {
    let range = HashKeyRange::new(HashKey(10), HashKey(20)).unwrap();
    let shard = shard3().with_hash_key_range(range);
    let lease = new_lease_for_shard(&shard, Checkpoint::TRIM_HORIZON);
    assert_eq!(lease.lease_key, "003".parse::<LeaseKey>().unwrap());
    assert_eq!(lease.lease_owner, None);
    assert_eq!(lease.lease_counter, 0);
    assert_eq!(lease.checkpoint, Checkpoint::TRIM_HORIZON);
    assert_eq!(
        lease.parent_shard_ids,
        [id("001"), id("002")].into_iter().collect()
    );
    assert_eq!(lease.hash_key_range, Some(range));

    let item = lease.to_item();
    assert_eq!(item["startingHashKey"].as_s().unwrap(), "10");
    assert_eq!(item["endingHashKey"].as_s().unwrap(), "20");
    assert_eq!(item["parentShardId"].as_ss().unwrap().len(), 2);
}

#[test]
fn new_lease_of_a_root_shard_has_no_parents() {
    let lease = new_lease_for_shard(&ShardInfo::new(id("001")), Checkpoint::LATEST);
    assert!(lease.parent_shard_ids.is_empty());
    assert_eq!(lease.hash_key_range, None);
    assert!(!lease.to_item().contains_key("parentShardId"));
}
