//! `kinesis put` then `kinesis tail`: every record comes back, whatever the input and the
//! aggregation; bad input is refused before anything is sent.

use std::collections::BTreeSet;

use kinesis_testkit::TestEnv;

use crate::support::{consumer_gone, file, run_with_stdin, sh, stream};

/// `(partition key, data)` of JSON lines from `tail -o json`.
fn keys_and_data(lines: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    lines
        .iter()
        .map(|l| {
            (
                l["partition_key"].as_str().unwrap().to_owned(),
                l["data"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_records_come_back_through_tail_with_and_without_aggregation() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-gen", 3).await;

    let put = sh(
        &env,
        &format!("-o json put {name} --generate --count 300 --size 64"),
    )
    .json();
    assert_eq!(put["stored"], 300, "{put:#}");
    assert_eq!(put["failed"], 0);
    assert!(
        put["put_records_calls"].as_u64().unwrap() < 10,
        "aggregated into few calls: {put:#}"
    );
    let put = sh(
        &env,
        &format!("-o json put {name} --generate --count 30 --no-aggregation"),
    )
    .json();
    assert_eq!(put["stored"], 30, "{put:#}");

    let lines = sh(
        &env,
        &format!("-o json tail {name} --from trim-horizon -n 330 --timeout 60s"),
    )
    .json_lines();
    assert_eq!(lines.len(), 330);
    let mut numbers = Vec::new();
    for line in &lines {
        let data = line["data"].as_str().unwrap();
        let value: serde_json::Value = serde_json::from_str(data).unwrap();
        numbers.push(value["n"].as_u64().unwrap());
        assert!(
            data.len() == 64 || data.len() == 100,
            "--size 64, then the default 100: {data}"
        );
    }
    let split = lines
        .iter()
        .filter(|l| l["sub_sequence_number"].as_u64().is_some_and(|s| s > 0))
        .count();
    assert!(split > 0, "KPL aggregates were split");
    let unique: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(
        unique,
        (0..300).collect(),
        "every generated record of the first run"
    );
    assert_eq!(
        numbers.iter().filter(|n| **n < 30).count(),
        60,
        "both runs' first 30"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn arguments_stdin_and_json_lines_files_with_partition_keys() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-inputs", 2).await;
    let dir = tempfile::tempdir().unwrap();

    sh(&env, &format!("put {name} --partition-key alpha one two")).ok();
    run_with_stdin(&env, &["put", &name, "-k", "beta"], "three\nfour\n").ok();
    let jsonl = file(
        dir.path(),
        "orders.jsonl",
        "{\"customer\":\"c1\",\"total\":5}\n\n{\"customer\":\"c2\",\"total\":7}\n",
    );
    sh(
        &env,
        &format!("put {name} --file {jsonl} --key-field customer"),
    )
    .ok();

    let lines = sh(
        &env,
        &format!("-o json tail {name} --from trim-horizon -n 6 --timeout 60s"),
    )
    .json_lines();
    let want: BTreeSet<(String, String)> = [
        ("alpha", "one"),
        ("alpha", "two"),
        ("beta", "three"),
        ("beta", "four"),
        ("c1", "{\"customer\":\"c1\",\"total\":5}"),
        ("c2", "{\"customer\":\"c2\",\"total\":7}"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(keys_and_data(&lines), want);

    // The partition-key filter, and raw output: only the data.
    let raw = sh(
        &env,
        &format!("tail {name} --from trim-horizon -k beta --raw -n 2 --timeout 60s"),
    );
    assert_eq!(raw.ok(), "three\nfour\n");

    // Text output names shard, position, key and data.
    let text = sh(
        &env,
        &format!("tail {name} --from trim-horizon -k alpha -n 1 --timeout 60s"),
    );
    let line = text.ok().trim_end();
    assert!(line.starts_with("shardId-"), "{line}");
    assert!(line.ends_with(" alpha one"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_starts_at_a_sequence_number_or_a_time() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-from", 1).await;
    sh(
        &env,
        &format!("put {name} --no-aggregation -k k r0 r1 r2 r3"),
    )
    .ok();
    let all = sh(
        &env,
        &format!("-o json tail {name} --from trim-horizon -n 4 --timeout 60s"),
    )
    .json_lines();
    let seq2 = all[2]["sequence_number"].as_str().unwrap();
    let shard = all[2]["shard_id"].as_str().unwrap();
    let from = sh(
        &env,
        &format!("tail {name} --from-sequence {seq2} --shard {shard} --raw -n 2 --timeout 60s"),
    );
    assert_eq!(from.ok(), "r2\nr3\n");

    // A time after every record: nothing, until the timeout.
    sh(
        &env,
        &format!("tail {name} --from 2100-01-01T00:00:00Z -n 1 --timeout 2s"),
    )
    .fails(1, "only 0 of 1 records within 2s");
    // A time an hour ago: everything.
    let hour = sh(
        &env,
        &format!("tail {name} --from 1h --raw -n 4 --timeout 60s"),
    );
    assert_eq!(hour.ok(), "r0\nr1\nr2\nr3\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_anything_is_sent() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-refuse", 1).await;
    let missing = env.unique_name("cli-nostream");
    let dir = tempfile::tempdir().unwrap();

    sh(&env, &format!("put {missing} x")).fails(3, &missing);
    sh(&env, &format!("tail {missing} -n 1 --timeout 10s")).fails(3, &missing);
    sh(&env, &format!("put {name} --explicit-hash-key 2e5 x")).fails(2, "bad --explicit-hash-key");
    let long_key = "k".repeat(257);
    sh(&env, &format!("put {name} -k {long_key} x")).fails(2, "1 to 256 characters");
    sh(&env, &format!("tail {name} --from yesterday")).fails(2, "bad --from");

    // A file whose third line is not JSON: nothing of it is sent.
    let bad = file(dir.path(), "bad.jsonl", "{\"a\":1}\n{\"a\":2}\nnot json\n");
    sh(&env, &format!("put {name} --file {bad}")).fails(2, "line 3 is not JSON");
    let no_key = file(dir.path(), "nokey.jsonl", "{\"a\":1}\n");
    sh(&env, &format!("put {name} --file {no_key} --key-field id"))
        .fails(2, "no string or number field \"id\"");
    sh(
        &env,
        &format!("tail {name} --from trim-horizon -n 1 --timeout 3s"),
    )
    .fails(1, "only 0 of 1 records");
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_reads_through_enhanced_fan_out_and_deregisters_its_consumer() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-efo-tail", 2).await;
    sh(&env, &format!("put {name} -k k e1 e2 e3")).ok();
    let read = sh(
        &env,
        &format!("tail {name} --fan-out cli-tail --from trim-horizon --raw -n 3 --timeout 60s"),
    );
    assert_eq!(read.ok(), "e1\ne2\ne3\n");
    let consumers = sh(&env, &format!("-o json stream consumers {name}")).json();
    assert!(
        consumer_gone(&consumers, "cli-tail"),
        "a read-only tail leaves no consumer behind: {consumers:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tail_of_an_application_checkpoints_only_what_it_printed() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-app-tail", 1).await;
    let app = env.unique_name("cli-tail-app");
    sh(
        &env,
        &format!("put {name} --no-aggregation -k k p1 p2 p3 p4 p5 p6"),
    )
    .ok();
    let tail = |n: u32| {
        sh(
            &env,
            &format!("tail {name} --app {app} --from trim-horizon --raw -n {n} --timeout 60s"),
        )
    };
    // The first run fetched all six but printed two: the next run starts at the third.
    assert_eq!(tail(2).ok(), "p1\np2\n");
    assert_eq!(tail(4).ok(), "p3\np4\np5\np6\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_stops_when_its_reader_goes_away() {
    use std::io::BufRead;
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-pipe", 1).await;
    sh(
        &env,
        &format!("put {name} --no-aggregation -k k one two three"),
    )
    .ok();
    // `kinesis tail ... | head -1`: no -n, no --timeout; it must end once head has gone.
    let mut child = crate::support::kinesis_at(&env)
        .args(["tail", &name, "--from", "trim-horizon", "--raw"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "one\n");
    // The reader is gone; the next record written hits a closed pipe.
    sh(&env, &format!("put {name} --no-aggregation -k k four")).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("tail did not stop within 30 s after its reader went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}
