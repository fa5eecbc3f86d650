//! One scenario: a stream, an application (its lease table), the workers and producers of
//! either kind, and the accounting of every record written.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kinesis_client::{
    AdminClient, Client, ClientConfig, PartitionKey, PutRecordsEntry, StreamMode, StreamName,
};

use crate::journal::{self, Entry};
use crate::leases::LeaseWatch;
use crate::process::{self, Kcl, Kind, Process};

/// Records a worker processes between two checkpoints of a shard, on both kinds.
pub const CHECKPOINT_EVERY: u64 = 10;

/// Partition keys of the records a scenario writes (`key-0` .. `key-15`).
pub const KEYS: u64 = 16;

/// A scenario's stream, application and processes.
#[derive(Debug)]
pub struct Fleet {
    label: String,
    application: String,
    stream: String,
    dir: PathBuf,
    failover: Duration,
    rust_bin: PathBuf,
    config: ClientConfig,
    client: Client,
    admin: AdminClient,
    written: Vec<String>,
    processes: BTreeMap<String, Process>,
    /// Where the workers started from now on publish DETAILED metrics, if anywhere.
    metrics_endpoint: Option<String>,
}

impl Fleet {
    /// Creates a stream of `shards` shards and an application name, both fresh; `rust_bin` is
    /// the `kcl-fleet` binary; `failover` the failover time every worker is given.
    ///
    /// # Panics
    ///
    /// When the stream cannot be created.
    pub async fn new(label: &str, shards: u32, failover: Duration, rust_bin: &str) -> Self {
        let config = ClientConfig::from_env()
            .await
            .expect("a client configuration from the environment");
        let tag = format!("{}-{}", std::process::id(), journal::now_ms() % 100_000_000);
        let application = format!("fleet-{label}-{tag}");
        let stream = format!("fleet-{label}-{tag}");
        let dir = out_dir().join(&application);
        std::fs::create_dir_all(&dir).expect("the scenario's output folder");
        let admin = AdminClient::new(&config);
        let name: StreamName = stream.parse().expect("a valid stream name");
        admin
            .create_stream(
                &name,
                StreamMode::Provisioned {
                    shard_count: shards,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("cannot create the stream {stream}: {e}"));
        eprintln!(
            "[{label}] stream {stream} ({shards} shards), application {application}, output in {}",
            dir.display()
        );
        Self {
            label: label.to_owned(),
            application,
            stream,
            dir,
            failover,
            rust_bin: PathBuf::from(rust_bin),
            client: Client::new(&config),
            config,
            admin,
            written: Vec::new(),
            processes: BTreeMap::new(),
            metrics_endpoint: None,
        }
    }

    /// The client configuration (from the environment).
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The admin client.
    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The application's name (also its lease table's).
    pub fn application(&self) -> &str {
        &self.application
    }

    /// The failover time of every worker.
    pub fn failover(&self) -> Duration {
        self.failover
    }

    /// The KCL's take interval for that failover time: `(failover + 25 ms) × 2`.
    pub fn take_interval(&self) -> Duration {
        (self.failover + Duration::from_millis(25)) * 2
    }

    /// The KCL's renew interval for that failover time: `failover / 3 − 25 ms`.
    pub fn renew_interval(&self) -> Duration {
        self.failover / 3 - Duration::from_millis(25)
    }

    /// Makes the workers and producers started from now on publish their metrics (DETAILED,
    /// every second): the workers and our producer with `PutMetricData` to the CloudWatch
    /// `endpoint` (workers under their application name), the KPL to the harness's own
    /// CloudWatch stub, which journals them ([`kpl_metrics_path`](Self::kpl_metrics_path)).
    pub fn publish_metrics_to(&mut self, endpoint: &str) {
        self.metrics_endpoint = Some(endpoint.to_owned());
    }

    /// Starts watching the lease table.
    pub fn watch_leases(&self) -> LeaseWatch {
        LeaseWatch::start(&self.config, &self.application)
    }

