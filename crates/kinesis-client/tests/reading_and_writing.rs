//! Writing and reading records, by name and by ARN, from every kind of iterator.

#![allow(clippy::disallowed_methods, reason = "waits on real servers")]

mod support;

use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use kinesis_client::{
    ClientConfig, ErrorKind, HashKey, PartitionKey, PutRecordsEntry, PutRecordsResultEntry,
    ShardFilter, StartingPosition, StreamId, StreamMode, StreamName,
};
use kinesis_testkit::{Capability, TestEnv};

fn entry(payload: &str, key: &str) -> PutRecordsEntry {
    PutRecordsEntry::new(payload.to_owned(), PartitionKey::new(key).unwrap())
}

async fn stream_with(
    env: &TestEnv,
    admin: &kinesis_client::AdminClient,
    prefix: &str,
    shards: u32,
) -> (StreamName, StreamId) {
    let name: StreamName = env.unique_name(prefix).parse().unwrap();
    let summary = admin
        .create_stream(
            &name,
            StreamMode::Provisioned {
                shard_count: shards,
            },
        )
        .await
        .unwrap();
    (name, StreamId::Arn(summary.arn.unwrap()))
}

#[tokio::test]
async fn records_round_trip_by_name_and_by_arn() {
    let env = TestEnv::start().await;
    let (client, admin) = support::clients(&env).await;
    let (name, arn) = stream_with(&env, &admin, "roundtrip", 1).await;
    let by_name = StreamId::from(&name);

    let first = client
        .put_record(&by_name, entry("one", "a"))
        .await
        .unwrap();
    let out = client
        .put_records(&arn, vec![entry("two", "b"), entry("three", "c")])
        .await
        .unwrap();
    assert_eq!(out.failed_count(), 0);
    let mut positions = vec![first];
    for e in out.into_entries() {
        match e {
            PutRecordsResultEntry::Stored(p) => positions.push(p),
            other => panic!("{other:?}"),
        }
    }
    // One shard: sequence numbers grow in write order.
    assert!(
        positions
            .windows(2)
            .all(|w| w[0].sequence_number < w[1].sequence_number)
    );

    let read_from = if env.supports(Capability::StreamArnAddressing) {
        &arn
    } else {
        &by_name
    };
    let records = support::read_all(
        &client,
        read_from,
        &positions[0].shard_id,
        StartingPosition::TrimHorizon,
    )
    .await;
    let payloads: Vec<&[u8]> = records.iter().map(|r| r.data().as_ref()).collect();
    assert_eq!(payloads, [b"one".as_ref(), b"two", b"three"]);
    assert_eq!(records[1].partition_key(), "b");
    assert_eq!(records[2].sequence_number(), &positions[2].sequence_number);
    assert!(records[0].approximate_arrival_timestamp().is_some());
}

#[tokio::test]
async fn every_iterator_type_starts_where_it_says() {
    let env = TestEnv::start().await;
    let (client, admin) = support::clients(&env).await;
    let (name, _) = stream_with(&env, &admin, "iterators", 1).await;
    let stream = StreamId::from(&name);

    let before: Vec<_> = ["a1", "a2"].iter().map(|p| entry(p, "k")).collect();
    let stored = client.put_records(&stream, before).await.unwrap();
    let shard = match &stored.entries()[0] {
        PutRecordsResultEntry::Stored(p) => p.shard_id.clone(),
        other => panic!("{other:?}"),
    };
    let latest = client
        .get_shard_iterator(&stream, &shard, StartingPosition::Latest)
        .await
        .unwrap();
    // Arrival times have one-second granularity on some backends: leave a clear gap.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let boundary = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after: Vec<_> = ["b1", "b2", "b3"].iter().map(|p| entry(p, "k")).collect();
    let stored_after = client.put_records(&stream, after).await.unwrap();
    let b1 = match &stored_after.entries()[0] {
        PutRecordsResultEntry::Stored(p) => p.sequence_number.clone(),
        other => panic!("{other:?}"),
    };

    let payloads = |records: Vec<kinesis_client::Record>| -> Vec<String> {
        records
            .iter()
            .map(|r| String::from_utf8(r.data().to_vec()).unwrap())
            .collect()
    };
    assert_eq!(
        payloads(support::read_all(&client, &stream, &shard, StartingPosition::TrimHorizon).await),
        ["a1", "a2", "b1", "b2", "b3"]
    );
    assert_eq!(
        payloads(
            support::read_all(
                &client,
                &stream,
                &shard,
                StartingPosition::AtTimestamp(boundary)
            )
            .await
        ),
        ["b1", "b2", "b3"]
    );
    assert_eq!(
        payloads(
            support::read_all(
                &client,
                &stream,
                &shard,
                StartingPosition::AtSequenceNumber(b1.clone())
            )
            .await
        ),
        ["b1", "b2", "b3"]
    );
    assert_eq!(
        payloads(
            support::read_all(
                &client,
                &stream,
                &shard,
                StartingPosition::AfterSequenceNumber(b1)
            )
            .await
        ),
        ["b2", "b3"]
    );
    // LATEST, taken before the second batch, sees only that batch.
    let out = client.get_records(&latest, None).await.unwrap();
    assert_eq!(payloads(out.records().to_vec()), ["b1", "b2", "b3"]);
}

