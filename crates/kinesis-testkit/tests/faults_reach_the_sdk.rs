//! Injected faults reach the real SDK as the errors the real service would produce, and the
//! fault handle counts the calls that reached the server.

#![allow(
    clippy::disallowed_methods,
    reason = "measures real calls to real servers"
)]

use std::time::{Duration, Instant};

use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use kinesis_testkit::{Capability, Fault, FaultRule, TestEnv};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An embedded environment with a one-shard stream holding one record; returns the stream name
/// and a TRIM_HORIZON iterator.
async fn env_with_record() -> (TestEnv, String, String) {
    let env = TestEnv::builder().embedded_only().start().await;
    assert!(env.supports(Capability::FaultInjection));
    let stream = env.unique_name("faults");
    env.create_stream(&stream, 1).await.unwrap();
    env.kinesis_sdk()
        .put_record()
        .stream_name(&stream)
        .partition_key("k")
        .data(Blob::new("payload"))
        .send()
        .await
        .unwrap();
    let iterator = iterator(&env, &stream).await;
    (env, stream, iterator)
}

async fn iterator(env: &TestEnv, stream: &str) -> String {
    let shard_id = env
        .kinesis_sdk()
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_owned();
    env.kinesis_sdk()
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard_id)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap()
}

#[tokio::test]
async fn throttle_reaches_the_sdk_as_provisioned_throughput_exceeded() {
    let (env, _stream, iterator) = env_with_record().await;
    let rule = env
        .faults()
        .add(FaultRule::new("GetRecords", Fault::throttle()).times(1));

    let err = env
        .kinesis_sdk()
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    let service_error = err.as_service_error().expect("a service error");
    assert!(
        service_error.is_provisioned_throughput_exceeded_exception(),
        "{service_error:?}"
    );
    assert_eq!(
        service_error.code(),
        Some("ProvisionedThroughputExceededException")
    );
    assert!(service_error.message().unwrap().contains("injected"));

    // The rule fired once; the next call reaches the emulator.
    let records = env
        .kinesis_sdk()
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap();
    assert_eq!(records.records().len(), 1);
    assert_eq!(rule.fired(), 1);
    assert_eq!(env.faults().calls("GetRecords"), 2);
}

#[tokio::test]
async fn modelled_error_codes_become_typed_errors() {
    let env = TestEnv::builder().embedded_only().start().await;
    let faults = env.faults();
    faults.add(FaultRule::new("CreateStream", Fault::limit_exceeded()).times(1));
    faults.add(
        FaultRule::new(
            "PutRecord",
            Fault::service_error(400, "KMSThrottlingException", "slow down"),
        )
        .times(1),
    );

    let err = env
        .kinesis_sdk()
        .create_stream()
        .stream_name(env.unique_name("limited"))
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_limit_exceeded_exception()
    );

    let err = env
        .kinesis_sdk()
        .put_record()
        .stream_name("any")
        .partition_key("k")
        .data(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    let service_error = err.as_service_error().unwrap();
    assert!(service_error.is_kms_throttling_exception());
    assert_eq!(service_error.message(), Some("slow down"));
}

#[tokio::test]
async fn subscribe_to_shard_errors_are_typed() {
    // Emulates AWS rejecting a second subscription, which ferrokinesis itself accepts.
    let env = TestEnv::builder().embedded_only().start().await;
    env.faults().add(FaultRule::new(
        "SubscribeToShard",
        Fault::service_error(400, "ResourceInUseException", "already subscribed"),
    ));
    let err = env
        .kinesis_sdk()
        .subscribe_to_shard()
        .consumer_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1")
        .shard_id("shardId-000000000000")
        .starting_position(
            aws_sdk_kinesis::types::StartingPosition::builder()
                .r#type(ShardIteratorType::Latest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_in_use_exception()),
        "{err:?}"
    );
    assert_eq!(env.faults().calls("SubscribeToShard"), 1);
}

#[tokio::test]
async fn server_errors_reach_the_sdk_with_their_5xx_status() {
    let (env, _stream, iterator) = env_with_record().await;
    let faults = env.faults();

    for (fault, status, code) in [
        (Fault::internal_failure(), 500, "InternalFailure"),
        (Fault::service_unavailable(), 503, "ServiceUnavailable"),
    ] {
        faults.add(FaultRule::new("GetRecords", fault).times(1));
        let err = env
            .kinesis_sdk()
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await
            .unwrap_err();
        assert!(matches!(err, SdkError::ServiceError(_)), "{err:?}");
        assert_eq!(err.raw_response().unwrap().status().as_u16(), status);
        assert_eq!(err.code(), Some(code));
    }
}

