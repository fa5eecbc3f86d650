//! Split and merge: lineage in ListShards, and reading a closed parent to its end.

mod support;

use futures_util::TryStreamExt;
use kinesis_client::{
    PartitionKey, PutRecordsEntry, Shard, StartingPosition, StreamMode, StreamName,
};
use kinesis_testkit::{Capability, TestEnv};

#[tokio::test]
async fn split_and_merge_record_their_lineage() {
    let env = TestEnv::start().await;
    let (client, admin) = support::clients(&env).await;
    let name: StreamName = env.unique_name("lineage").parse().unwrap();
    admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 1 })
        .await
        .unwrap();
    let list = || async {
        client
            .list_shards(&name, None)
            .try_collect::<Vec<Shard>>()
            .await
            .unwrap()
    };
    let parent = list().await.remove(0);
    client
        .put_record(
            &name,
            PutRecordsEntry::new("before split", PartitionKey::new("k").unwrap()),
        )
        .await
        .unwrap();

    let at = parent.hash_key_range().midpoint();
    admin.split_shard(&name, parent.id(), at).await.unwrap();
    let shards = list().await;
    assert_eq!(shards.len(), 3);
    let closed = shards.iter().find(|s| s.id() == parent.id()).unwrap();
    assert!(!closed.is_open());
    let children: Vec<&Shard> = shards.iter().filter(|s| s.id() != parent.id()).collect();
    assert_eq!(children.len(), 2);
    for c in &children {
        assert_eq!(c.parent_shard_id(), Some(parent.id()));
        assert!(c.is_open());
    }
    let (low, high) = parent.hash_key_range().split_at(at).unwrap();
    let mut ranges: Vec<_> = children.iter().map(|c| c.hash_key_range()).collect();
    ranges.sort_by_key(|r| r.start());
    assert_eq!(ranges, vec![low, high]);

    // The closed parent reads to its end: its record, then no next iterator.
    let mut it = client
        .get_shard_iterator(&name, parent.id(), StartingPosition::TrimHorizon)
        .await
        .unwrap();
    let mut payloads = Vec::new();
    let mut end = None;
    for _ in 0..10 {
        let mut out = client.get_records(&it, None).await.unwrap();
        payloads.extend(out.take_records().into_iter().map(|r| r.into_data()));
        match out.next_shard_iterator() {
            Some(next) => it = next.clone(),
            None => {
                end = Some(out);
                break;
            }
        }
    }
    let end = end.expect("a closed shard ends");
    assert!(end.is_shard_end());
    assert_eq!(payloads, ["before split"]);
    if env.supports(Capability::GetRecordsChildShards) {
        let mut reported: Vec<_> = end.child_shards().iter().map(|c| c.id().clone()).collect();
        reported.sort();
        let mut expected: Vec<_> = children.iter().map(|c| c.id().clone()).collect();
        expected.sort();
        assert_eq!(reported, expected);
    }

    // Merging the two children gives one shard with both as parents.
    let (a, b) = if children[0].hash_key_range().start() < children[1].hash_key_range().start() {
        (children[0], children[1])
    } else {
        (children[1], children[0])
    };
    admin.merge_shards(&name, a.id(), b.id()).await.unwrap();
    let shards = list().await;
    let merged: Vec<&Shard> = shards.iter().filter(|s| s.is_open()).collect();
    assert_eq!(merged.len(), 1);
    let mut parents: Vec<_> = merged[0].parents().cloned().collect();
    parents.sort();
    let mut expected = vec![a.id().clone(), b.id().clone()];
    expected.sort();
    assert_eq!(parents, expected);
    assert_eq!(merged[0].hash_key_range(), parent.hash_key_range());
}

#[tokio::test]
async fn a_uniform_reshard_keeps_lineage_where_the_backend_does() {
    let env = TestEnv::start().await;
    if !env.require(Capability::UpdateShardCountLineage) {
        return;
    }
    let (client, admin) = support::clients(&env).await;
    let name: StreamName = env.unique_name("uniform").parse().unwrap();
    admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 2 })
        .await
        .unwrap();
    admin.update_shard_count(&name, 4).await.unwrap();
    let shards: Vec<Shard> = client.list_shards(&name, None).try_collect().await.unwrap();
    let open: Vec<_> = shards.iter().filter(|s| s.is_open()).collect();
    assert_eq!(open.len(), 4);
    assert!(open.iter().all(|s| s.parent_shard_id().is_some()));
}
