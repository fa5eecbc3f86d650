//! Real SDK error paths, from faults injected into the embedded emulator.

mod support;

use std::time::Duration;

use kinesis_client::{ErrorKind, PartitionKey, PutRecordsEntry, StreamMode, StreamName};
use kinesis_testkit::{Capability, Fault, FaultRule, TestEnv};

async fn setup(env: &TestEnv) -> (kinesis_client::Client, StreamName) {
    let (client, admin) = support::clients(env).await;
    let name: StreamName = env.unique_name("faults").parse().unwrap();
    admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 1 })
        .await
        .unwrap();
    (client, name)
}

fn entry() -> PutRecordsEntry {
    PutRecordsEntry::new("x", PartitionKey::new("k").unwrap())
}

#[tokio::test]
async fn throttled_twice_then_stored() {
    let env = TestEnv::start().await;
    if !env.require(Capability::FaultInjection) {
        return;
    }
    let (client, name) = setup(&env).await;
    env.faults()
        .add(FaultRule::new("PutRecord", Fault::throttle()).times(2));
    client.put_record(&name, entry()).await.unwrap();
    assert_eq!(env.faults().calls("PutRecord"), 3);
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried() {
    let env = TestEnv::start().await;
    if !env.require(Capability::FaultInjection) {
        return;
    }
    let (client, name) = setup(&env).await;
    env.faults()
        .add(FaultRule::new("PutRecord", Fault::service_unavailable()).times(1));
    env.faults()
        .add(FaultRule::new("PutRecord", Fault::drop_connection()).times(1));
    client.put_record(&name, entry()).await.unwrap();
    assert_eq!(env.faults().calls("PutRecord"), 3);
}

#[tokio::test]
async fn a_persistent_fault_surfaces_typed_after_the_attempts() {
    let env = TestEnv::start().await;
    if !env.require(Capability::FaultInjection) {
        return;
    }
    let (_, name) = setup(&env).await;
    let config = kinesis_client::ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .retry(
            kinesis_client::RetryConfig::default()
                .with_max_attempts(3)
                .with_throttling_backoff(Duration::from_millis(10)),
        )
        .build()
        .await
        .unwrap();
    let client = kinesis_client::Client::new(&config);
    env.faults()
        .add(FaultRule::new("PutRecord", Fault::throttle()).always());
    let err = client.put_record(&name, entry()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.code(), Some("ProvisionedThroughputExceededException"));
    assert!(
        std::error::Error::source(&err).is_some(),
        "the SDK error stays behind source()"
    );
    assert_eq!(env.faults().calls("PutRecord"), 3);
}