#[tokio::test]
async fn dropped_connection_is_a_dispatch_failure() {
    let (env, stream, iterator) = env_with_record().await;
    let rule = env
        .faults()
        .add(FaultRule::new("PutRecord", Fault::drop_connection()).times(1));

    let err = env
        .kinesis_sdk()
        .put_record()
        .stream_name(&stream)
        .partition_key("k")
        .data(Blob::new("lost"))
        .send()
        .await
        .unwrap_err();
    match &err {
        SdkError::DispatchFailure(failure) => {
            assert!(failure.is_io(), "{failure:?}");
        }
        other => panic!("expected a dispatch failure, got {other:?}"),
    }
    assert_eq!(rule.fired(), 1);

    // The emulator never saw the dropped request, and the client recovers on a new connection.
    let records = env
        .kinesis_sdk()
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap();
    assert_eq!(records.records().len(), 1);
    assert_eq!(env.faults().calls("PutRecord"), 2);
}

#[tokio::test]
async fn latency_delays_the_response() {
    let (env, _stream, iterator) = env_with_record().await;
    let delay = Duration::from_millis(300);
    env.faults()
        .add(FaultRule::new("GetRecords", Fault::latency(delay)).times(1));

    let started = Instant::now();
    let records = env
        .kinesis_sdk()
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= delay, "took {:?}", started.elapsed());
    assert_eq!(records.records().len(), 1);
}

#[tokio::test]
async fn counts_rules_and_clear_work_together() {
    let env = TestEnv::builder().embedded_only().start().await;
    let faults = env.faults();
    let kinesis = env.kinesis_sdk();
    // Let one ListStreams through, then fail two, then pass again.
    let rule = faults.add(
        FaultRule::new("ListStreams", Fault::internal_failure())
            .after(1)
            .times(2),
    );
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        outcomes.push(kinesis.list_streams().send().await.is_ok());
    }
    assert_eq!(outcomes, [true, false, false, true]);
    assert_eq!(rule.fired(), 2);
    assert_eq!(faults.calls("ListStreams"), 4);
    assert_eq!(faults.calls("ListShards"), 0);

    let always = faults.add(FaultRule::any_operation(Fault::throttle()));
    assert!(kinesis.list_streams().send().await.is_err());
    assert!(kinesis.describe_limits().send().await.is_err());
    assert_eq!(always.fired(), 2);
    faults.clear();
    assert!(kinesis.list_streams().send().await.is_ok());
    assert_eq!(faults.calls("ListStreams"), 6);
    assert_eq!(faults.calls("DescribeLimits"), 1);

    faults.reset_calls();
    assert_eq!(faults.calls("ListStreams"), 0);
}

#[tokio::test]
async fn get_records_responses_can_be_rewritten() {
    let (env, _stream, iterator) = env_with_record().await;
    let rewrite = env.faults().set_millis_behind_latest(5_000);

    let records = env
        .kinesis_sdk()
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap();
    assert_eq!(records.millis_behind_latest(), Some(5_000));
    assert_eq!(records.records().len(), 1);
    assert_eq!(rewrite.fired(), 1);

    rewrite.remove();
    let records = env
        .kinesis_sdk()
        .get_records()
        .shard_iterator(records.next_shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(records.millis_behind_latest(), Some(0));
}

/// Sends one raw HTTP/1.1 request and returns the status, headers and body of the answer.
async fn raw_request(endpoint: &str, content_type: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let addr = endpoint.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n\
         Content-Type: {content_type}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc\r\n\
         X-Amz-Date: 20250101T000000Z\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body).await.unwrap();
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        head.to_ascii_lowercase(),
        response[split + 4..].to_vec(),
    )
}

#[tokio::test]
async fn cbor_requests_get_cbor_errors() {
    let env = TestEnv::builder().embedded_only().start().await;
    env.faults()
        .add(FaultRule::new("ListStreams", Fault::throttle()));

    let (status, head, body) = raw_request(
        env.kinesis_endpoint(),
        "application/x-amz-cbor-1.1",
        &[0xa0],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        head.contains("content-type: application/x-amz-cbor-1.1"),
        "{head}"
    );
    let value: ciborium::Value = ciborium::from_reader(&body[..]).unwrap();
    let map = value.as_map().unwrap();
    let code = map
        .iter()
        .find(|(k, _)| k.as_text() == Some("__type"))
        .and_then(|(_, v)| v.as_text());
    assert_eq!(code, Some("ProvisionedThroughputExceededException"));

    let (status, head, body) =
        raw_request(env.kinesis_endpoint(), "application/x-amz-json-1.1", b"{}").await;
    assert_eq!(status, 400);
    assert!(
        head.contains("content-type: application/x-amz-json-1.1"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["__type"], "ProvisionedThroughputExceededException");
    assert_eq!(env.faults().calls("ListStreams"), 2);
}
