//! Every example, run as its own process against the emulators (embedded, or the servers the
//! standard endpoint variables name), configured only through the standard AWS variables, as
//! a user runs it; each is stopped with SIGTERM and must exit cleanly.

#![allow(clippy::disallowed_methods, reason = "waits on real processes")]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kinesis_client::{
    AdminClient, Client, ClientConfig, PartitionKey, PutRecordsEntry, StreamMode, StreamName,
    WaitConfig,
};
use kinesis_testkit::{Capability, TestEnv};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long an example may take to show what is expected of it.
const PATIENCE: Duration = Duration::from_secs(60);

struct Fixture {
    env: TestEnv,
    client: Client,
    stream: StreamName,
}

impl Fixture {
    async fn new(shards: u32) -> Self {
        let env = TestEnv::start().await;
        let config = ClientConfig::builder()
            .sdk_config(env.sdk_config())
            .wait(WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
            .build()
            .await
            .unwrap();
        let stream: StreamName = env.unique_name("examples").parse().unwrap();
        AdminClient::new(&config)
            .create_stream(
                &stream,
                StreamMode::Provisioned {
                    shard_count: shards,
                },
            )
            .await
            .unwrap();
        Self {
            client: Client::new(&config),
            env,
            stream,
        }
    }

    /// Writes each payload with partition key `key-{i % 64}`.
    async fn put(&self, payloads: impl IntoIterator<Item = Vec<u8>>) {
        let entries: Vec<PutRecordsEntry> = payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                PutRecordsEntry::new(p, PartitionKey::new(format!("key-{}", i % 64)).unwrap())
            })
            .collect();
        for chunk in entries.chunks(500) {
            let result = self
                .client
                .put_records(&self.stream, chunk.to_vec())
                .await
                .unwrap();
            assert_eq!(result.failed_count(), 0, "test setup: every record stored");
        }
    }

    /// Starts example `bin` with `args`, pointed at the emulators by the standard variables.
    fn run(&self, bin: &str, args: &[&str]) -> Example {
        Example::start(&self.env, bin, args)
    }
}

/// An example's process: its stdout lines arrive on a channel, its stderr is kept for the
/// failure message; the process is killed if the test ends without stopping it.
struct Example {
    name: String,
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Example {
    fn start(env: &TestEnv, bin: &str, args: &[&str]) -> Self {
        let path = match bin {
            "consumer" => env!("CARGO_BIN_EXE_consumer"),
            "poison_records" => env!("CARGO_BIN_EXE_poison_records"),
            "produce_json" => env!("CARGO_BIN_EXE_produce_json"),
            "fan_out_consumer" => env!("CARGO_BIN_EXE_fan_out_consumer"),
            "two_workers" => env!("CARGO_BIN_EXE_two_workers"),
            "custom_lease_storage" => env!("CARGO_BIN_EXE_custom_lease_storage"),
            other => panic!("no example {other}"),
        };
        let mut cmd = Command::new(path);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL_KINESIS", env.kinesis_endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB", env.dynamodb_endpoint())
            .env("AWS_ENDPOINT_URL_CLOUDWATCH", env.cloudwatch_endpoint())
            .env("AWS_REGION", env.region())
            .env("AWS_ACCESS_KEY_ID", env.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", "example-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let (tx, lines) = mpsc::unbounded_channel();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = Arc::clone(&stderr);
        let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = err_lines.next_line().await {
                kept.lock().unwrap().push(line);
            }
        });
        Self {
            name: bin.to_owned(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Reads stdout until `done` holds for the lines so far; panics with the example's logs
    /// after [`PATIENCE`].
    async fn until(&mut self, what: &str, done: impl Fn(&[String]) -> bool) -> &[String] {
        let deadline = Instant::now() + PATIENCE;
        while !done(&self.seen) {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                Ok(None) => self.fail(&format!("exited before {what}")),
                Err(_) => self.fail(&format!("no {what} within {PATIENCE:?}")),
            }
        }
        &self.seen
    }

    /// Sends SIGTERM and waits for a clean exit; returns every stdout line.
    async fn terminate(self) -> Vec<String> {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        self.exit().await
    }

    /// Waits for the process to exit by itself and checks it succeeded; returns every stdout line.
    async fn exit(mut self) -> Vec<String> {
        match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => self.fail(&format!("exited with {status}")),
            Ok(Err(e)) => self.fail(&format!("could not be waited for: {e}")),
            Err(_) => self.fail(&format!("did not exit within {PATIENCE:?}")),
        }
        // The rest of stdout, now that the process is gone.
        while let Some(line) = self.lines.recv().await {
            self.seen.push(line);
        }
        self.seen
    }

    fn fail(&self, why: &str) -> ! {
        let stderr = self.stderr.lock().unwrap();
        let tail = &stderr[stderr.len().saturating_sub(40)..];
        panic!(
            "example {} {why}\n--- stdout ({} lines, last 20) ---\n{}\n--- stderr (last 40) ---\n{}",
            self.name,
            self.seen.len(),
            self.seen[self.seen.len().saturating_sub(20)..].join("\n"),
            tail.join("\n")
        );
    }
}

