//! A Rust record processor (`src/bin/rust-processor.rs`, on `kinesis_multilang::processor`)
//! under the Java KCL's MultiLangDaemon: every record of a stream, checkpoints, a graceful
//! restart, a split, a lease lost to a second daemon; and the same processor giving the same
//! output under the Java daemon and under this workspace's.
//!
//! Run by `cargo xtask test --tier kcl`, which resolves the MultiLangDaemon with Maven
//! (`MULTILANG_JAVA_CLASSPATH`) and starts the external emulators.

#![allow(
    clippy::disallowed_methods,
    reason = "the scenarios wait on real processes in real time"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use kinesis_client::{AdminClient, Client, StreamId};
use kinesis_lease::Checkpoint;
use kinesis_testkit::TestEnv;
use multilang_interop::java::{JavaDaemon, java_properties, seed_leases};
use multilang_interop::{
    RunningDaemon, Seen, client_config, leases, produce, properties, rust_command, wait_for_all,
};

const PROCESSOR: &str = env!("CARGO_BIN_EXE_rust-processor");
const WITHIN: Duration = Duration::from_secs(90);

/// A folder of the scenario's own under the target folder (kept after a failure: the daemons'
/// logs and the processors' output are there).
fn scenario_dir(application: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("java-daemon")
        .join(application);
    std::fs::create_dir_all(dir.join("out")).expect("the scenario's folder");
    dir
}

/// The last record a processor saw on each shard.
fn last_per_shard(seen: &[Seen]) -> BTreeMap<String, (String, String)> {
    let mut last: BTreeMap<String, (String, String)> = BTreeMap::new();
    for s in seen {
        let key = (s.sequence_number.clone(), s.sub_sequence_number.clone());
        let entry = last.entry(s.shard.clone()).or_insert_with(|| key.clone());
        let newer = (key.0.len(), &key.0, key.1.parse::<u64>().unwrap_or(0))
            > (entry.0.len(), &entry.0, entry.1.parse::<u64>().unwrap_or(0));
        if newer {
            *entry = key;
        }
    }
    last
}

