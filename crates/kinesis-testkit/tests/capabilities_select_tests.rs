//! Capabilities describe the backend in use, and let a test skip where one is missing.

use kinesis_testkit::{Backend, Capability, Service, TestEnv, require_capability};

#[tokio::test]
async fn the_embedded_kinesis_has_ferrokinesis_capabilities() {
    let env = TestEnv::builder().embedded_only().start().await;
    assert_eq!(
        env.backend(Service::Kinesis),
        &Backend::Embedded {
            name: "ferrokinesis"
        }
    );
    for capability in [
        Capability::IsolatedStreams,
        Capability::EnhancedFanOut,
        Capability::EfoShardEnd,
        Capability::EfoInitialResponse,
        Capability::ConfigurableEfoSession,
        Capability::ConfigurableIteratorTtl,
        Capability::FaultInjection,
        Capability::InvalidIteratorIs4xx,
        Capability::DynamoDbTransactions,
        Capability::MetricCapture,
    ] {
        assert!(env.supports(capability), "{capability}");
    }
    for capability in [
        Capability::GetRecordsChildShards,
        Capability::UpdateShardCountLineage,
        Capability::ListShardsFilter,
        Capability::ListShardsPagination,
        Capability::StreamArnAddressing,
        Capability::MillisBehindLatest,
        Capability::SubSecondAtTimestamp,
        Capability::AtTimestampAfterTipIsLatest,
        Capability::DuplicateSubscriptionRejected,
        Capability::EfoStartingPosition,
        Capability::WriteThrottling,
        Capability::ReadThrottling,
        Capability::DynamoDbContinuousBackups,
    ] {
        assert!(!env.supports(capability), "{capability}");
    }
}

#[tokio::test]
async fn write_throttling_is_a_capability_once_limits_are_enforced() {
    let env = TestEnv::builder()
        .embedded_only()
        .enforce_limits(true)
        .start()
        .await;
    assert!(env.supports(Capability::WriteThrottling));
    assert!(env.require(Capability::WriteThrottling));
}

async fn body_after_requirement(env: &TestEnv, capability: Capability) -> bool {
    require_capability!(env, capability, false);
    true
}

#[tokio::test]
async fn require_capability_returns_early_when_missing() {
    let env = TestEnv::builder().embedded_only().start().await;
    assert!(!body_after_requirement(&env, Capability::GetRecordsChildShards).await);
    assert!(body_after_requirement(&env, Capability::EfoShardEnd).await);
}

#[tokio::test]
async fn require_capability_in_a_unit_test_body() {
    let env = TestEnv::builder().embedded_only().start().await;
    require_capability!(env, Capability::ListShardsPagination);
    unreachable!("ferrokinesis lacks ListShards pagination, so the macro returned");
}

/// Each capability the embedded backend claims is observable on the wire.
#[tokio::test]
async fn claimed_capabilities_hold_on_the_wire() {
    use aws_sdk_kinesis::error::ProvideErrorMetadata;
    use std::time::Duration;

    let env = TestEnv::builder()
        .embedded_only()
        .iterator_ttl(Duration::from_secs(1))
        .start()
        .await;
    let kinesis = env.kinesis_sdk();
    let stream = env.unique_name("caps");
    env.create_stream(&stream, 1).await.unwrap();

    // InvalidIteratorIs4xx
    assert!(env.supports(Capability::InvalidIteratorIs4xx));
    let err = kinesis
        .get_records()
        .shard_iterator("bogus")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    assert_eq!(err.code(), Some("InvalidArgumentException"));

    // ConfigurableIteratorTtl: an iterator older than the configured 1 s has expired.
    let shard_id = kinesis
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_owned();
    let iterator = kinesis
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(shard_id)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let err = kinesis
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_expired_iterator_exception()),
        "{err:?}"
    );
}
