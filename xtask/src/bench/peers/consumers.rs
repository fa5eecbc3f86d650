//! The consumers of `cargo xtask bench peers`: this consumer next to the Java KCL 2.x and 3.x
//! workers of the interop harness (`interop/kcl-worker`, `KclWorker --expect`), each a process
//! of its own and a new application, reading one pre-filled stream of the instant server from
//! TRIM_HORIZON with a handler that only counts, leases in the external emulators' DynamoDB
//! (moto). Per run: the time from the process's start to its first record and to its last,
//! records/s from the first record to the last, CPU seconds of its process tree per million
//! records, and its tree's peak RSS.

use super::*;

/// The contenders: key, label.
pub(super) const CONSUMERS: [(&str, &str); 3] = [
    ("consumer", "this consumer, polling"),
    ("kcl2", "Java KCL 2.7.2, polling"),
    ("kcl3", "Java KCL 3.5.1 (2.x-compatible mode), polling"),
];

/// Target: this consumer's records/s over each KCL's.
pub(super) const SPEED_TARGET: f64 = 1.0;
/// Target: a KCL's CPU per record over this consumer's.
pub(super) const CPU_TARGET: f64 = 2.0;
/// Target: a KCL's peak RSS over this consumer's.
pub(super) const MEMORY_TARGET: f64 = 4.0;
/// Target: a KCL's time to its first record over this consumer's.
pub(super) const START_TARGET: f64 = 5.0;

/// The stream the consumers read.
const STREAM: &str = "consumed";

/// What the consumers' runs need.
pub(super) struct Inputs<'a> {
    pub(super) cfg: &'a emulators::Config,
    pub(super) server_exe: &'a Path,
    pub(super) leaf: &'a Path,
    pub(super) key: &'a Path,
    pub(super) ca: &'a Path,
    /// The producer benchmark, which fills the stream.
    pub(super) producer_exe: &'a Path,
    pub(super) consumer_exe: PathBuf,
    pub(super) kcl2_classpath: String,
    pub(super) kcl3_classpath: String,
    pub(super) records: u64,
}

/// One consumer's run.
#[derive(Debug, Default, Clone, Copy)]
struct ConsumerRun {
    first_s: f64,
    last_s: f64,
    rate: f64,
    cpu_secs: f64,
    peak_rss_mib: f64,
}

/// Starts the emulators and a server that keeps its records, fills the stream (this producer,
/// no aggregation: one Kinesis record per user record), runs the rounds; adds the figures to
/// `out`.
pub(super) fn measure(out: &mut Output, inputs: &Inputs<'_>) -> Result<()> {
    eprintln!("== bench peers: consumers");
    let running = emulators::up(inputs.cfg, false)?;
    let mut guard = emulators::Guard::new(inputs.cfg.clone(), running);
    let dynamodb = inputs
        .cfg
        .exports()
        .into_iter()
        .find(|(k, _)| *k == "AWS_ENDPOINT_URL_DYNAMODB")
        .map(|(_, v)| v)
        .ok_or_else(|| Error::new("the emulators export no DynamoDB endpoint"))?;
    let mut server =
        InstantServer::start(inputs.server_exe, inputs.leaf, inputs.key, STREAM, false)?;
    let kinesis = format!("http://127.0.0.1:{}", server.http_port);
    let filled = fill(inputs, server.tls_port);
    let measured = filled.and_then(|()| rounds(out, inputs, &kinesis, &dynamodb));
    server.stop();
    let stopped = guard.stop();
    measured.and(stopped)
}

/// Writes the records the consumers read.
fn fill(inputs: &Inputs<'_>, tls_port: u16) -> Result<()> {
    let started = Instant::now();
    let mut cmd = Command::new(inputs.producer_exe);
    cmd.arg("--peer-child")
        .arg("producer")
        .arg(format!("https://localhost:{tls_port}"))
        .arg(inputs.ca)
        .arg(STREAM)
        .arg(inputs.records.to_string());
    let filled = run_process(cmd).map_err(|e| Error::new(format!("filling {STREAM}: {e}")))?;
    if filled.number("records") != Some(inputs.records as f64) {
        return Err(Error::new(format!("filling {STREAM}: {}", filled.line)));
    }
    eprintln!(
        "  {} records written to {STREAM} in {}",
        inputs.records,
        util::secs(started.elapsed())
    );
    Ok(())
}

