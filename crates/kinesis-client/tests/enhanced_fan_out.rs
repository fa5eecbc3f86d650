//! Enhanced fan-out: registering a consumer and receiving records over SubscribeToShard.

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
