//! Third-party record processors under this workspace's MultiLangDaemon: every record is
//! accounted for through checkpoints, restarts, a processor that crashes, one that hangs, and a
//! shard that ends.

#![allow(
    clippy::disallowed_methods,
    reason = "the scenarios wait on real processes in real time"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kinesis_lease::Checkpoint;
use kinesis_testkit::TestEnv;
use multilang_interop::{
    Language, RunningDaemon, command, leases, produce, properties, wait_for_all,
    wait_for_redelivery,
};

const WITHIN: Duration = Duration::from_secs(90);

/// The record numbers each processor process saw, by output file.
fn by_process(seen: &[multilang_interop::Seen]) -> BTreeMap<String, BTreeSet<u64>> {
    let mut map: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for s in seen {
        map.entry(s.file.clone()).or_default().insert(s.n);
    }
    map
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_processor_reads_every_record_and_resumes_after_a_graceful_restart() {
    let env = TestEnv::start().await;
    let stream = env.unique_name("ml-py");
    env.create_stream(&stream, 2).await.unwrap();
    let app = env.unique_name("ml-py-app");
    let output = tempfile::tempdir().unwrap();
    let cmd = command(Language::Python, output.path(), None);
    let props = properties(&stream, &app, &cmd, "");

    // KPL aggregates: the processor sees and checkpoints sub-sequence numbers.
    produce(&env, &stream, 0, 200, true).await;
    let daemon = RunningDaemon::start(&env, &props).await;
    let first = wait_for_all(output.path(), 200, WITHIN).await;
    assert!(
        first.iter().any(|s| s.sub_sequence_number != "0"),
        "aggregated records arrive with their sub-sequence numbers"
    );
    daemon.stop().await;

    // The processors checkpointed at shutdown: every lease is at the last record it saw.
    let leases = leases(&env, &app).await;
    assert_eq!(leases.len(), 2, "{leases:?}");
    for (shard, lease) in &leases {
        let last = first
            .iter()
            .filter(|s| &s.shard == shard)
            .max_by(|a, b| {
                (
                    a.sequence_number.len(),
                    &a.sequence_number,
                    &a.sub_sequence_number,
                )
                    .cmp(&(
                        b.sequence_number.len(),
                        &b.sequence_number,
                        &b.sub_sequence_number,
                    ))
            })
            .expect("records on every shard");
        assert_eq!(
            lease.checkpoint.kcl_checkpoint(),
            last.sequence_number,
            "{shard}"
        );
        assert_eq!(lease.lease_owner, None, "{shard} released");
    }

    // A second daemon starts after the checkpoints: only the new records.
    produce(&env, &stream, 200, 100, true).await;
    let daemon = RunningDaemon::start(&env, &props).await;
    let all = wait_for_all(output.path(), 300, WITHIN).await;
    daemon.stop().await;
    let first_files: BTreeSet<String> = first.iter().map(|s| s.file.clone()).collect();
    let again: Vec<u64> = all
        .iter()
        .filter(|s| !first_files.contains(&s.file) && s.n < 200)
        .map(|s| s.n)
        .collect();
    assert!(again.is_empty(), "read again after the restart: {again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_processor_that_crashes_costs_only_a_restart_of_its_shard() {
    let env = TestEnv::start().await;
    let stream = env.unique_name("ml-crash");
    env.create_stream(&stream, 2).await.unwrap();
    let app = env.unique_name("ml-crash-app");
    let output = tempfile::tempdir().unwrap();
    let cmd = command(Language::Python, output.path(), Some("crash"));
    produce(&env, &stream, 0, 300, false).await;
    let daemon = RunningDaemon::start(&env, &properties(&stream, &app, &cmd, "")).await;
    wait_for_all(output.path(), 300, WITHIN).await;
    assert!(
        output.path().join("fault-crash").exists(),
        "a processor crashed"
    );
    // Its last batch was not checkpointed: a new processor of its shard reads it again.
    let all = wait_for_redelivery(output.path(), WITHIN).await;
    daemon.stop().await;
    let processes = by_process(&all);
    assert!(
        processes.len() >= 3,
        "two processors, and one started again after the crash: {:?}",
        processes.keys()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_processor_that_never_answers_is_killed_after_the_timeout() {
    let env = TestEnv::start().await;
    let stream = env.unique_name("ml-hang");
    env.create_stream(&stream, 1).await.unwrap();
    let app = env.unique_name("ml-hang-app");
    let output = tempfile::tempdir().unwrap();
    let cmd = command(Language::Python, output.path(), Some("hang"));
    produce(&env, &stream, 0, 200, false).await;
    let props = properties(&stream, &app, &cmd, "timeoutInSeconds = 3\n");
    let daemon = RunningDaemon::start(&env, &props).await;
    wait_for_all(output.path(), 200, WITHIN).await;
    assert!(
        output.path().join("fault-hang").exists(),
        "a processor hung"
    );
    // Its batch was not checkpointed: the processor that took over reads it again.
    let all = wait_for_redelivery(output.path(), WITHIN).await;
    daemon.stop().await;
    assert!(by_process(&all).len() >= 2, "a second processor took over");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_processor_checkpoints_the_end_of_a_split_shard_and_the_children_follow() {
    let env = TestEnv::start().await;
    let stream = env.unique_name("ml-split");
    env.create_stream(&stream, 1).await.unwrap();
    let app = env.unique_name("ml-split-app");
    let output = tempfile::tempdir().unwrap();
    let cmd = command(Language::Python, output.path(), None);
    produce(&env, &stream, 0, 100, false).await;
    let daemon = RunningDaemon::start(&env, &properties(&stream, &app, &cmd, "")).await;
    wait_for_all(output.path(), 100, WITHIN).await;

    let sdk = env.kinesis_sdk();
    sdk.split_shard()
        .stream_name(&stream)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .unwrap();
    env.wait_for_stream_active(&stream).await.unwrap();
    produce(&env, &stream, 100, 100, false).await;
    let all = wait_for_all(output.path(), 200, WITHIN).await;
    daemon.stop().await;

    let shards: BTreeSet<&str> = all.iter().map(|s| s.shard.as_str()).collect();
    assert_eq!(shards.len(), 3, "the parent and both children: {shards:?}");
    let leases = leases(&env, &app).await;
    assert_eq!(
        leases["shardId-000000000000"].checkpoint,
        Checkpoint::SHARD_END,
        "the processor's checkpoint at shardEnded"
    );
    // Parents before children: every record of the parent came before the children started.
    let parent_last = all
        .iter()
        .filter(|s| s.shard == "shardId-000000000000")
        .map(|s| s.n)
        .max();
    assert_eq!(parent_last, Some(99));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_processor_reads_every_record_and_survives_a_crash() {
    let env = TestEnv::start().await;
    let stream = env.unique_name("ml-node");
    env.create_stream(&stream, 2).await.unwrap();
    let app = env.unique_name("ml-node-app");
    let output = tempfile::tempdir().unwrap();
    let cmd = command(Language::Node, output.path(), Some("crash"));
    // aws-kcl checkpoints sequence numbers only: plain records.
    produce(&env, &stream, 0, 300, false).await;
    let props = properties(&stream, &app, &cmd, "");
    let daemon = RunningDaemon::start(&env, &props).await;
    wait_for_all(output.path(), 300, WITHIN).await;
    assert!(
        output.path().join("fault-crash").exists(),
        "a processor crashed"
    );
    wait_for_redelivery(output.path(), WITHIN).await;
    daemon.stop().await;
    // Read after the stop: the processors' last batches and checkpoints are in.
    let all = multilang_interop::seen(output.path());
    assert!(by_process(&all).len() >= 3, "{:?}", by_process(&all).keys());
    let leases = leases(&env, &app).await;
    for (shard, lease) in &leases {
        let last = all
            .iter()
            .filter(|s| &s.shard == shard)
            .map(|s| (s.sequence_number.len(), s.sequence_number.clone()))
            .max()
            .unwrap();
        assert_eq!(lease.checkpoint.kcl_checkpoint(), last.1, "{shard}");
    }
}
