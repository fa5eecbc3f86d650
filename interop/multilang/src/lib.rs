//! The harness of the multilang interop scenarios: third-party record processors (Python on
//! `amazon_kclpy`, Node on `aws-kcl`) run by this workspace's MultiLangDaemon, and a Rust
//! processor (`src/bin/rust-processor.rs`) run by the Java KCL's MultiLangDaemon ([`java`]) and
//! by ours, against the test kit's servers; and what the processors saw.
//!
//! `cargo xtask test --tier interop` installs the processors' libraries from PyPI and npm and
//! sets `MULTILANG_PYTHONPATH` (the folder holding `amazon_kclpy`) and `MULTILANG_NODE_PATH`
//! (the `node_modules` holding `aws-kcl`) for `tests/processors.rs`; `cargo xtask test --tier
//! kcl` resolves the Java daemon with Maven and sets `MULTILANG_JAVA_CLASSPATH` for
//! `tests/java_daemon.rs`. Without them the scenarios fail, saying so.

#![allow(
    clippy::disallowed_methods,
    reason = "the scenarios wait on real processes in real time"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kinesis_client::{ClientConfig, StreamId};
use kinesis_lease::{DynamoDbLeaseRepository, Lease, LeaseRepository};
use kinesis_multilang::Daemon;
use kinesis_multilang::properties::{DaemonConfig, parse_properties};
use kinesis_producer::{AggregationSettings, Producer, ProducerRecord, ProducerSettings};
use kinesis_testkit::TestEnv;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which processor to run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Language {
    /// `processors/python/processor.py` on amazon_kclpy.
    Python,
    /// `processors/node/processor.js` on aws-kcl.
    Node,
}

pub mod java;

fn required_var(name: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
        panic!("{name} is not set: run these scenarios with `cargo xtask test --tier interop`, which installs the processors' libraries")
    })
}

fn processors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("processors")
}

/// The processor's command line (`executableName`), with its environment given through `env`
/// (the daemon splits the command at spaces, as the Java daemon does).
pub fn command(language: Language, output: &Path, fault: Option<&str>) -> String {
    let mut parts = vec![
        "env".to_owned(),
        format!("MULTILANG_OUTPUT_DIR={}", output.display()),
    ];
    if let Some(fault) = fault {
        parts.push(format!("MULTILANG_FAULT={fault}"));
    }
    match language {
        Language::Python => {
            parts.push(format!(
                "PYTHONPATH={}",
                required_var("MULTILANG_PYTHONPATH")
            ));
            parts.push("python3".to_owned());
            parts.push(
                processors_dir()
                    .join("python/processor.py")
                    .display()
                    .to_string(),
            );
        }
        Language::Node => {
            parts.push(format!("NODE_PATH={}", required_var("MULTILANG_NODE_PATH")));
            parts.push("node".to_owned());
            parts.push(
                processors_dir()
                    .join("node/processor.js")
                    .display()
                    .to_string(),
            );
        }
    }
    parts.join(" ")
}

/// The command line of the Rust processor `processor` (this crate's `rust-processor` binary)
/// writing to `output`.
pub fn rust_command(processor: &str, output: &Path) -> String {
    format!("env MULTILANG_OUTPUT_DIR={} {processor}", output.display())
}

/// One run of the daemon in this process, stopped gracefully by [`RunningDaemon::stop`].
#[derive(Debug)]
pub struct RunningDaemon {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningDaemon {
    /// Starts the daemon with the properties file `text`.
    pub async fn start(env: &TestEnv, text: &str) -> Self {
        let config = DaemonConfig::from_properties(&parse_properties(text)).expect("properties");
        assert!(config.ignored.is_empty(), "{:?}", config.ignored);
        let client = client_config(env).await;
        let (stop, stopped) = oneshot::channel::<()>();
        let daemon = Daemon::new(&client, config).shutdown_on(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move {
            daemon.run().await.expect("the daemon runs");
        });
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Asks for a graceful shutdown and waits (at most 60 s) until every processor exited.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(60), &mut self.task)
            .await
            .expect("the daemon stops within 60 s")
            .expect("the daemon task");
    }
}