    fn paths(&self, name: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{name}.jsonl")),
            self.dir.join(format!("{name}.log")),
        )
    }

    /// Starts worker `id` of kind `kind` from TRIM_HORIZON.
    pub fn start(&mut self, kind: Kind, id: &str) {
        let application = self.application.clone();
        self.start_as(kind, id, &application);
    }

    /// Starts worker `id` of kind `kind` from TRIM_HORIZON, as a worker of `application` (its
    /// own lease table) rather than the scenario's.
    pub fn start_as(&mut self, kind: Kind, id: &str, application: &str) {
        let (journal, log) = self.paths(id);
        let failover = self.failover.as_millis().to_string();
        let every = CHECKPOINT_EVERY.to_string();
        let mut command = match kind {
            Kind::Rust => {
                let mut c = Command::new(&self.rust_bin);
                c.arg("worker");
                c
            }
            Kind::RustKcl3 => {
                let mut c = Command::new(&self.rust_bin);
                c.args(["worker", "--protocol", "kcl3"]);
                c
            }
            Kind::Java(kcl) => {
                let mut c = Command::new(process::java());
                c.arg("-cp")
                    .arg(process::required_var(kcl.classpath_variable()))
                    .arg(worker_main());
                c.args(["--kinesis-endpoint", &endpoint("AWS_ENDPOINT_URL_KINESIS")]);
                c.args([
                    "--dynamodb-endpoint",
                    &endpoint("AWS_ENDPOINT_URL_DYNAMODB"),
                ]);
                match kcl {
                    Kcl::V2 => {}
                    Kcl::V3Compatible => {
                        c.args(["--kcl3-mode", "compatible"]);
                    }
                    Kcl::V3 => {
                        c.args(["--kcl3-mode", "3x"]);
                    }
                }
                c
            }
        };
        if let Some(endpoint) = &self.metrics_endpoint {
            command.args([
                "--metrics-level",
                "DETAILED",
                "--metrics-buffer-millis",
                "1000",
            ]);
            match kind {
                Kind::Java(_) => {
                    command.args(["--cloudwatch-endpoint", endpoint]);
                }
                Kind::Rust | Kind::RustKcl3 => {
                    command.env("AWS_ENDPOINT_URL_CLOUDWATCH", endpoint);
                }
            }
        }
        command
            .args(["--application", application])
            .args(["--stream", &self.stream])
            .args(["--worker-id", id])
            .args(["--initial-position", "TRIM_HORIZON"])
            .args(["--failover-millis", &failover])
            .args(["--checkpoint-every", &every])
            .arg("--output")
            .arg(&journal);
        eprintln!("[{}] starting {kind} worker {id}", self.label);
        let process = Process::spawn(id, command, &journal, &log);
        self.processes.insert(id.to_owned(), process);
    }

    /// Stops worker `id` gracefully (bounded by 60 s); returns whether it exited cleanly.
    pub fn stop(&mut self, id: &str) -> bool {
        eprintln!("[{}] stopping {id}", self.label);
        self.processes
            .get_mut(id)
            .unwrap_or_else(|| panic!("no process {id}"))
            .stop(Duration::from_secs(60))
    }

    /// Kills worker `id` (SIGKILL).
    pub fn kill(&mut self, id: &str) {
        eprintln!("[{}] killing {id}", self.label);
        self.processes
            .get_mut(id)
            .unwrap_or_else(|| panic!("no process {id}"))
            .kill();
    }

    /// Stops every process still running, gracefully.
    pub fn stop_all(&mut self) {
        let ids: Vec<String> = self.processes.keys().cloned().collect();
        for id in ids {
            let running = self.processes.get_mut(&id).is_some_and(Process::is_running);
            if running {
                self.stop(&id);
            }
        }
    }

    /// Writes the records `r-n` for `n` in `range` (partition key `key-(n % 16)`), one
    /// PutRecord each, in order.
    ///
    /// # Panics
    ///
    /// When a write fails.
    pub async fn put(&mut self, range: Range<u64>) {
        for n in range {
            let data = format!("r-{n}");
            let key = PartitionKey::new(format!("key-{}", n % KEYS)).expect("a valid key");
            let name: StreamName = self.stream.parse().expect("a valid stream name");
            self.client
                .put_record(&name, PutRecordsEntry::new(data.clone(), key))
                .await
                .unwrap_or_else(|e| panic!("writing {data} to {} failed: {e}", self.stream));
            self.written.push(data);
        }
    }

    /// Where the KPL run of `prefix` journals the metrics it uploaded (one line per datum, from
    /// the harness's CloudWatch stub), when metrics are on.
    pub fn kpl_metrics_path(&self, prefix: &str) -> PathBuf {
        self.dir.join(format!("kpl-{prefix}-metrics.jsonl"))
    }

    /// Runs a producer to completion: the real KPL (`kpl = true`, through kinesis-local's TLS
    /// port) or this crate's `kcl-fleet produce` (our producer, KPL aggregation on); records
    /// `prefix-n` for `n` in `0..count`. Every record the producer reports stored is added to
    /// the written set.
    ///
    /// # Panics
    ///
    /// When the producer fails.
    pub fn produce(&mut self, kpl: bool, prefix: &str, count: u64) -> Vec<Entry> {
        let name = if kpl { "kpl" } else { "rust-producer" };
        let (journal, log) = self.paths(&format!("{name}-{prefix}"));
        let mut command = if kpl {
            let mut c = Command::new(process::java());
            c.arg("-cp")
                .arg(process::required_var("KCL_FLEET_KPL_CLASSPATH"))
                .arg(producer_main());
            let tls = endpoint("KINESIS_TESTKIT_KINESIS_TLS_ENDPOINT");
            let (host, port) = host_port(&tls);
            c.args(["--kinesis-host", &host, "--kinesis-port", &port]);
            for (flag, var) in [
                ("--sts-host", "KCL_FLEET_STS_HOST"),
                ("--sts-port", "KCL_FLEET_STS_PORT"),
            ] {
                if let Ok(v) = std::env::var(var) {
                    c.args([flag, &v]);
                }
            }
            c
        } else {
            let mut c = Command::new(&self.rust_bin);
            c.arg("produce");
            c
        };
        if let Some(endpoint) = &self.metrics_endpoint {
            if kpl {
                command
                    .arg("--metrics-output")
                    .arg(self.kpl_metrics_path(prefix));
            } else {
                command.env("AWS_ENDPOINT_URL_CLOUDWATCH", endpoint).args([
                    "--metrics-level",
                    "DETAILED",
                    "--metrics-buffer-millis",
                    "1000",
                ]);
            }
        }
        command
            .args(["--stream", &self.stream])
            .args(["--count", &count.to_string()])
            .args(["--keys", &KEYS.to_string()])
            .args(["--prefix", prefix])
            .arg("--output")
            .arg(&journal);
        eprintln!("[{}] {name}: writing {count} records", self.label);
        let mut process = Process::spawn(name, command, &journal, &log);
        let ok = process.wait(Duration::from_secs(180));
        let entries = journal::read(&journal);
        assert!(
            ok,
            "{name} failed; see {} (journal: {} lines)",
            log.display(),
            entries.len()
        );
        for e in entries.iter().filter(|e| e.event == "put") {
            let n = e.u64("n").expect("n");
            self.written.push(format!("{prefix}-{n}"));
        }
        entries
    }

    /// Every line of every worker journal, each journal in its own order.
    pub fn entries(&self) -> Vec<Entry> {
        self.processes
            .values()
            .filter(|p| p.name() != "kpl" && p.name() != "rust-producer")
            .flat_map(|p| journal::read(p.journal()))
            .collect()
    }

    /// The journal of worker `id`.
    pub fn journal(&self, id: &str) -> Vec<Entry> {
        self.processes
            .get(id)
            .map(|p| journal::read(p.journal()))
            .unwrap_or_default()
    }

    /// The log file of process `id`.
    pub fn log(&self, id: &str) -> Option<&Path> {
        self.processes.get(id).map(Process::log)
    }

    /// The records written so far.
    pub fn written(&self) -> &[String] {
        &self.written
    }

    /// Waits until every record written was processed by some worker, at most `timeout`;
    /// returns how long it took, or `None`.
    pub async fn wait_processed(&self, timeout: Duration) -> Option<Duration> {
        let started = Instant::now();
        loop {
            if self.account().missing.is_empty() {
                return Some(started.elapsed());
            }
            if started.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Accounts for every record written.
    pub fn account(&self) -> Accounting {
        Accounting::of(&self.written, &self.entries())
    }

    /// Deletes the stream (the lease table stays for inspection).
    pub async fn delete_stream(&self) {
        let name: StreamName = self.stream.parse().expect("a valid stream name");
        let _ = self.admin.delete_stream(&name).await;
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for process in self.processes.values_mut() {
            process.kill();
        }
    }
}

fn worker_main() -> String {
    std::env::var("KCL_FLEET_WORKER_MAIN").unwrap_or_else(|_| "KclWorker".into())
}

fn producer_main() -> String {
    std::env::var("KCL_FLEET_PRODUCER_MAIN").unwrap_or_else(|_| "KplProducer".into())
}

fn endpoint(var: &str) -> String {
    process::required_var(var)
}

fn host_port(url: &str) -> (String, String) {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.to_owned()),
        None => (rest.to_owned(), "443".to_owned()),
    }
}

