//! The daemon's answers to a processor's checkpoint requests, as the Java daemon gives them:
//! a processor (`processors/checkpoint_probe.py`, the protocol by hand) asks for checkpoints
//! the KCL refuses and ones it takes, against the embedded emulators.

#![allow(
    clippy::disallowed_methods,
    reason = "the scenario waits on a real process in real time"
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kinesis_client::ClientConfig;
use kinesis_lease::{DynamoDbLeaseRepository, LeaseRepository};
use kinesis_multilang::Daemon;
use kinesis_multilang::properties::{DaemonConfig, parse_properties};
use kinesis_testkit::TestEnv;

#[tokio::test(flavor = "multi_thread")]
async fn checkpoint_requests_are_answered_as_the_kcl_answers_them() {
    let env = TestEnv::start().await;
    let stream = env.unique_name("ml-probe");
    env.create_stream(&stream, 1).await.unwrap();
    for i in 0..5 {
        env.kinesis_sdk()
            .put_record()
            .stream_name(&stream)
            .partition_key(format!("k{i}"))
            .data(format!("n={i}").into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    let app = env.unique_name("ml-probe-app");
    let dir = tempfile::tempdir().unwrap();
    let answers_file = dir.path().join("answers.jsonl");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/processors/checkpoint_probe.py"
    );
    let properties = format!(
        "executableName = python3 {script} {}\nstreamName = {stream}\napplicationName = {app}\n\
         initialPositionInStream = TRIM_HORIZON\nidleTimeBetweenReadsInMillis = 100\n",
        answers_file.display()
    );
    let config = DaemonConfig::from_properties(&parse_properties(&properties)).unwrap();
    let client = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = Daemon::new(&client, config).shutdown_on(async move {
        let _ = stopped.await;
    });
    let task = tokio::spawn(daemon.run());

    // Seven probes, each answered.
    let deadline = Instant::now() + Duration::from_secs(60);
    let answers: BTreeMap<String, Option<String>> = loop {
        let text = std::fs::read_to_string(&answers_file).unwrap_or_default();
        if text.lines().count() >= 7 {
            break text
                .lines()
                .map(|line| {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    assert_eq!(v["answer"]["action"], "checkpoint", "{line}");
                    (
                        v["probe"].as_str().unwrap().to_owned(),
                        v["answer"]["error"].as_str().map(str::to_owned),
                    )
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "the probe did not finish: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("the daemon stops")
        .unwrap()
        .expect("the daemon ran");

    let refused = Some("IllegalArgumentException".to_owned());
    assert_eq!(answers["not a number"], refused);
    assert_eq!(answers["SHARD_END before the end"], refused);
    assert_eq!(answers["beyond the last record"], refused);
    assert_eq!(answers["negative sub-sequence"], refused);
    assert_eq!(answers["the second record"], None);
    assert_eq!(answers["before the checkpoint"], refused);
    assert_eq!(answers["the second record again"], None);

    // What was taken is in the lease table.
    let leases = DynamoDbLeaseRepository::new(&client, &app)
        .list_leases()
        .await
        .unwrap()
        .leases;
    assert_eq!(leases.len(), 1);
    let text = std::fs::read_to_string(&answers_file).unwrap();
    let second: serde_json::Value = serde_json::from_str(
        text.lines()
            .find(|l| l.contains("\"the second record\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        leases[0].checkpoint.kcl_checkpoint(),
        second["request"]["sequenceNumber"].as_str().unwrap()
    );
}
