//! Stopping an environment is quick and bounded, even with a SubscribeToShard stream open,
//! and the embedded servers keep real time when the test pauses its clock.

#![allow(
    clippy::disallowed_methods,
    reason = "measures real shutdowns of real servers"
)]

use std::time::{Duration, Instant};

use aws_sdk_kinesis::types::{ConsumerStatus, ShardIteratorType, StartingPosition};
use kinesis_testkit::TestEnv;

/// Opens a SubscribeToShard subscription on a fresh one-shard stream and waits for its first
/// event. Returns the subscription's output so that it stays open.
async fn open_subscription(
    env: &TestEnv,
) -> aws_sdk_kinesis::operation::subscribe_to_shard::SubscribeToShardOutput {
    let kinesis = env.kinesis_sdk();
    let stream = env.unique_name("efo");
    env.create_stream(&stream, 1).await.unwrap();
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    let stream_arn = summary
        .stream_description_summary()
        .unwrap()
        .stream_arn()
        .to_owned();
    let consumer_arn = kinesis
        .register_stream_consumer()
        .stream_arn(&stream_arn)
        .consumer_name(env.unique_name("consumer"))
        .send()
        .await
        .unwrap()
        .consumer
        .unwrap()
        .consumer_arn;
    // Registration takes a fixed 500 ms on ferrokinesis.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = kinesis
            .describe_stream_consumer()
            .consumer_arn(&consumer_arn)
            .send()
            .await
            .unwrap()
            .consumer_description
            .map(|c| c.consumer_status);
        if status == Some(ConsumerStatus::Active) {
            break;
        }
        assert!(Instant::now() < deadline, "consumer still {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shard_id = kinesis
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_owned();
    let mut output = kinesis
        .subscribe_to_shard()
        .consumer_arn(&consumer_arn)
        .shard_id(shard_id)
        .starting_position(
            StartingPosition::builder()
                .r#type(ShardIteratorType::TrimHorizon)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let first = output.event_stream.recv().await.unwrap();
    assert!(first.is_some(), "the subscription should deliver an event");
    output
}

#[tokio::test]
async fn dropping_with_an_open_subscription_returns_promptly() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let env = TestEnv::builder().embedded_only().start().await;
        let mut subscription = open_subscription(&env).await;

        let started = Instant::now();
        drop(env);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "drop took {took:?}");

        // The subscription's connection was closed: the stream ends instead of delivering an
        // event every 200 ms for five minutes.
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(_)) = subscription.event_stream.recv().await {}
        })
        .await;
        assert!(ended.is_ok(), "the subscription outlived the environment");
    })
    .await
    .expect("the test hung");
}

#[tokio::test]
async fn explicit_shutdown_with_an_open_subscription_returns_promptly() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let env = TestEnv::builder().embedded_only().start().await;
        let subscription = open_subscription(&env).await;
        let endpoint = env.kinesis_endpoint().to_owned();

        let started = Instant::now();
        env.shutdown().await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
        drop(subscription);

        // Nothing listens on the port any more.
        let addr = endpoint.trim_start_matches("http://");
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    })
    .await
    .expect("the test hung");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_works_on_a_multi_thread_runtime_and_with_emulator_workers() {
    let env = TestEnv::builder()
        .embedded_only()
        .emulator_worker_threads(2)
        .start()
        .await;
    let stream = env.unique_name("mt");
    env.create_stream(&stream, 1).await.unwrap();
    let started = Instant::now();
    drop(env);
    // A hang would never end; the bound is far above a drop's milliseconds on a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn emulators_keep_real_time_when_the_test_clock_is_paused() {
    tokio::time::pause();
    let env = TestEnv::builder()
        .embedded_only()
        .create_stream_delay(Duration::from_millis(100))
        .start()
        .await;
    let stream = env.unique_name("paused");
    // The stream's CREATING -> ACTIVE transition is a timer on the emulator runtime. It fires
    // although this test's clock is paused, and in real time: had the emulator shared this
    // runtime, the paused clock would have skipped its 100 ms ahead at once.
    let started = Instant::now();
    env.create_stream(&stream, 1).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "ACTIVE after only {:?} of real time",
        started.elapsed()
    );
    env.shutdown().await;
}