fn command(
    inputs: &Inputs<'_>,
    contender: &str,
    application: &str,
    kinesis: &str,
    dynamodb: &str,
) -> Command {
    let records = inputs.records.to_string();
    match contender {
        "consumer" => {
            let mut cmd = Command::new(&inputs.consumer_exe);
            cmd.args([
                "--peer-child",
                kinesis,
                dynamodb,
                STREAM,
                application,
                &records,
            ]);
            cmd
        }
        kcl => {
            let classpath = if kcl == "kcl2" {
                &inputs.kcl2_classpath
            } else {
                &inputs.kcl3_classpath
            };
            let journal = util::workspace_root()
                .join("target/bench-peers")
                .join(format!("{application}.jsonl"));
            let mut cmd = Command::new("java");
            // The Java SDK speaks CBOR to Kinesis unless told not to; the server speaks JSON
            // (`AWS_CBOR_DISABLED=true` does not turn it off: the SDK reads that variable as
            // whether CBOR is enabled).
            cmd.arg("-Daws.cborEnabled=false")
                .arg("-cp")
                .arg(classpath)
                .arg("KclWorker")
                .args(["--application", application, "--stream", STREAM])
                .args(["--worker-id", "peer-kcl", "--output"])
                .arg(journal)
                .args([
                    "--kinesis-endpoint",
                    kinesis,
                    "--dynamodb-endpoint",
                    dynamodb,
                ])
                .args(["--expect", &records])
                .env("AWS_ACCESS_KEY_ID", "AKIDPEERBENCH")
                .env("AWS_SECRET_ACCESS_KEY", "peer-bench-secret");
            cmd
        }
    }
}

fn rounds(out: &mut Output, inputs: &Inputs<'_>, kinesis: &str, dynamodb: &str) -> Result<()> {
    let _ = fs::create_dir_all(util::workspace_root().join("target/bench-peers"));
    let records = inputs.records as f64;
    let mut runs: BTreeMap<&str, Vec<ConsumerRun>> = BTreeMap::new();
    for round in 0..ROUNDS {
        for i in 0..CONSUMERS.len() {
            let (contender, _) = CONSUMERS[(i + round) % CONSUMERS.len()];
            // A new application each run: its own lease table, read from the start.
            let application = format!("peers-{contender}-{}-{}", round + 1, std::process::id());
            let finished = run_process(command(inputs, contender, &application, kinesis, dynamodb))
                .map_err(|e| Error::new(format!("{contender}, round {}: {e}", round + 1)))?;
            let (Some(done), Some(first), Some(last)) = (
                finished.number("records"),
                finished.number("first_ms"),
                finished.number("last_ms"),
            ) else {
                return Err(Error::new(format!(
                    "{contender}: result without records, first_ms or last_ms: {}",
                    finished.line
                )));
            };
            if done < records {
                return Err(Error::new(format!(
                    "{contender}: read {done} of {records} records"
                )));
            }
            // At least a millisecond from the first record to the last.
            let reading = ((last - first) / 1000.0).max(0.001);
            let run = ConsumerRun {
                first_s: (first - finished.spawned_ms) / 1000.0,
                last_s: (last - finished.spawned_ms) / 1000.0,
                rate: records / reading,
                cpu_secs: finished.cpu_secs,
                peak_rss_mib: finished.peak_rss_mib,
            };
            eprintln!(
                "  round {} {contender:<9} first record {:>6.2} s  last {:>6.2} s  {:>10} records/s  {:>7.2} CPU s per million  {:>7.1} MiB",
                round + 1,
                run.first_s,
                run.last_s,
                thousands(run.rate),
                run.cpu_secs / records * 1e6,
                run.peak_rss_mib
            );
            emit(
                out,
                &format!("consumers.{contender}.rate.round{}", round + 1),
                run.rate,
                "records/s",
            );
            runs.entry(contender).or_default().push(run);
        }
    }
    emit(out, "consumers.records", records, "records");
    for (contender, runs) in &runs {
        let median = |f: fn(&ConsumerRun) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let figures = [
            ("rate", median(|r| r.rate), "records/s"),
            ("first", median(|r| r.first_s), "s"),
            ("last", median(|r| r.last_s), "s"),
            (
                "cpu_per_million",
                median(|r| r.cpu_secs) / records * 1e6,
                "s",
            ),
            ("rss", median(|r| r.peak_rss_mib), "MiB"),
        ];
        for (name, value, unit) in figures {
            emit(out, &format!("consumers.{contender}.{name}"), value, unit);
        }
    }
    Ok(())
}