#[tokio::test]
async fn explicit_hash_keys_route_to_the_owning_shard() {
    let env = TestEnv::start().await;
    let (client, admin) = support::clients(&env).await;
    let (name, _) = stream_with(&env, &admin, "routing", 2).await;
    let shards: Vec<_> = client.list_shards(&name, None).try_collect().await.unwrap();
    assert_eq!(shards.len(), 2);
    for shard in &shards {
        let key = shard.hash_key_range().end();
        let p = client
            .put_record(&name, entry("x", "any").with_explicit_hash_key(key))
            .await
            .unwrap();
        assert_eq!(&p.shard_id, shard.id());
    }
    assert!(
        shards
            .iter()
            .any(|s| s.hash_key_range().contains(HashKey::MIN))
    );
    assert!(
        shards
            .iter()
            .any(|s| s.hash_key_range().contains(HashKey::MAX))
    );
}

#[tokio::test]
async fn list_shards_follows_pages() {
    let env = TestEnv::start().await;
    if !env.require(Capability::ListShardsPagination) {
        return;
    }
    let (client, admin) = support::clients(&env).await;
    let (name, _) = stream_with(&env, &admin, "pages", 5).await;
    let shards: Vec<_> = client
        .list_shards_paged(&name, None, Some(2))
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<_> = shards.iter().map(|s| s.id().clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    if env.supports(Capability::FaultInjection) {
        assert!(env.faults().calls("ListShards") >= 3);
    }
}

#[tokio::test]
async fn list_shards_filters_closed_shards() {
    let env = TestEnv::start().await;
    if !env.require(Capability::ListShardsFilter) {
        return;
    }
    let (client, admin) = support::clients(&env).await;
    let (name, _) = stream_with(&env, &admin, "filter", 1).await;
    let parent = client
        .list_shards(&name, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()[0]
        .clone();
    admin
        .split_shard(&name, parent.id(), parent.hash_key_range().midpoint())
        .await
        .unwrap();
    let open: Vec<_> = client
        .list_shards(&name, Some(ShardFilter::AtLatest))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|s| s.is_open() && s.id() != parent.id()));
}

#[tokio::test]
async fn a_missing_stream_is_a_typed_not_found() {
    let env = TestEnv::start().await;
    let (client, _admin) = support::clients(&env).await;
    let missing: StreamId = env.unique_name("missing").parse().unwrap();
    let e = client.describe_stream_summary(&missing).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e:?}");
    let e = client
        .put_record(&missing, entry("x", "k"))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let e = client
        .get_shard_iterator(
            &missing,
            &"shardId-000000000000".parse().unwrap(),
            StartingPosition::Latest,
        )
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let e = client
        .list_shards(&missing, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn oversized_and_malformed_writes_are_refused_before_sending() {
    let env = TestEnv::start().await;
    let (client, admin) = support::clients(&env).await;
    let (name, _) = stream_with(&env, &admin, "oversized", 1).await;
    let stream = StreamId::from(&name);
    let key = PartitionKey::new("k").unwrap();

    let too_big = PutRecordsEntry::new(vec![0u8; (1 << 20) - 1 + 1], key.clone());
    let just_fits = PutRecordsEntry::new(vec![0u8; (1 << 20) - 1], key.clone());
    let refusals = [
        client
            .put_record(&stream, too_big.clone())
            .await
            .unwrap_err(),
        client
            .put_records(&stream, vec![too_big])
            .await
            .unwrap_err(),
        client.put_records(&stream, vec![]).await.unwrap_err(),
        client
            .put_records(&stream, vec![entry("x", "k"); 501])
            .await
            .unwrap_err(),
        client
            .put_records(&stream, vec![just_fits.clone(); 6])
            .await
            .unwrap_err(),
    ];
    for e in &refusals {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    }
    if env.supports(Capability::FaultInjection) {
        assert_eq!(env.faults().calls("PutRecord"), 0);
        assert_eq!(env.faults().calls("PutRecords"), 0);
    }
    // The largest allowed record goes through.
    client.put_record(&stream, just_fits).await.unwrap();

    assert!(PartitionKey::new("").is_err());
    assert!(PartitionKey::new("k".repeat(257)).is_err());
    assert!("12x".parse::<HashKey>().is_err());
    assert!("bad name!".parse::<StreamId>().is_err());
}

#[tokio::test]
async fn nothing_is_sent_for_a_refused_record() {
    // An endpoint where nothing listens: a send would fail with a transient connection error,
    // so an InvalidInput error proves the record was refused before sending.
    let config = ClientConfig::builder()
        .region("us-east-1")
        .static_credentials("AKIDTEST", "secret")
        .endpoint_url("http://127.0.0.1:9")
        .build()
        .await
        .unwrap();
    let client = kinesis_client::Client::new(&config);
    let stream: StreamId = "s".parse().unwrap();
    let e = client
        .put_record(
            &stream,
            PutRecordsEntry::new(vec![0u8; 2 << 20], PartitionKey::new("k").unwrap()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}
