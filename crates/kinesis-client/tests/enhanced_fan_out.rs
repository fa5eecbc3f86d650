//! Enhanced fan-out: registering a consumer and receiving records over SubscribeToShard.

#![allow(clippy::disallowed_methods, reason = "waits on real servers")]

mod support;

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use kinesis_client::{
    ConsumerStatus, ErrorKind, PartitionKey, PutRecordsEntry, StartingPosition, StreamMode,
    StreamName,
};
use kinesis_testkit::{Capability, TestEnv};

#[tokio::test]
async fn a_subscription_receives_records() {
    let env = TestEnv::start().await;
    if !env.require(Capability::EnhancedFanOut) {
        return;
    }
    let (client, admin) = support::clients(&env).await;
    let name: StreamName = env.unique_name("efo").parse().unwrap();
    admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 1 })
        .await
        .unwrap();
    let shard = client
        .list_shards(&name, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()[0]
        .id()
        .clone();
    let entries: Vec<_> = (0..10)
        .map(|i| PutRecordsEntry::new(format!("r{i}"), PartitionKey::new("k").unwrap()))
        .collect();
    client.put_records(&name, entries).await.unwrap();

    let consumer = admin
        .register_stream_consumer(&name, "reader")
        .await
        .unwrap();
    assert_eq!(consumer.status, ConsumerStatus::Active);
    let listed: Vec<_> = admin
        .list_stream_consumers(&name)
        .try_collect()
        .await
        .unwrap();
    assert!(listed.iter().any(|c| c.arn == consumer.arn));
    let by_name = admin
        .describe_stream_consumer_by_name(&name, "reader")
        .await
        .unwrap();
    assert_eq!(by_name.arn, consumer.arn);

    let mut events = client
        .subscribe_to_shard(&consumer.arn, &shard, StartingPosition::TrimHorizon)
        .await
        .unwrap();
    assert_eq!(events.shard_id(), &shard);
    let mut payloads = Vec::new();
    let received = tokio::time::timeout(Duration::from_secs(20), async {
        while payloads.len() < 10 {
            let mut event = events.next().await.expect("subscription open").unwrap();
            assert!(event.continuation_sequence_number().is_some());
            payloads.extend(event.take_records().into_iter().map(|r| r.into_data()));
        }
    })
    .await;
    assert!(received.is_ok(), "got {} of 10 records", payloads.len());
    let expected: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    assert_eq!(payloads, expected);
    drop(events);

    admin
        .deregister_stream_consumer(&consumer.arn)
        .await
        .unwrap();
    let gone = admin
        .describe_stream_consumer(&consumer.arn)
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
}

/// Payloads of a subscription's records until `n` arrived (at most 30 s).
async fn first_payloads(
    client: &kinesis_client::Client,
    consumer: &kinesis_client::ConsumerArn,
    shard: &kinesis_client::ShardId,
    position: StartingPosition,
    n: usize,
) -> Vec<String> {
    let mut events = client
        .subscribe_to_shard(consumer, shard, position.clone())
        .await
        .unwrap();
    let mut payloads = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while payloads.len() < n {
            let mut event = events.next().await.expect("subscription open").unwrap();
            payloads.extend(
                event
                    .take_records()
                    .into_iter()
                    .map(|r| String::from_utf8(r.into_data().to_vec()).unwrap()),
            );
        }
    })
    .await;
    assert!(read.is_ok(), "{position:?}: got {payloads:?}");
    payloads
}

#[tokio::test]
async fn a_subscription_starts_where_its_position_says() {
    let env = TestEnv::start().await;
    if !env.require(Capability::EfoStartingPosition) {
        return;
    }
    let (client, admin) = support::clients(&env).await;
    let name: StreamName = env.unique_name("efo-position").parse().unwrap();
    admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 1 })
        .await
        .unwrap();
    let put = |prefix: &'static str| {
        let (client, name) = (client.clone(), name.clone());
        async move {
            let entries: Vec<_> = (0..3)
                .map(|i| {
                    PutRecordsEntry::new(format!("{prefix}{i}"), PartitionKey::new("k").unwrap())
                })
                .collect();
            client.put_records(&name, entries).await.unwrap()
        }
    };
    let old = put("old").await;
    // Arrival times may have whole-second precision: a clear gap on both sides.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let boundary = std::time::SystemTime::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    put("new").await;
    let (shard, old1) = match &old.entries()[1] {
        kinesis_client::PutRecordsResultEntry::Stored(p) => {
            (p.shard_id.clone(), p.sequence_number.clone())
        }
        other => panic!("{other:?}"),
    };
    for (i, (position, expected)) in [
        (
            StartingPosition::AtSequenceNumber(old1.clone()),
            ["old1", "old2", "new0", "new1", "new2"].as_slice(),
        ),
        (
            StartingPosition::AfterSequenceNumber(old1),
            ["old2", "new0", "new1", "new2"].as_slice(),
        ),
        (
            StartingPosition::AtTimestamp(boundary),
            ["new0", "new1", "new2"].as_slice(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        // A consumer for each: a shard's subscription stays in use for a while after it is
        // dropped.
        let consumer = admin
            .register_stream_consumer(&name, &format!("positions-{i}"))
            .await
            .unwrap();
        let payloads = first_payloads(
            &client,
            &consumer.arn,
            &shard,
            position.clone(),
            expected.len(),
        )
        .await;
        assert_eq!(payloads, expected, "{position:?}");
    }
}

#[tokio::test]
async fn a_second_subscription_to_a_shard_is_resource_in_use() {
    let env = TestEnv::start().await;
    if !env.require(Capability::DuplicateSubscriptionRejected) {
        return;
    }
    let (client, admin) = support::clients(&env).await;
    let name: StreamName = env.unique_name("efo-twice").parse().unwrap();
    admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 1 })
        .await
        .unwrap();
    let shard = client
        .list_shards(&name, None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()[0]
        .id()
        .clone();
    let consumer = admin
        .register_stream_consumer(&name, "twice")
        .await
        .unwrap();
    let mut first = client
        .subscribe_to_shard(&consumer.arn, &shard, StartingPosition::TrimHorizon)
        .await
        .unwrap();
    first.next().await.expect("an event").unwrap();

    // AWS refuses the call itself; kinesis-local sends the exception inside the event stream.
    // Either way it is classified as ResourceInUse (what a consumer waits out).
    let refused = match client
        .subscribe_to_shard(&consumer.arn, &shard, StartingPosition::TrimHorizon)
        .await
    {
        Err(e) => e,
        Ok(mut second) => tokio::time::timeout(Duration::from_secs(30), second.next())
            .await
            .expect("the second subscription answers")
            .expect("an item")
            .unwrap_err(),
    };
    assert_eq!(refused.kind(), ErrorKind::ResourceInUse, "{refused}");
    assert_eq!(refused.code(), Some("ResourceInUseException"));
    drop(first);
}