/// The consumers' targets and table, added to the report `r` and its body `b`.
pub(super) fn report(out: &Output, r: &mut Report, b: &mut String) {
    let value = |c: &str, f: &str| out.value(&format!("consumers.{c}.{f}"));
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    for (kcl, name) in [("kcl2", "KCL 2.x"), ("kcl3", "KCL 3.x")] {
        let ours = |f: &str| value("consumer", f);
        let targets = [
            (
                "records/s, this consumer",
                ratio(ours("rate"), value(kcl, "rate")),
                SPEED_TARGET,
                2,
            ),
            (
                "CPU per record",
                ratio(value(kcl, "cpu_per_million"), ours("cpu_per_million")),
                CPU_TARGET,
                1,
            ),
            (
                "peak RSS",
                ratio(value(kcl, "rss"), ours("rss")),
                MEMORY_TARGET,
                1,
            ),
            (
                "time to the first record",
                ratio(value(kcl, "first"), ours("first")),
                START_TARGET,
                1,
            ),
        ];
        for (what, measured, target, decimals) in targets {
            // Speed is ours over theirs; the costs are theirs over ours.
            let label = if what.starts_with("records/s") {
                format!("consumers: {what} / {name}")
            } else {
                format!("consumers: {what}, {name} / this consumer")
            };
            ratio_target(r, &label, measured, target, decimals);
        }
    }
    let records = out.value("consumers.records").unwrap_or(0.0);
    let _ = writeln!(
        b,
        "\n### Consumers\n\n{} records of 100 bytes (one Kinesis record each, written by this \
         producer without aggregation) in a {SHARDS}-shard stream of the instant server (it keeps \
         them; plain HTTP/1.1), read from TRIM_HORIZON by each contender as a new application in \
         a process of its own, with a handler that only counts and no checkpoints; leases in \
         moto's DynamoDB (the external emulators). This consumer: default settings (polling, \
         10 000 records per call, at once while behind within 5 calls per second per shard). \
         Java KCL: the interop harness's `KclWorker --expect` (polling, 10 000 records per call, \
         `idleTimeBetweenReadsInMillis` 200, metrics off, the Java SDK with CBOR off: `-Daws.cborEnabled=false`). \
         {ROUNDS} rounds, every contender once per round in a rotated order; medians. \"first\" \
         and \"last\": seconds from the process's start to its first and to its last record \
         (JVM start, lease table creation and lease taking included). records/s: from the first \
         record to the last: both sides pace `GetRecords` to 5 calls per second per shard (the \
         Kinesis limit), so both stay near {SHARDS} shards x 5 x 10,000 = {} records/s, and \
         CPU, memory and the start are what tell them apart. CPU and peak RSS as for the \
         producers, the whole run included.\n",
        thousands(records),
        thousands((SHARDS * 5 * 10_000) as f64)
    );
    let _ = writeln!(
        b,
        "| contender | records/s (rounds) | records/s | first | last | CPU s per million | peak RSS |\n|---|---|---:|---:|---:|---:|---:|"
    );
    for (key, label) in CONSUMERS {
        let _ = writeln!(
            b,
            "| {label} | {} | {} | {} s | {} s | {} | {} MiB |",
            rounds_cell(out, &format!("consumers.{key}")),
            value(key, "rate").map_or("-".to_owned(), thousands),
            fixed(value(key, "first"), 2),
            fixed(value(key, "last"), 2),
            fixed(value(key, "cpu_per_million"), 2),
            fixed(value(key, "rss"), 1)
        );
    }
}
