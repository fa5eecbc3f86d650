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

/// A self-signed CA certificate (P-256, valid until 2126) for the trust tests below.
const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBrjCCAVWgAwIBAgIUAJqVbsMypwMmFxtOjycBNqutW5gwCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZa2luZXNpcy1ycy1jb25maWctdGVzdC1DQTAgFw0yNjExMjcx
MzQ1NTFaGA8yMTI2MTEwMzEzNDU1MVowJDEiMCAGA1UEAwwZa2luZXNpcy1ycy1j
b25maWctdGVzdC1DQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD5GhDMXtHde
j+HkqCsYEuWnFw6g8baLz1z4hJT4B80ZzHZlo5jI9v8RAdepRra0FuP3/gQQ17NY
f70SD0EwrpGjYzBhMB0GA1UdDgQWBBT8RToLF2bnOUmZU1GvrI4pl0j3KzAfBgNV
HSMEGDAWgBT8RToLF2bnOUmZU1GvrI4pl0j3KzAPBgNVHRMBAf8EBTADAQH/MA4G
A1UdDwEB/wQEAwICBDAKBggqhkjOPQQDAgNHADBEAiBvu8bTGSGQF4zhTF26vOZr
w7o1CPV6QcPmWINzfLwQPwIgBxU0J8NyweGoUjBAJCR3IYWKB5DJxrdIWVHgE4Fz
UjI=
-----END CERTIFICATE-----
";

#[tokio::test]
async fn a_trusted_ca_must_be_a_pem_certificate() {
    let with_ca = |pem: &str| {
        ClientConfig::builder()
            .region("us-east-1")
            .static_credentials("AKIDTEST", "secret")
            .trust_ca_pem(pem)
            .build()
    };
    // Checked when the configuration is built, not at the first connection.
    for bad in [
        "",
        "not PEM at all",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMIIBrjCCAVWg\n",
    ] {
        let err = with_ca(bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{bad:?}: {err}");
    }
    let config = with_ca(TEST_CA_PEM).await.unwrap();
    assert!(config.sdk_config().http_client().is_some());
}

#[tokio::test]
async fn a_trusted_ca_keeps_plain_http_endpoints_working() {
    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .kinesis_endpoint(env.kinesis_endpoint())
        .trust_ca_pem(TEST_CA_PEM)
        .build()
        .await
        .unwrap();
    config.kinesis_sdk().list_streams().send().await.unwrap();
}

#[tokio::test]
async fn the_per_service_endpoints_of_an_sdk_config_are_honoured() {
    // The test kit's servers listen on ports of their own, named only per service in its
    // SdkConfig (`service_config`): calls that reach them used those endpoints.
    let env = TestEnv::start().await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let name = env.unique_name("endpoints");
    let admin = kinesis_client::AdminClient::new(&config);
    admin
        .create_stream(
            &name.parse().unwrap(),
            kinesis_client::StreamMode::Provisioned { shard_count: 1 },
        )
        .await
        .unwrap();
    config
        .dynamodb_sdk()
        .list_tables()
        .send()
        .await
        .expect("DynamoDB reached at the test kit's endpoint");
}