/// A properties file for `stream` and `application`.
pub fn properties(stream: &str, application: &str, command: &str, extra: &str) -> String {
    format!(
        "executableName = {command}\nstreamName = {stream}\napplicationName = {application}\n\
         initialPositionInStream = TRIM_HORIZON\nidleTimeBetweenReadsInMillis = 100\nmaxRecords = 50\n\
         failoverTimeMillis = 3000\nshardSyncIntervalMillis = 1000\n{extra}"
    )
}

/// Writes `count` records numbered from `first` (data `n=<i>`) with the producer.
pub async fn produce(env: &TestEnv, stream: &str, first: u64, count: u64, aggregate: bool) {
    let config = client_config(env).await;
    let mut settings = ProducerSettings::default();
    if aggregate {
        settings = settings.with_aggregation(AggregationSettings::default());
    }
    let producer: Producer<Bytes> =
        Producer::builder(&config, stream.parse::<StreamId>().expect("stream name"))
            .settings(settings)
            .build()
            .await
            .expect("producer");
    let mut handles = Vec::new();
    for i in first..first + count {
        handles.push(
            producer
                .send(ProducerRecord::new(
                    format!("key-{}", i % 7),
                    Bytes::from(format!("n={i}")),
                ))
                .await
                .expect("send"),
        );
    }
    producer.flush().await.expect("flush");
    for handle in handles {
        handle.await.expect("every record stored");
    }
    producer.shutdown().await;
}

/// A record as a processor saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The shard.
    pub shard: String,
    /// The sequence number.
    pub sequence_number: String,
    /// The sub-sequence number as the processor printed it.
    pub sub_sequence_number: String,
    /// The record's number (data `n=<i>`).
    pub n: u64,
    /// The output file (one per processor process).
    pub file: String,
}

/// Every record every processor wrote to `output`, by complete lines: a processor that is
/// running may be writing its last line as the files are read.
pub fn seen(output: &Path) -> Vec<Seen> {
    let mut all = Vec::new();
    let Ok(entries) = std::fs::read_dir(output) else {
        return all;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".txt") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.split_inclusive('\n') {
            let Some(line) = line.strip_suffix('\n') else {
                continue;
            };
            let parts: Vec<&str> = line.splitn(4, ' ').collect();
            let [shard, seq, sub, data] = parts[..] else {
                panic!("{name}: malformed line {line:?}");
            };
            let n = data
                .strip_prefix("n=")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{name}: unexpected data {data:?}"));
            all.push(Seen {
                shard: shard.to_owned(),
                sequence_number: seq.to_owned(),
                sub_sequence_number: sub.to_owned(),
                n,
                file: name.clone(),
            });
        }
    }
    all
}

/// Waits (at most `within`) until the processors saw every record numbered `0..count`; returns
/// what they saw.
pub async fn wait_for_all(output: &Path, count: u64, within: Duration) -> Vec<Seen> {
    let deadline = Instant::now() + within;
    loop {
        let seen = seen(output);
        let missing: Vec<u64> = {
            let have: std::collections::BTreeSet<u64> = seen.iter().map(|s| s.n).collect();
            (0..count).filter(|n| !have.contains(n)).collect()
        };
        if missing.is_empty() {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "after {within:?}, {} of {count} records never reached a processor (the first: {:?})",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (at most `within`) until some record reached two processor processes: the records of
/// a processor that failed before checkpointing them, delivered again to the one that took
/// its place.
pub async fn wait_for_redelivery(output: &Path, within: Duration) -> Vec<Seen> {
    let deadline = Instant::now() + within;
    loop {
        let seen = seen(output);
        let mut files: BTreeMap<u64, std::collections::BTreeSet<&str>> = BTreeMap::new();
        for s in &seen {
            files.entry(s.n).or_default().insert(&s.file);
        }
        if let Some((n, f)) = files.iter().find(|(_, f)| f.len() > 1) {
            eprintln!("record n={n} reached {f:?}");
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "after {within:?}, no record was delivered again to a second processor"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A client configuration for `env`'s servers.
pub async fn client_config(env: &TestEnv) -> ClientConfig {
    ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .expect("client config")
}

/// The leases of `application`, by shard.
pub async fn leases(env: &TestEnv, application: &str) -> BTreeMap<String, Lease> {
    let config = client_config(env).await;
    let repo = DynamoDbLeaseRepository::new(&config, application);
    repo.list_leases()
        .await
        .expect("the lease table")
        .leases
        .into_iter()
        .map(|l| (l.lease_key.to_string(), l))
        .collect()
}
