//! The fault proxy in front of the embedded DynamoDB and Kinesis: errors reach the real SDK as
//! the service's errors, a timed-out request is never applied, a lost answer's request is,
//! and a partial PutRecords failure writes exactly the entries it reports written.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use kinesis_testkit::{Fault, FaultProxy, FaultRule, TestEnv};

const TABLE: &str = "counters";

/// An embedded environment, a proxy in front of its DynamoDB, a DynamoDB client through the
/// proxy, and a table `counters` (hash key `id`).
async fn dynamodb_behind_proxy() -> (TestEnv, FaultProxy, aws_sdk_dynamodb::Client) {
    let env = TestEnv::builder().embedded_only().start().await;
    let proxy = FaultProxy::start(env.dynamodb_endpoint()).unwrap();
    let config = aws_sdk_dynamodb::config::Builder::from(&env.sdk_config())
        .endpoint_url(proxy.endpoint())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    client
        .create_table()
        .table_name(TABLE)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    (env, proxy, client)
}

/// Adds 1 to the counter `id = "c"`.
async fn increment(
    client: &aws_sdk_dynamodb::Client,
) -> Result<
    (),
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError>,
> {
    client
        .update_item()
        .table_name(TABLE)
        .key("id", AttributeValue::S("c".into()))
        .update_expression("ADD n :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .map(|_| ())
}

/// The counter, read from the server directly (not through the proxy).
async fn counter(env: &TestEnv) -> u64 {
    let item = env
        .dynamodb_sdk()
        .get_item()
        .table_name(TABLE)
        .key("id", AttributeValue::S("c".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default();
    match item.get("n") {
        Some(AttributeValue::N(n)) => n.parse().unwrap(),
        _ => 0,
    }
}

#[tokio::test]
async fn a_dynamodb_throttle_reaches_the_sdk_and_the_write_is_not_applied() {
    let (env, proxy, client) = dynamodb_behind_proxy().await;
    let rule = proxy.faults().add(
        FaultRule::new(
            "UpdateItem",
            Fault::service_error(
                400,
                "ProvisionedThroughputExceededException",
                "injected throttle",
            ),
        )
        .times(1),
    );
    let err = increment(&client).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some("ProvisionedThroughputExceededException"),
        "{err:?}"
    );
    assert_eq!(rule.fired(), 1);
    assert_eq!(counter(&env).await, 0);
    increment(&client).await.unwrap();
    assert_eq!(counter(&env).await, 1);
    assert_eq!(proxy.faults().calls("UpdateItem"), 2);
}

#[tokio::test]
async fn a_lost_answer_is_an_error_to_the_client_but_the_write_was_applied() {
    let (env, proxy, client) = dynamodb_behind_proxy().await;
    proxy
        .faults()
        .add(FaultRule::new("UpdateItem", Fault::answer_lost()).times(1));
    let err = increment(&client).await.unwrap_err();
    assert!(
        matches!(
            err,
            aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)
                | aws_sdk_dynamodb::error::SdkError::ResponseError(_)
        ),
        "{err:?}"
    );
    // The ambiguous case: the client saw a failure, the server applied the write.
    assert_eq!(counter(&env).await, 1);
}

#[tokio::test]
async fn a_request_held_until_it_times_out_is_never_applied() {
    let (env, proxy, client) = dynamodb_behind_proxy().await;
    proxy
        .faults()
        .add(FaultRule::new("UpdateItem", Fault::timeout(Duration::from_millis(300))).times(1));
    assert!(increment(&client).await.is_err());
    assert_eq!(counter(&env).await, 0);
    increment(&client).await.unwrap();
    assert_eq!(counter(&env).await, 1);
}

#[tokio::test]
async fn a_partial_put_records_failure_writes_exactly_the_entries_reported_written() {
    let env = TestEnv::builder().embedded_only().start().await;
    let stream = env.unique_name("partial");
    env.create_stream(&stream, 2).await.unwrap();
    let proxy = FaultProxy::start(env.kinesis_endpoint()).unwrap();
    proxy.faults().seed(11);
    proxy.faults().add(
        FaultRule::new("PutRecords", Fault::partial_failure(0.3))
            .times(1)
            .after(0),
    );
    let config = aws_sdk_kinesis::config::Builder::from(&env.sdk_config())
        .endpoint_url(proxy.endpoint())
        .build();
    let kinesis = aws_sdk_kinesis::Client::from_conf(config);
    let entries: Vec<PutRecordsRequestEntry> = (0..100)
        .map(|n| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("k{n}"))
                .data(Blob::new(format!("r{n}")))
                .build()
                .unwrap()
        })
        .collect();
    let answer = kinesis
        .put_records()
        .stream_name(&stream)
        .set_records(Some(entries))
        .send()
        .await
        .unwrap();
    let results = answer.records();
    assert_eq!(results.len(), 100);
    let failed: BTreeSet<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.error_code().is_some())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(answer.failed_record_count(), Some(failed.len() as i32));
    assert!(
        (10..=50).contains(&failed.len()),
        "{} of 100 failed at a share of 0.3",
        failed.len()
    );
    for n in &failed {
        assert_eq!(
            results[*n].error_code(),
            Some("ProvisionedThroughputExceededException")
        );
    }

    // What the stream holds, read directly: the entries reported written, each once.
    let mut stored = BTreeSet::new();
    let shards = env
        .kinesis_sdk()
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    for shard in shards.shards() {
        let mut iterator = env
            .kinesis_sdk()
            .get_shard_iterator()
            .stream_name(&stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(it) = iterator.take() {
            let page = env
                .kinesis_sdk()
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .unwrap();
            for record in page.records() {
                let data = String::from_utf8(record.data().as_ref().to_vec()).unwrap();
                assert!(stored.insert(data.clone()), "{data} stored twice");
            }
            if !page.records().is_empty() {
                iterator = page.next_shard_iterator;
            }
        }
    }
    let written: BTreeSet<String> = (0..100)
        .filter(|n| !failed.contains(n))
        .map(|n| format!("r{n}"))
        .collect();
    assert_eq!(stored, written);
    // The successful entries' sequence numbers are the server's, in their places.
    for (n, result) in results.iter().enumerate() {
        assert_eq!(result.sequence_number().is_some(), !failed.contains(&n));
    }
}

#[tokio::test]
async fn a_proxy_refuses_an_upstream_it_cannot_speak_to() {
    let err = FaultProxy::start("https://127.0.0.1:1").unwrap_err();
    assert!(err.to_string().contains("http://host:port"), "{err}");
    let err = FaultProxy::start("not a url").unwrap_err();
    assert!(err.to_string().contains("not a URL"), "{err}");
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_bad_gateway_naming_it() {
    // A port just freed: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let upstream = format!("http://127.0.0.1:{port}");
    let proxy = FaultProxy::start(&upstream).unwrap();
    let env = TestEnv::builder().embedded_only().start().await;
    let config = aws_sdk_kinesis::config::Builder::from(&env.sdk_config())
        .endpoint_url(proxy.endpoint())
        .build();
    let err = aws_sdk_kinesis::Client::from_conf(config)
        .list_streams()
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().expect("an HTTP answer from the proxy");
    assert_eq!(raw.status().as_u16(), 502);
    let body = std::str::from_utf8(raw.body().bytes().unwrap()).unwrap();
    assert!(body.contains(&upstream), "{body}");
    proxy.stop();
    proxy.stop();
}