/// Where scenarios write their journals and logs: `$KCL_FLEET_OUT`, or `target/kcl-fleet`.
pub fn out_dir() -> PathBuf {
    std::env::var_os("KCL_FLEET_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kcl-fleet"))
}

/// Every record written, accounted for.
#[derive(Debug, Default)]
pub struct Accounting {
    /// Records written.
    pub written: usize,
    /// Written records no worker processed.
    pub missing: Vec<String>,
    /// Processings beyond the first of a record (redeliveries, and copies written twice).
    pub duplicates: usize,
    /// Of those, processings of another copy of the record (another shard or sequence number):
    /// the producer wrote it twice, as it may when it retries a call whose answer was lost.
    pub written_twice: usize,
    /// Redeliveries of a record that its first processor had already checkpointed (at or past
    /// it) before the redelivering worker started the shard: that worker should have started
    /// from the checkpoint. What at-least-once processing must never do.
    pub redelivered_after_checkpoint: Vec<String>,
    /// Processed records that were never written.
    pub unexpected: Vec<String>,
    /// Records processed per worker (with redeliveries).
    pub by_worker: BTreeMap<String, usize>,
    /// Per partition key, first processings out of write order (`key: n after m`). Meaningful
    /// where records were written one at a time in order (the KPL may reorder what it sends).
    pub order_violations: Vec<String>,
    /// Per shard, first processings out of the shard's order (sequence, then sub-sequence
    /// number): what the KCL guarantees to each record processor.
    pub shard_order_violations: Vec<String>,
    /// Shard starts that continued from another holding (hand-overs).
    pub handovers: usize,
    /// Records processed with a sub-sequence number above 0 (from aggregates).
    pub aggregated: usize,
}

