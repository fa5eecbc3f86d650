//! The environment's servers answer real SDK calls, whichever backend serves them.

#![allow(
    clippy::disallowed_methods,
    reason = "measures real calls to real servers"
)]

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use kinesis_testkit::{Service, TestEnv};

#[tokio::test]
async fn kinesis_stream_round_trips_records() {
    let env = TestEnv::start().await;
    let kinesis = env.kinesis_sdk();
    let stream = env.unique_name("round-trip");
    env.create_stream(&stream, 2).await.unwrap();

    for i in 0..10 {
        kinesis
            .put_record()
            .stream_name(&stream)
            .partition_key(format!("key-{i}"))
            .data(Blob::new(format!("record-{i}")))
            .send()
            .await
            .unwrap();
    }

    let shards = kinesis
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    assert_eq!(shards.shards().len(), 2);
    let mut data = Vec::new();
    for shard in shards.shards() {
        let iterator = kinesis
            .get_shard_iterator()
            .stream_name(&stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        let records = kinesis
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
            .unwrap();
        data.extend(
            records
                .records()
                .iter()
                .map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap()),
        );
    }
    data.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("record-{i}")).collect();
    expected.sort();
    assert_eq!(data, expected);
}

async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("leaseKey")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("leaseKey")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .table
            .and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "table {table} is still {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn dynamodb_table_stores_items() {
    let env = TestEnv::start().await;
    let dynamodb = env.dynamodb_sdk();
    let table = env.unique_name("leases");
    create_table(dynamodb, &table).await;

    dynamodb
        .put_item()
        .table_name(&table)
        .item("leaseKey", AttributeValue::S("shardId-000000000000".into()))
        .item("leaseCounter", AttributeValue::N("1".into()))
        .condition_expression("attribute_not_exists(leaseKey)")
        .send()
        .await
        .unwrap();
    let second = dynamodb
        .put_item()
        .table_name(&table)
        .item("leaseKey", AttributeValue::S("shardId-000000000000".into()))
        .condition_expression("attribute_not_exists(leaseKey)")
        .send()
        .await
        .unwrap_err();
    assert!(
        second
            .as_service_error()
            .is_some_and(|e| e.is_conditional_check_failed_exception()),
        "{second:?}"
    );

    let item = dynamodb
        .get_item()
        .table_name(&table)
        .key("leaseKey", AttributeValue::S("shardId-000000000000".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["leaseCounter"], AttributeValue::N("1".into()));
}

#[tokio::test]
async fn clients_built_from_sdk_config_reach_their_own_server() {
    let env = TestEnv::start().await;
    let config = env.sdk_config();
    assert_eq!(config.region().map(|r| r.as_ref()), Some(env.region()));

    // Each client reaches its own service: the Kinesis client sees the stream, the DynamoDB
    // client the table; a mix-up would fail with an unknown operation.
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let stream = env.unique_name("via-config");
    env.create_stream(&stream, 1).await.unwrap();
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    assert_eq!(
        summary.stream_description_summary().unwrap().stream_name(),
        stream
    );

    let table = env.unique_name("via-config");
    create_table(&dynamodb, &table).await;
    let described = dynamodb.describe_table().table_name(&table).send().await;
    assert_eq!(
        described.unwrap().table.unwrap().table_name.as_deref(),
        Some(table.as_str())
    );
}

#[tokio::test]
async fn embedded_servers_listen_on_loopback() {
    let env = TestEnv::builder().embedded_only().start().await;
    for service in [Service::Kinesis, Service::DynamoDb, Service::CloudWatch] {
        let backend = env.backend(service);
        assert!(backend.is_embedded(), "{service}: {backend}");
        assert!(
            env.endpoint(service).starts_with("http://127.0.0.1:"),
            "{service}: {}",
            env.endpoint(service)
        );
    }
    assert_eq!(env.backend(Service::Kinesis).name(), "ferrokinesis");
    assert_eq!(env.backend(Service::DynamoDb).name(), "dynoxide");
    assert_eq!(env.kinesis_endpoint(), env.endpoint(Service::Kinesis));
    assert_eq!(env.dynamodb_endpoint(), env.endpoint(Service::DynamoDb));
    assert_eq!(env.cloudwatch_endpoint(), env.endpoint(Service::CloudWatch));
    assert_eq!(env.access_key_id().len(), 12);

    // ferrokinesis takes the environment's account id and region, so ARNs look like AWS ones.
    let stream = env.unique_name("arn");
    env.create_stream(&stream, 1).await.unwrap();
    let summary = env
        .kinesis_sdk()
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    let arn = summary.stream_description_summary().unwrap().stream_arn();
    assert_eq!(
        arn,
        format!(
            "arn:aws:kinesis:{}:{}:stream/{stream}",
            env.region(),
            env.access_key_id()
        )
    );
}
