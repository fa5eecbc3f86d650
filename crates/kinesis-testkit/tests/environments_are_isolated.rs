//! Two environments never see each other's streams or tables.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use kinesis_testkit::{Capability, TestEnv, require_capability};

#[tokio::test]
async fn a_stream_created_in_one_environment_is_absent_from_another() {
    let first = TestEnv::start().await;
    let second = TestEnv::start().await;
    assert_ne!(first.access_key_id(), second.access_key_id());
    require_capability!(first, Capability::IsolatedStreams);

    let stream = first.unique_name("isolated");
    first.create_stream(&stream, 1).await.unwrap();

    let seen_by_first = first.kinesis_sdk().list_streams().send().await.unwrap();
    assert!(seen_by_first.stream_names().contains(&stream));
    let seen_by_second = second.kinesis_sdk().list_streams().send().await.unwrap();
    assert!(!seen_by_second.stream_names().contains(&stream));
    let err = second
        .kinesis_sdk()
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{err:?}"
    );
}

#[tokio::test]
async fn embedded_environments_have_separate_servers_and_tables() {
    let first = TestEnv::builder().embedded_only().start().await;
    let second = TestEnv::builder().embedded_only().start().await;
    assert_ne!(first.kinesis_endpoint(), second.kinesis_endpoint());
    assert_ne!(first.dynamodb_endpoint(), second.dynamodb_endpoint());
    assert_ne!(first.cloudwatch_endpoint(), second.cloudwatch_endpoint());

    // The same table name exists independently in both.
    let table = first.unique_name("same-name");
    for env in [&first, &second] {
        env.dynamodb_sdk()
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("k")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("k")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    // Faults of one environment do not touch the other.
    first
        .faults()
        .add(kinesis_testkit::FaultRule::any_operation(
            kinesis_testkit::Fault::internal_failure(),
        ));
    second.kinesis_sdk().list_streams().send().await.unwrap();
    assert!(first.kinesis_sdk().list_streams().send().await.is_err());
    assert_eq!(second.faults().calls("ListStreams"), 1);
    assert_eq!(first.faults().calls("ListStreams"), 1);
}