fn numbered(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}-{i}").into_bytes())
        .collect()
}

/// The last field of each record line (one that starts with a shard id) of `fields` fields.
fn values(lines: &[String], fields: usize) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            (parts.len() == fields && parts[0].starts_with("shardId-"))
                .then(|| parts[fields - 1].to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_checkpoints_on_sigterm_and_a_restart_resumes_after_it() {
    let fx = Fixture::new(2).await;
    let app = fx.env.unique_name("app");
    fx.put(numbered("first", 150)).await;

    let mut first = fx.run("consumer", &[fx.stream.as_str(), &app]);
    first
        .until("150 records", |l| values(l, 3).len() >= 150)
        .await;
    let lines = first.terminate().await;
    let mut got = values(&lines, 3);
    got.sort();
    let mut expected: Vec<String> = (0..150).map(|i| format!("first-{i}")).collect();
    expected.sort();
    assert_eq!(got, expected, "every record once");

    // The graceful stop checkpointed everything: a restart reads only what came after.
    fx.put(numbered("second", 20)).await;
    let mut second = fx.run("consumer", &[fx.stream.as_str(), &app]);
    second
        .until("20 records", |l| values(l, 3).len() >= 20)
        .await;
    // Time for a repeated record to show up, were there one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let lines = second.terminate().await;
    let mut got = values(&lines, 3);
    got.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("second-{i}")).collect();
    expected.sort();
    assert_eq!(got, expected, "nothing before the checkpoint again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_go_to_the_dead_letter_handler_and_the_rest_is_handled() {
    let fx = Fixture::new(1).await;
    let app = fx.env.unique_name("app");
    let mut payloads: Vec<Vec<u8>> = (0..10)
        .map(|i| format!(r#"{{"id":{i},"amount_cents":{}}}"#, 100 + i).into_bytes())
        .collect();
    payloads.insert(4, b"not json".to_vec());
    payloads.insert(8, br#"{"id":"seven"}"#.to_vec());
    fx.put(payloads).await;

    let mut example = fx.run("poison_records", &[fx.stream.as_str(), &app]);
    example
        .until("10 orders and 2 dead letters", |l| {
            l.iter().filter(|l| l.starts_with("order ")).count() >= 10
                && l.iter().filter(|l| l.starts_with("dead-letter ")).count() >= 2
        })
        .await;
    let lines = example.terminate().await;
    let orders: Vec<&String> = lines.iter().filter(|l| l.starts_with("order ")).collect();
    let expected: Vec<String> = (0..10).map(|i| format!("order {i} {}", 100 + i)).collect();
    assert_eq!(
        orders,
        expected.iter().collect::<Vec<_>>(),
        "in order, once"
    );
    let dead: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("dead-letter "))
        .collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead[0].ends_with(" not json"), "{}", dead[0]);
    assert!(dead[1].ends_with(r#" {"id":"seven"}"#), "{}", dead[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_json_stores_every_order_and_a_consumer_reads_them_back() {
    let fx = Fixture::new(2).await;
    let produced = fx
        .run("produce_json", &[fx.stream.as_str(), "2000"])
        .exit()
        .await;
    assert_eq!(produced, vec!["stored 2000".to_owned()]);

    // Aggregated by the producer, deaggregated by the consumer example.
    let app = fx.env.unique_name("app");
    let mut reader = fx.run("consumer", &[fx.stream.as_str(), &app]);
    reader
        .until("2000 orders", |l| values(l, 3).len() >= 2000)
        .await;
    let lines = reader.terminate().await;
    let mut ids: Vec<u64> = values(&lines, 3)
        .iter()
        .map(|v| {
            serde_json::from_str::<serde_json::Value>(v).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..2000).collect::<Vec<u64>>(), "every order once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_consumer_reads_every_record() {
    let fx = Fixture::new(2).await;
    if !fx.env.require(Capability::EnhancedFanOut) {
        return;
    }
    let app = fx.env.unique_name("app");
    fx.put(numbered("efo", 100)).await;
    let mut example = fx.run("fan_out_consumer", &[fx.stream.as_str(), &app]);
    example
        .until("100 records", |l| values(l, 2).len() >= 100)
        .await;
    let lines = example.terminate().await;
    let got: BTreeSet<String> = values(&lines, 2).into_iter().collect();
    assert_eq!(got.len(), 100, "every record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_split_the_shards_and_read_every_record_once() {
    let fx = Fixture::new(4).await;
    let app = fx.env.unique_name("app");
    let mut example = fx.run("two_workers", &[fx.stream.as_str(), &app]);
    example
        .until("two leases each", |l| {
            l.iter().any(|l| l == "leases worker-a=2 worker-b=2")
        })
        .await;
    fx.put(numbered("shared", 200)).await;
    example
        .until("200 records", |l| {
            l.iter().filter(|l| l.starts_with("worker-")).count() >= 200
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lines = example.terminate().await;
    let mut by_worker: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut values = Vec::new();
    for line in lines.iter().filter(|l| l.starts_with("worker-")) {
        let parts: Vec<&str> = line.split(' ').collect();
        by_worker.entry(parts[0]).or_default().insert(parts[1]);
        values.push(parts[2]);
    }
    values.sort_unstable();
    let mut expected: Vec<String> = (0..200).map(|i| format!("shared-{i}")).collect();
    expected.sort();
    assert_eq!(values, expected, "every record once");
    assert_eq!(by_worker.len(), 2, "both workers read: {by_worker:?}");
    let shards: BTreeSet<&str> = by_worker.values().flatten().copied().collect();
    assert_eq!(shards.len(), 4, "{by_worker:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_lease_storage_sees_every_take_and_the_final_checkpoints() {
    let fx = Fixture::new(2).await;
    let app = fx.env.unique_name("app");
    fx.put(numbered("audited", 30)).await;
    let mut example = fx.run("custom_lease_storage", &[fx.stream.as_str(), &app]);
    example
        .until("30 records", |l| values(l, 2).len() >= 30)
        .await;
    let lines = example.terminate().await;
    let audit = |event: &str| -> BTreeSet<String> {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("audit {event} ")))
            .map(|l| l.split(' ').nth(2).unwrap().to_owned())
            .collect()
    };
    let shards: BTreeSet<String> = ["shardId-000000000000", "shardId-000000000001"]
        .map(String::from)
        .into();
    let acquired: BTreeSet<String> = audit("created").union(&audit("taken")).cloned().collect();
    assert_eq!(acquired, shards, "{lines:#?}");
    // The stop wrote each shard's last record and released the lease in one write.
    assert_eq!(audit("checkpointed-and-released"), shards, "{lines:#?}");
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("audit checkpointed-and-released "))
            .all(|l| l.contains("owner=-") && !l.contains("checkpoint=TRIM_HORIZON")),
        "{lines:#?}"
    );
}

/// The daemon's log (it logs each line its processors write to stderr), kept for a test to read.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    /// How many lines contain `needle`.
    fn count(&self, needle: &str) -> usize {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().filter(|l| l.contains(needle)).count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multilang_processor_handles_every_record_and_checkpoints_under_the_daemon() {
    use kinesis_lease::LeaseRepository;
    use kinesis_multilang::Daemon;
    use kinesis_multilang::properties::{DaemonConfig, parse_properties};

    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only test of this binary that installs a subscriber");

    let fx = Fixture::new(4).await;
    let app = fx.env.unique_name("app");
    fx.put(numbered("ml", 250)).await;
    let properties = format!(
        "executableName = {}\nstreamName = {}\napplicationName = {app}\n\
         initialPositionInStream = TRIM_HORIZON\nidleTimeBetweenReadsInMillis = 100\n",
        env!("CARGO_BIN_EXE_multilang_processor"),
        fx.stream
    );
    let config = DaemonConfig::from_properties(&parse_properties(&properties)).unwrap();
    let client = ClientConfig::builder()
        .sdk_config(fx.env.sdk_config())
        .build()
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(
        Daemon::new(&client, config)
            .shutdown_on(async {
                let _ = stopped.await;
            })
            .run(),
    );

    // Every record handled by a processor (each logs it to stderr, which the daemon logs).
    let deadline = Instant::now() + PATIENCE;
    while log.count("record processor stderr: record shardId-") < 250 {
        assert!(
            Instant::now() < deadline,
            "only {} of 250 records handled",
            log.count("record processor stderr: record shardId-")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A graceful stop: each processor checkpoints its last record.
    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, daemon)
        .await
        .expect("the daemon stops")
        .unwrap()
        .unwrap();

    let repository = kinesis_lease::DynamoDbLeaseRepository::new(&client, app.as_str());
    let leases = repository.list_leases().await.unwrap().leases;
    assert_eq!(leases.len(), 4);
    for lease in leases {
        let shard: kinesis_client::ShardId = lease.lease_key.to_string().parse().unwrap();
        // The last record of the shard, as Kinesis has it.
        let mut iterator = fx
            .client
            .get_shard_iterator(
                &fx.stream,
                &shard,
                kinesis_client::StartingPosition::TrimHorizon,
            )
            .await
            .unwrap();
        let mut last = None;
        loop {
            let out = fx.client.get_records(&iterator, None).await.unwrap();
            if let Some(r) = out.records().last() {
                last = Some(r.sequence_number().to_string());
            }
            match out.next_shard_iterator() {
                Some(next) if !out.records().is_empty() => iterator = next.clone(),
                _ => break,
            }
        }
        assert_eq!(
            Some(lease.checkpoint.kcl_checkpoint().to_owned()),
            last,
            "{shard}: the processor checkpointed its last record at shutdown"
        );
        assert_eq!(lease.lease_owner, None, "{shard} released");
    }
}
