//! Which finished leases the cleanup deletes (`lineage::finished_leases_to_delete`, the KCL's
//! `LeaseCleanupManager` rules): only once every child has a lease that checkpointed past its
//! start, and only once the lease's own parents' leases are gone.

use kinesis_client::ShardId;
use kinesis_kcl_compat::lease::Lease;
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::lineage::{ShardInfo, finished_leases_to_delete, new_lease_for_shard};

fn id(n: u32) -> ShardId {
    format!("shardId-{n:012}").parse().unwrap()
}

/// The lease of shard `n` (with `parents`) at `checkpoint`.
fn lease(n: u32, parents: &[u32], checkpoint: Checkpoint) -> Lease {
    let shard = parents
        .iter()
        .fold(ShardInfo::new(id(n)), |s, p| s.with_parent(id(*p)));
    new_lease_for_shard(&shard, checkpoint)
}

fn started() -> Checkpoint {
    "49590338271490256608559692538361571095921575989136588898"
        .parse()
        .unwrap()
}

/// The shard numbers of the leases to delete.
fn deleted(leases: &[Lease], shards: &[ShardInfo]) -> Vec<String> {
    finished_leases_to_delete(leases, shards)
        .into_iter()
        .map(|l| l.shard_id().to_string())
        .collect()
}

#[test]
fn a_finished_lease_goes_once_every_child_checkpointed_past_its_start() {
    // 0 split into 1 and 2; the children come from the row's childShardIds.
    let mut parent = lease(0, &[], Checkpoint::SHARD_END);
    parent.child_shard_ids = [id(1), id(2)].into();
    let none: [ShardInfo; 0] = [];
    let one = lease(1, &[0], started());
    let two = lease(2, &[0], Checkpoint::TRIM_HORIZON);
    assert!(deleted(&[parent.clone(), one.clone(), two], &none).is_empty());
    assert!(
        deleted(&[parent.clone(), one.clone()], &none).is_empty(),
        "a child without a lease"
    );
    let two = lease(2, &[0], started());
    assert_eq!(deleted(&[parent, one, two], &none), [id(0).to_string()]);
}

#[test]
fn a_finished_lease_waits_for_its_own_parents_leases_to_go() {
    // 0 split into 1 and 2, then 1 split into 3 and 4: 0 and 1 are finished, and every child
    // started. 1 goes only after 0's lease is gone (0's cleanup needs 1's lease to see that
    // its children started).
    let zero = lease(0, &[], Checkpoint::SHARD_END);
    let one = lease(1, &[0], Checkpoint::SHARD_END);
    let (two, three, four) = (
        lease(2, &[0], started()),
        lease(3, &[1], started()),
        lease(4, &[1], started()),
    );
    let shards: Vec<ShardInfo> = [
        (0, vec![]),
        (1, vec![0]),
        (2, vec![0]),
        (3, vec![1]),
        (4, vec![1]),
    ]
    .into_iter()
    .map(|(n, parents): (u32, Vec<u32>)| {
        parents
            .into_iter()
            .fold(ShardInfo::new(id(n)), |s, p| s.with_parent(id(p)))
    })
    .collect();
    let all = [zero, one.clone(), two.clone(), three.clone(), four.clone()];
    // The children are read from the shard list (the rows name none).
    assert_eq!(deleted(&all, &shards), [id(0).to_string()]);
    assert_eq!(
        deleted(&[one, two, three, four], &shards),
        [id(1).to_string()]
    );
}

#[test]
fn a_finished_lease_whose_children_are_unknown_is_kept() {
    let none: [ShardInfo; 0] = [];
    assert!(deleted(&[lease(0, &[], Checkpoint::SHARD_END)], &none).is_empty());
}