/// Waits (at most `within`) until a processor logged `what` for `shard` (any shard when
/// `None`), in the `rust-<pid>.log` files of `output`.
async fn wait_for_log(output: &Path, what: &str, shard: Option<&str>, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let found = std::fs::read_dir(output)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .any(|e| {
                std::fs::read_to_string(e.path())
                    .unwrap_or_default()
                    .lines()
                    .any(|l| l.contains(what) && shard.is_none_or(|s| l.contains(s)))
            });
        if found {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {within:?}, no processor logged {what:?} for {shard:?} (logs in {})",
            output.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_processor_under_the_java_daemon_reads_every_record_and_resumes_after_a_graceful_restart()
 {
    let env = TestEnv::start().await;
    let stream = env.unique_name("mlj-restart");
    env.create_stream(&stream, 4).await.unwrap();
    let app = env.unique_name("mlj-restart-app");
    let dir = scenario_dir(&app);
    let output = dir.join("out");
    let props =
        properties(&stream, &app, &rust_command(PROCESSOR, &output), "") + &java_properties(&env);

    // KPL aggregates: the Java daemon splits them and passes the sub-sequence numbers.
    produce(&env, &stream, 0, 400, true).await;
    seed_leases(&env, &app, &stream).await;
    let daemon = JavaDaemon::start(&env, &dir, "daemon-1", &props);
    let first = wait_for_all(&output, 400, WITHIN).await;
    assert!(
        first.iter().any(|s| s.sub_sequence_number != "0"),
        "aggregated records arrive with their sub-sequence numbers"
    );
    let log = daemon.log().to_owned();
    let stopped = daemon.stop();
    assert!(
        stopped.graceful,
        "the Java daemon shuts down gracefully on SIGTERM: {stopped:?} (log: {})",
        log.display()
    );

    // On shutdownRequested the processors checkpointed the last record they handled.
    let leases = leases(&env, &app).await;
    assert_eq!(leases.len(), 4, "{leases:?}");
    for (shard, (sequence, _)) in last_per_shard(&first) {
        assert_eq!(
            leases[&shard].checkpoint.kcl_checkpoint(),
            sequence,
            "{shard}"
        );
    }

    // A second daemon starts from the checkpoints: only the new records.
    produce(&env, &stream, 400, 200, true).await;
    let daemon = JavaDaemon::start(&env, &dir, "daemon-2", &props);
    let all = wait_for_all(&output, 600, WITHIN).await;
    eprintln!("daemon-2: {:?}", daemon.stop());
    let first_files: BTreeSet<String> = first.iter().map(|s| s.file.clone()).collect();
    let again: Vec<u64> = all
        .iter()
        .filter(|s| !first_files.contains(&s.file) && s.n < 400)
        .map(|s| s.n)
        .collect();
    assert!(again.is_empty(), "read again after the restart: {again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_processor_under_the_java_daemon_follows_a_split_and_gives_up_a_lease_to_a_second_daemon()
 {
    let env = TestEnv::start().await;
    let stream = env.unique_name("mlj-split");
    env.create_stream(&stream, 2).await.unwrap();
    let app = env.unique_name("mlj-split-app");
    let dir = scenario_dir(&app);
    let output = dir.join("out");
    let props =
        properties(&stream, &app, &rust_command(PROCESSOR, &output), "") + &java_properties(&env);

    produce(&env, &stream, 0, 100, false).await;
    seed_leases(&env, &app, &stream).await;
    let first = JavaDaemon::start(&env, &dir, "daemon-a", &props);
    wait_for_all(&output, 100, WITHIN).await;

    // Split the first shard: its processor sees shardEnded and checkpoints SHARD_END, then
    // the children are processed.
    let config = client_config(&env).await;
    let id: StreamId = stream.parse().unwrap();
    let shards: Vec<_> = Client::new(&config)
        .list_shards(id.clone(), None)
        .try_collect()
        .await
        .unwrap();
    let parent = shards[0].id().clone();
    AdminClient::new(&config)
        .split_shard(id, &parent, shards[0].hash_key_range().midpoint())
        .await
        .unwrap();
    produce(&env, &stream, 100, 100, false).await;
    wait_for_all(&output, 200, WITHIN).await;
    wait_for_log(&output, "shard ended", Some(parent.as_str()), WITHIN).await;
    assert_eq!(
        leases(&env, &app).await[parent.as_str()].checkpoint,
        Checkpoint::SHARD_END,
        "the parent's lease is at SHARD_END"
    );

    // A second daemon of the application takes a share of the three open shards: the first
    // daemon's processor of that shard gets leaseLost.
    let second = JavaDaemon::start(&env, &dir, "daemon-b", &props);
    wait_for_log(&output, "lease lost", None, WITHIN).await;
    produce(&env, &stream, 200, 100, false).await;
    let all = wait_for_all(&output, 300, WITHIN).await;
    // What a graceful shutdown leaves behind is the first scenario's concern.
    eprintln!("daemon-b: {:?}", second.stop());
    eprintln!("daemon-a: {:?}", first.stop());
    let children: BTreeSet<&str> = all
        .iter()
        .filter(|s| s.n >= 100 && s.shard != shards[1].id().as_str())
        .map(|s| s.shard.as_str())
        .collect();
    assert_eq!(children.len(), 2, "both children were read: {children:?}");
    assert!(
        !children.contains(parent.as_str()),
        "nothing new on the closed parent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_rust_processor_gives_the_same_output_under_the_java_daemon_and_under_ours() {
    let env = TestEnv::start().await;
    let stream = env.unique_name("mlj-same");
    env.create_stream(&stream, 2).await.unwrap();
    produce(&env, &stream, 0, 300, true).await;

    let java_app = env.unique_name("mlj-same-java");
    let java_dir = scenario_dir(&java_app);
    let java_out = java_dir.join("out");
    seed_leases(&env, &java_app, &stream).await;
    let java = JavaDaemon::start(
        &env,
        &java_dir,
        "daemon",
        &(properties(&stream, &java_app, &rust_command(PROCESSOR, &java_out), "")
            + &java_properties(&env)),
    );

    let rust_app = env.unique_name("mlj-same-rust");
    let rust_out = scenario_dir(&rust_app).join("out");
    let ours = RunningDaemon::start(
        &env,
        &properties(&stream, &rust_app, &rust_command(PROCESSOR, &rust_out), ""),
    )
    .await;

    let under_java = wait_for_all(&java_out, 300, WITHIN).await;
    let under_ours = wait_for_all(&rust_out, 300, WITHIN).await;
    let stopped = java.stop();
    assert!(stopped.graceful, "{stopped:?}");
    ours.stop().await;

    // Per shard, the same records in the same order, with the same sequence and sub-sequence
    // numbers and data, each once.
    let lines = |seen: &[Seen]| {
        let mut by_shard: BTreeMap<String, Vec<(String, String, u64)>> = BTreeMap::new();
        for s in seen {
            by_shard.entry(s.shard.clone()).or_default().push((
                s.sequence_number.clone(),
                s.sub_sequence_number.clone(),
                s.n,
            ));
        }
        by_shard
    };
    let java_lines = lines(&under_java);
    assert_eq!(java_lines, lines(&under_ours));
    assert_eq!(java_lines.values().map(Vec::len).sum::<usize>(), 300);

    // And the same checkpoints, taken at shutdown at the last record of each shard.
    let java_leases = leases(&env, &java_app).await;
    let rust_leases = leases(&env, &rust_app).await;
    fn checkpoints(leases: &BTreeMap<String, kinesis_lease::Lease>) -> BTreeMap<String, String> {
        leases
            .iter()
            .map(|(k, v)| (k.clone(), v.checkpoint.kcl_checkpoint().to_string()))
            .collect()
    }
    assert_eq!(checkpoints(&java_leases), checkpoints(&rust_leases));
    for (shard, (sequence, _)) in last_per_shard(&under_java) {
        assert_eq!(checkpoints(&java_leases)[&shard], sequence, "{shard}");
    }
}
