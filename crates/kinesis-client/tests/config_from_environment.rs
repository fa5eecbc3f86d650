//! The standard endpoint variables point one binary at any backend.

mod support;

use aws_types::os_shim_internal::Env;
use kinesis_client::{ClientConfig, ErrorKind, StreamMode, StreamName};
use kinesis_testkit::TestEnv;

async fn config_from(vars: &[(&str, &str)]) -> Result<ClientConfig, kinesis_client::Error> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .env(Env::from_slice(vars))
        .load()
        .await;
    ClientConfig::builder().sdk_config(sdk).build().await
}

#[tokio::test]
async fn service_endpoint_variables_are_honoured() {
    let env = TestEnv::start().await;
    let config = config_from(&[
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", env.access_key_id()),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_KINESIS", env.kinesis_endpoint()),
    ])
    .await
    .unwrap();
    // The Kinesis variable wins over the general one: the call reaches the emulator.
    let admin = kinesis_client::AdminClient::new(&config);
    let name: StreamName = env.unique_name("fromenv").parse().unwrap();
    admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 1 })
        .await
        .unwrap();
    let listed = config.kinesis_sdk().list_streams().send().await.unwrap();
    assert!(listed.stream_names().iter().any(|n| n == name.as_str()));
}

#[tokio::test]
async fn the_general_endpoint_variable_applies_to_every_service() {
    let env = TestEnv::start().await;
    let config = config_from(&[
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_ENDPOINT_URL", env.dynamodb_endpoint()),
    ])
    .await
    .unwrap();
    // Reaching the emulator at all proves the endpoint was taken from the variable.
    config.dynamodb_sdk().list_tables().send().await.unwrap();
    assert_eq!(config.region(), Some("us-east-1"));
}

#[tokio::test]
async fn a_missing_region_is_a_configuration_error() {
    let err = config_from(&[
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "s"),
    ])
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[tokio::test]
async fn endpoints_must_be_urls() {
    let err = ClientConfig::builder()
        .region("us-east-1")
        .kinesis_endpoint("localhost:4568")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}