impl Accounting {
    /// Accounts for `written` against the `record` lines of `entries`.
    pub fn of(written: &[String], entries: &[Entry]) -> Self {
        let mut out = Accounting {
            written: written.len(),
            ..Accounting::default()
        };
        let wanted: BTreeSet<&str> = written.iter().map(String::as_str).collect();
        let mut records: Vec<&Entry> = entries.iter().filter(|e| e.event == "record").collect();
        // Journals are each in order; across them, by time (stable: ties keep journal order).
        records.sort_by_key(|e| e.time_ms);
        // Each worker's successful checkpoints per shard: (time, position).
        let mut checkpoints: HashMap<(&str, &str), Vec<(u64, Position<'_>)>> = HashMap::new();
        for e in entries.iter().filter(|e| e.event == "checkpoint") {
            if let (Some(worker), Some(shard), Some(sequence)) =
                (e.worker.as_deref(), e.shard.as_deref(), e.str("sequence"))
            {
                checkpoints.entry((worker, shard)).or_default().push((
                    e.time_ms,
                    Position::of(sequence, e.u64("subsequence").unwrap_or(0)),
                ));
            }
        }
        // When each worker (re)started each shard: a redelivery counts against a checkpoint only
        // if the redelivering holding started after it (it should have started from it). A
        // holder that keeps processing after its lease was taken, until it notices, is bounded
        // by the double-processing check instead.
        let mut starts: HashMap<(&str, &str), Vec<u64>> = HashMap::new();
        for e in entries.iter().filter(|e| e.event == "initialized") {
            if let (Some(worker), Some(shard)) = (e.worker.as_deref(), e.shard.as_deref()) {
                starts.entry((worker, shard)).or_default().push(e.time_ms);
            }
        }
        // The first processing of each record: its worker, shard and position.
        let mut first: HashMap<&str, (&str, &str, Position<'_>)> = HashMap::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut last_per_key: HashMap<&str, (&str, u64)> = HashMap::new();
        let mut last_per_shard: HashMap<&str, (usize, &str, u64)> = HashMap::new();
        for e in &records {
            let data = e.str("data").unwrap_or_default();
            *out.by_worker
                .entry(e.worker.clone().unwrap_or_default())
                .or_insert(0) += 1;
            if e.u64("subsequence").unwrap_or(0) > 0 {
                out.aggregated += 1;
            }
            if !wanted.contains(data) {
                out.unexpected.push(data.to_owned());
                continue;
            }
            if !seen.insert(data) {
                out.duplicates += 1;
                if let Some(&(_, shard, position)) = first.get(data)
                    && (e.shard.as_deref() != Some(shard)
                        || e.str("sequence")
                            .map(|s| Position::of(s, e.u64("subsequence").unwrap_or(0)))
                            != Some(position))
                {
                    out.written_twice += 1;
                    continue;
                }
                if let Some(&(worker, shard, position)) = first.get(data) {
                    let holding_start = e.worker.as_deref().and_then(|again| {
                        starts
                            .get(&(again, shard))
                            .and_then(|list| list.iter().copied().filter(|t| *t <= e.time_ms).max())
                    });
                    let covered = checkpoints.get(&(worker, shard)).is_some_and(|list| {
                        list.iter().any(|(at, checkpoint)| {
                            *at <= e.time_ms
                                && holding_start.is_none_or(|start| *at <= start)
                                && *checkpoint >= position
                        })
                    });
                    if covered {
                        out.redelivered_after_checkpoint.push(format!(
                            "{data} on {shard}: checkpointed by {worker}, processed again by {}",
                            e.worker.as_deref().unwrap_or("?")
                        ));
                    }
                }
                continue;
            }
            if let (Some(worker), Some(shard), Some(sequence)) =
                (e.worker.as_deref(), e.shard.as_deref(), e.str("sequence"))
            {
                first.insert(
                    data,
                    (
                        worker,
                        shard,
                        Position::of(sequence, e.u64("subsequence").unwrap_or(0)),
                    ),
                );
            }
            if let (Some(shard), Some(sequence)) = (e.shard.as_deref(), e.str("sequence")) {
                // Sequence numbers are decimal without leading zeros: compare by length, then text.
                let position = (sequence.len(), sequence, e.u64("subsequence").unwrap_or(0));
                if let Some(last) = last_per_shard.get(shard)
                    && *last > position
                {
                    out.shard_order_violations.push(format!(
                        "{shard}: {sequence}/{} after {}/{}",
                        position.2, last.1, last.2
                    ));
                }
                last_per_shard.insert(shard, position);
            }
            let Some((prefix, n)) = data
                .rsplit_once('-')
                .and_then(|(p, n)| Some((p, n.parse::<u64>().ok()?)))
            else {
                continue;
            };
            let key = e.str("partition_key").unwrap_or_default();
            if let Some((last_prefix, last)) = last_per_key.get(key)
                && *last_prefix == prefix
                && *last > n
            {
                out.order_violations
                    .push(format!("{key}: {prefix}-{n} after {prefix}-{last}"));
            }
            last_per_key.insert(key, (prefix, n));
        }
        out.missing = wanted
            .iter()
            .filter(|d| !seen.contains(*d))
            .map(|d| (*d).to_owned())
            .collect();
        let mut started: BTreeSet<&str> = BTreeSet::new();
        for e in entries.iter().filter(|e| e.event == "initialized") {
            if let Some(shard) = e.shard.as_deref()
                && !started.insert(shard)
            {
                out.handovers += 1;
            }
        }
        out
    }

    /// Asserts what every scenario with hand-overs requires: nothing missing or unexpected, no
    /// record redelivered that its first processor had checkpointed (a lease stolen in the
    /// middle of a burst redelivers what was processed since the last checkpoint, however many
    /// records that is), each shard processed in its order.
    ///
    /// # Panics
    ///
    /// When one of them does not hold.
    pub fn assert_sound(&self) {
        assert!(self.missing.is_empty(), "missing {:?}", self.missing);
        assert!(
            self.unexpected.is_empty(),
            "unexpected {:?}",
            self.unexpected
        );
        assert!(
            self.redelivered_after_checkpoint.is_empty(),
            "records redelivered although checkpointed: {:?}",
            self.redelivered_after_checkpoint
        );
        assert!(
            self.shard_order_violations.is_empty(),
            "{:?}",
            self.shard_order_violations
        );
    }

    /// One line for the scenario's report.
    pub fn summary(&self) -> String {
        format!(
            "written {}, missing {}, duplicates {} ({} of them checkpointed before), unexpected {}, order violations {} by key and {} by shard, hand-overs {}, aggregated sub-records {}, per worker {:?}",
            self.written,
            self.missing.len(),
            self.duplicates,
            self.redelivered_after_checkpoint.len(),
            self.unexpected.len(),
            self.order_violations.len(),
            self.shard_order_violations.len(),
            self.handovers,
            self.aggregated,
            self.by_worker
        )
    }
}

/// Where two workers processed records of one shard at the same time: for each shard, the
/// longest time by which a worker still processed records after another worker had started
/// the shard (from its `initialized` line). In milliseconds; 0 when holdings never overlap.
pub fn double_processing_ms(entries: &[Entry]) -> BTreeMap<String, u64> {
    // Per shard: (worker, start) of every holding, and (worker, time) of every record.
    let mut starts: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    let mut records: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    for e in entries {
        let (Some(shard), Some(worker)) = (e.shard.as_deref(), e.worker.as_deref()) else {
            continue;
        };
        match e.event.as_str() {
            "initialized" => starts.entry(shard).or_default().push((worker, e.time_ms)),
            "record" => records.entry(shard).or_default().push((worker, e.time_ms)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for (shard, starts) in &starts {
        let mut worst = 0;
        for (new_holder, started) in starts {
            for (worker, at) in records.get(shard).into_iter().flatten() {
                if worker != new_holder && at > started {
                    // A record processed by another worker after this start: is it a holding
                    // of that worker begun before this one?
                    let other_started_before = starts
                        .iter()
                        .filter(|(w, s)| w == worker && s <= started)
                        .count()
                        > 0;
                    let other_restarted_after = starts
                        .iter()
                        .any(|(w, s)| w == worker && s > started && s <= at);
                    if other_started_before && !other_restarted_after {
                        worst = worst.max(at - started);
                    }
                }
            }
        }
        out.insert((*shard).to_owned(), worst);
    }
    out
}

/// A position in a shard as the journals write it: a sequence number (decimal, compared by
/// length then text) or a sentinel, and a sub-sequence number. `SHARD_END` is past every record;
/// the other sentinels are before them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Position<'a> {
    Before,
    At(usize, &'a str, u64),
    End,
}

impl<'a> Position<'a> {
    fn of(sequence: &'a str, subsequence: u64) -> Self {
        match sequence {
            "SHARD_END" => Position::End,
            s if s.starts_with(|c: char| c.is_ascii_digit()) => {
                Position::At(s.len(), s, subsequence)
            }
            _ => Position::Before,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(event: &str, worker: &str, time_ms: u64, fields: serde_json::Value) -> Entry {
        let mut fields = fields;
        fields["event"] = json!(event);
        Entry {
            event: event.to_owned(),
            worker: Some(worker.to_owned()),
            shard: Some("shardId-000000000000".to_owned()),
            time_ms,
            fields,
        }
    }

    fn record(worker: &str, time_ms: u64, data: &str, sequence: &str) -> Entry {
        entry(
            "record",
            worker,
            time_ms,
            json!({"data": data, "sequence": sequence}),
        )
    }

    fn initialized(worker: &str, time_ms: u64) -> Entry {
        entry("initialized", worker, time_ms, json!({}))
    }

    fn checkpoint(worker: &str, time_ms: u64, sequence: &str) -> Entry {
        entry(
            "checkpoint",
            worker,
            time_ms,
            json!({"sequence": sequence, "subsequence": 0}),
        )
    }

    #[test]
    fn a_record_written_twice_is_a_duplicate_but_not_a_redelivery() {
        let written = vec!["r-1".to_owned()];
        // The producer's retry of a call whose answer was lost wrote r-1 again at 105; A
        // checkpointed the first copy, B consumes the second after starting from there.
        let entries = vec![
            initialized("a", 0),
            record("a", 1, "r-1", "100"),
            checkpoint("a", 2, "100"),
            initialized("b", 3),
            record("b", 4, "r-1", "105"),
        ];
        let account = Accounting::of(&written, &entries);
        assert_eq!((account.duplicates, account.written_twice), (1, 1));
        assert!(account.redelivered_after_checkpoint.is_empty());
        assert!(account.missing.is_empty());
    }

    #[test]
    fn a_redelivery_is_wrong_only_past_a_checkpoint_made_before_it() {
        let written = vec!["r-1".to_owned(), "r-2".to_owned()];
        // A processed both and checkpointed r-1 before B processed them again: r-2 may be
        // redelivered, r-1 may not.
        let entries = vec![
            initialized("a", 0),
            record("a", 1, "r-1", "100"),
            record("a", 2, "r-2", "101"),
            checkpoint("a", 3, "100"),
            initialized("b", 4),
            record("b", 4, "r-1", "100"),
            record("b", 5, "r-2", "101"),
        ];
        let account = Accounting::of(&written, &entries);
        assert_eq!(account.duplicates, 2);
        assert_eq!(account.redelivered_after_checkpoint.len(), 1);
        assert!(account.redelivered_after_checkpoint[0].starts_with("r-1"));

        // B had started the shard before A's checkpoint (A took it from B, and B processes on
        // until it notices): not a redelivery from a stale checkpoint.
        let entries = vec![
            initialized("b", 0),
            initialized("a", 0),
            record("a", 1, "r-1", "100"),
            checkpoint("a", 2, "100"),
            record("b", 3, "r-1", "100"),
        ];
        assert!(
            Accounting::of(&written[..1], &entries)
                .redelivered_after_checkpoint
                .is_empty()
        );

        // The same checkpoint written after the redelivery explains nothing away.
        let entries = vec![
            record("a", 1, "r-1", "100"),
            record("b", 2, "r-1", "100"),
            checkpoint("a", 3, "SHARD_END"),
        ];
        assert!(
            Accounting::of(&written[..1], &entries)
                .redelivered_after_checkpoint
                .is_empty()
        );
    }
}
