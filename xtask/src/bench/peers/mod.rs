//! `cargo xtask bench peers`: this workspace's producer and consumer next to the producers and
//! consumers people run today, each in a process of its own, round-robin in one run, all on the
//! test kit's instant Kinesis server (`instant-kinesis`) so that the contenders, not the server,
//! are measured. The consumers are in [`consumers`].
//!
//! Contenders (100-byte records, the producer benchmark's records and partition keys):
//!
//! - `aggregated`, `producer`, `plain`: the producer benchmark's writers (`--peer-child`): the
//!   producer with KPL aggregation, without, and a plain PutRecords loop over the AWS SDK;
//! - `kpl-agg`, `kpl`: the real KPL 0.15.12 (`interop/kcl-worker/kpl/.../KplBench.java`), with
//!   aggregation and without;
//! - `boto3-agg`: Python `aws-kinesis-agg` + `boto3` (`interop/peers/boto3_agg_producer.py`).
//!
//! Per run: records/s as the contender measures it (first record to last answer), CPU seconds
//! of its whole process tree (user + system, from the children's times of this process, start
//! and warm-up included) per million records, and the peak of its tree's summed RSS (sampled
//! every 50 ms). Per-shard rate limits are off on every side (the instant server has none).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;
use crate::emulators;

mod consumers;
mod emulator;

/// Records per run, unless `--records` says otherwise.
pub(super) const DEFAULT_RECORDS: u64 = 500_000;
/// Rounds: every contender once per round, in a rotated order.
const ROUNDS: usize = 3;
/// Shards of the stream.
const SHARDS: usize = 4;
/// The stream on the instant server.
const STREAM: &str = "peers";
/// A contender that has not finished after this long is killed and reported as failed.
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// The contenders: key, label.
pub(super) const CONTENDERS: [(&str, &str); 6] = [
    ("aggregated", "this producer, KPL aggregation"),
    ("producer", "this producer, no aggregation"),
    ("plain", "plain PutRecords loop (Rust SDK)"),
    ("kpl-agg", "KPL 0.15.12, aggregation"),
    ("kpl", "KPL 0.15.12, no aggregation"),
    ("boto3-agg", "aws-kinesis-agg 1.2.3 + boto3 1.44.8"),
];

/// Target: this producer's records/s over the KPL's (both aggregating).
pub(super) const KPL_SPEED_TARGET: f64 = 3.0;
/// Target: the KPL's CPU per record over this producer's.
pub(super) const KPL_CPU_TARGET: f64 = 10.0;
/// Target: the KPL's peak RSS over this producer's.
pub(super) const KPL_MEMORY_TARGET: f64 = 4.0;
/// Target: this producer's records/s over aws-kinesis-agg + boto3's.
pub(super) const BOTO3_SPEED_TARGET: f64 = 3.0;

/// What is needed to start each contender.
struct Setup {
    bench_exe: PathBuf,
    kpl_classpath: String,
    python: PathBuf,
    ca: PathBuf,
    endpoint: String,
    tls_port: u16,
    records: u64,
    /// A run not finished after this long is killed and reported as failed.
    limit: Duration,
}

impl Setup {
    fn command(&self, contender: &str) -> Command {
        let records = self.records.to_string();
        match contender {
            "kpl-agg" | "kpl" => {
                let mut cmd = Command::new("java");
                cmd.arg("-cp")
                    .arg(&self.kpl_classpath)
                    .arg("KplBench")
                    .args(["--stream", STREAM, "--records", &records])
                    .args(["--kinesis-port", &self.tls_port.to_string()])
                    .args([
                        "--aggregate",
                        if contender == "kpl-agg" {
                            "true"
                        } else {
                            "false"
                        },
                    ]);
                cmd
            }
            "boto3-agg" => {
                let mut cmd = Command::new(&self.python);
                cmd.arg(util::workspace_root().join("interop/peers/boto3_agg_producer.py"))
                    .arg(&self.endpoint)
                    .arg(&self.ca)
                    .arg(STREAM)
                    .arg(&records);
                cmd
            }
            writer => {
                let mut cmd = Command::new(&self.bench_exe);
                cmd.arg("--peer-child")
                    .arg(writer)
                    .arg(&self.endpoint)
                    .arg(&self.ca)
                    .arg(STREAM)
                    .arg(&records);
                cmd
            }
        }
    }
}

/// One contender's run.
#[derive(Debug, Default, Clone, Copy)]
struct Run {
    rate: f64,
    cpu_secs: f64,
    peak_rss_mib: f64,
}

/// Builds everything, starts the instant server, runs the rounds and returns the figures.
pub(super) fn measure(records: u64) -> Result<Output> {
    let setup_started = Instant::now();
    eprintln!("== bench peers: building the contenders");
    let cfg = emulators::Config::from_env()?;
    emulators::certificates(&cfg)?;
    let (leaf, key) = cfg.leaf_pem_and_key();
    let ca = cfg.ca_pem();
    util::run(util::cargo().args([
        "build",
        "--release",
        "-p",
        "kinesis-testkit",
        "--features",
        "instant",
        "--bin",
        "instant-kinesis",
    ]))?;
    let bench_exe = bench_executable("kinesis-producer", "producer")?;
    let kpl_classpath = crate::kcl::kpl_classpath()?;
    let python = crate::interop::venv(
        "peers-venv",
        &util::workspace_root().join("interop/peers/requirements.txt"),
    )?;
    let consumer_exe = bench_executable("kinesis-consumer", "consumer")?;
    let kcl2_classpath = crate::kcl::kcl_worker_classpath(crate::kcl::KCL2_VERSION)?;
    let kcl3_classpath = crate::kcl::kcl_worker_classpath(crate::kcl::KCL3_VERSION)?;
    let server_exe = util::workspace_root().join("target/release/instant-kinesis");
    let mut server = InstantServer::start(&server_exe, &leaf, &key, STREAM, true)?;
    let setup = Setup {
        bench_exe,
        kpl_classpath,
        python,
        ca,
        endpoint: format!("https://localhost:{}", server.tls_port),
        tls_port: server.tls_port,
        records,
        limit: RUN_LIMIT,
    };
    eprintln!(
        "  ready in {}; instant server at {} ({SHARDS} shards), {records} records per run",
        util::secs(setup_started.elapsed()),
        setup.endpoint
    );

    let mut out = Output::default();
    producer_rounds(&setup, &mut out, "producers", false)?;
    server.stop();
    emit(&mut out, "producers.records", records as f64, "records");
    emulator::measure(&mut out, &cfg, &setup)?;
    consumers::measure(
        &mut out,
        &consumers::Inputs {
            cfg: &cfg,
            server_exe: &server_exe,
            leaf: &leaf,
            key: &key,
            ca: &setup.ca,
            producer_exe: &setup.bench_exe,
            consumer_exe,
            kcl2_classpath,
            kcl3_classpath,
            records,
        },
    )?;
    let versions = format!(
        "java: {}; python: {}",
        first_line(Command::new("java").arg("-version"), true),
        first_line(Command::new(&setup.python).arg("--version"), false)
    );
    out.take_line(&format!(
        r#"{{"note":"producers.versions","text":{}}}"#,
        util::json_string(&versions)
    ));
    Ok(out)
}

/// Runs every producer [`ROUNDS`] times on `setup`'s server and adds the figures to `out` under
/// `prefix` (`producers.<contender>.rate`, ...). A contender that fails stops the benchmark, or
/// with `tolerate`, is reported (`<prefix>.<contender>.failed`) and left out of later rounds.
fn producer_rounds(setup: &Setup, out: &mut Output, prefix: &str, tolerate: bool) -> Result<()> {
    let mut runs: BTreeMap<&str, Vec<Run>> = BTreeMap::new();
    let mut failed: BTreeMap<&str, String> = BTreeMap::new();
    for round in 0..ROUNDS {
        for i in 0..CONTENDERS.len() {
            let (contender, _) = CONTENDERS[(i + round) % CONTENDERS.len()];
            if failed.contains_key(contender) {
                continue;
            }
            let run = match run_one(setup, contender) {
                Ok(run) => run,
                Err(e) if tolerate => {
                    let reason = format!("round {}: {e}", round + 1);
                    eprintln!("  round {} {contender:<11} failed: {e}", round + 1);
                    failed.insert(contender, reason);
                    continue;
                }
                Err(e) => {
                    return Err(Error::new(format!("{contender}, round {}: {e}", round + 1)));
                }
            };
            eprintln!(
                "  round {} {contender:<11} {:>10} records/s  {:>7.2} CPU s per million  {:>7.1} MiB",
                round + 1,
                thousands(run.rate),
                run.cpu_secs / setup.records as f64 * 1e6,
                run.peak_rss_mib
            );
            emit(
                out,
                &format!("{prefix}.{contender}.rate.round{}", round + 1),
                run.rate,
                "records/s",
            );
            runs.entry(contender).or_default().push(run);
        }
    }
    for (contender, reason) in &failed {
        out.take_line(&format!(
            r#"{{"note":"{prefix}.{contender}.failed","text":{}}}"#,
            util::json_string(reason)
        ));
    }
    for (contender, runs) in &runs {
        if failed.contains_key(contender) {
            continue;
        }
        let median = |f: fn(&Run) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        emit(
            out,
            &format!("{prefix}.{contender}.rate"),
            median(|r| r.rate),
            "records/s",
        );
        emit(
            out,
            &format!("{prefix}.{contender}.cpu_per_million"),
            median(|r| r.cpu_secs) / setup.records as f64 * 1e6,
            "s",
        );
        emit(
            out,
            &format!("{prefix}.{contender}.rss"),
            median(|r| r.peak_rss_mib),
            "MiB",
        );
    }
    Ok(())
}

fn emit(out: &mut Output, metric: &str, value: f64, unit: &str) {
    out.take_line(&format!(
        r#"{{"metric":"{metric}","value":{value},"unit":"{unit}"}}"#
    ));
}

/// The release executable of the benchmark `bench` of `package`.
fn bench_executable(package: &str, bench: &str) -> Result<PathBuf> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "bench",
            "-p",
            package,
            "--bench",
            bench,
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(util::workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo bench --no-run: {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!("building the {bench} benchmark failed")));
    }
    let name = format!(r#""name":"{bench}""#);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains(r#""reason":"compiler-artifact""#) && l.contains(&name))
        .find_map(|l| {
            let rest = &l[l.find(r#""executable":""#)? + 14..];
            Some(PathBuf::from(&rest[..rest.find('"')?]))
        })
        .ok_or_else(|| {
            Error::new(format!(
                "cargo did not name the {bench} benchmark's executable"
            ))
        })
}

/// The first line a command prints (on stderr when `stderr`).
fn first_line(cmd: &mut Command, stderr: bool) -> String {
    cmd.output()
        .ok()
        .map(|o| String::from_utf8_lossy(if stderr { &o.stderr } else { &o.stdout }).into_owned())
        .and_then(|t| t.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Runs one producer to its end; its figures.
fn run_one(setup: &Setup, contender: &str) -> Result<Run> {
    let finished = run_process_within(setup.command(contender), setup.limit)?;
    let (Some(done), Some(secs)) = (finished.number("records"), finished.number("secs")) else {
        return Err(Error::new(format!(
            "result without records or secs: {}",
            finished.line
        )));
    };
    if done as u64 != setup.records {
        return Err(Error::new(format!(
            "stored {done} of {} records: {}",
            setup.records, finished.line
        )));
    }
    Ok(Run {
        rate: done / secs,
        cpu_secs: finished.cpu_secs,
        peak_rss_mib: finished.peak_rss_mib,
    })
}

/// A contender's process that ended well.
struct Finished {
    /// Its result line (`{"peer":...}`), and its fields.
    line: String,
    fields: BTreeMap<String, Json>,
    /// User + system seconds of its process tree.
    cpu_secs: f64,
    /// The most its process tree held at once.
    peak_rss_mib: f64,
    /// When it was started, in milliseconds since the epoch.
    spawned_ms: f64,
}

impl Finished {
    fn number(&self, key: &str) -> Option<f64> {
        match self.fields.get(key) {
            Some(Json::Num(v)) => Some(*v),
            _ => None,
        }
    }
}

/// Runs a contender's process to its end (killing it after [`RUN_LIMIT`]), measuring its tree's
/// CPU time and peak RSS; its result line.
fn run_process(command: Command) -> Result<Finished> {
    run_process_within(command, RUN_LIMIT)
}

/// [`run_process`], killing the process after `limit`.
fn run_process_within(mut command: Command, limit: Duration) -> Result<Finished> {
    let before = children_cpu_secs()?;
    let spawned_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::new(format!("cannot start: {e}")))?;
    // Held open until the process ends: a KCL worker of the harness stops when its stdin ends.
    let _stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stdout {
            let _ = s.read_to_string(&mut text);
        }
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut tail: Vec<String> = Vec::new();
        if let Some(s) = stderr {
            for line in BufReader::new(s).lines().map_while(std::result::Result::ok) {
                tail.push(line);
                if tail.len() > 20 {
                    tail.remove(0);
                }
            }
        }
        tail
    });
    let started = Instant::now();
    let mut peak_kib = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak_kib = peak_kib.max(tree_rss_kib(child.id()));
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::new(format!("not finished after {limit:?}; killed")));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let cpu_secs = children_cpu_secs()? - before;
    let stdout = reader.join().unwrap_or_default();
    let stderr_tail = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::new(format!(
            "exited with {status}; its last lines:\n{}",
            stderr_tail.join("\n")
        )));
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with(r#"{"peer""#))
        .ok_or_else(|| Error::new(format!("printed no result line; stdout: {stdout}")))?
        .to_owned();
    let fields =
        parse_flat_json(&line).ok_or_else(|| Error::new(format!("unreadable result {line}")))?;
    Ok(Finished {
        line,
        fields,
        cpu_secs,
        peak_rss_mib: peak_kib as f64 / 1024.0,
        spawned_ms,
    })
}

/// User + system seconds of this process's waited-for children and their descendants
/// (`cutime` + `cstime` of `/proc/self/stat`).
fn children_cpu_secs() -> Result<f64> {
    let stat = fs::read_to_string("/proc/self/stat")?;
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3 of the file; cutime is 16, cstime 17.
    let ticks = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<f64>().ok());
    match (ticks(16), ticks(17)) {
        (Some(u), Some(s)) => Ok((u + s) / 100.0),
        _ => Err(Error::new(
            "cannot read the children's CPU times in /proc/self/stat",
        )),
    }
}

/// The summed RSS (KiB) of `root` and its descendants now.
fn tree_rss_kib(root: u32) -> u64 {
    let mut parents: BTreeMap<u32, u32> = BTreeMap::new();
    let mut rss: BTreeMap<u32, u64> = BTreeMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if let Some(v) = line.strip_prefix("PPid:") {
                parents.insert(pid, v.trim().parse().unwrap_or(0));
            } else if let Some(v) = line.strip_prefix("VmRSS:") {
                rss.insert(
                    pid,
                    v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0),
                );
            }
        }
    }
    let in_tree = |mut pid: u32| {
        while pid > 1 {
            if pid == root {
                return true;
            }
            pid = parents.get(&pid).copied().unwrap_or(0);
        }
        false
    };
    rss.iter()
        .filter(|(pid, _)| in_tree(**pid))
        .map(|(_, kib)| kib)
        .sum()
}

/// The `instant-kinesis` process; stopped (SIGKILL after its stdin closes) by [`Self::stop`]
/// or on drop.
struct InstantServer {
    child: Option<Child>,
    http_port: u16,
    tls_port: u16,
}

impl InstantServer {
    /// A server with a `SHARDS`-shard stream `stream` that keeps its records unless `discard`.
    fn start(exe: &Path, cert: &Path, key: &Path, stream: &str, discard: bool) -> Result<Self> {
        let mut cmd = Command::new(exe);
        cmd.args(["--port", "0", "--tls-port", "0", "--cert"])
            .arg(cert)
            .arg("--key")
            .arg(key)
            .args(["--stream", &format!("{stream}:{SHARDS}"), "--threads", "1"]);
        if discard {
            cmd.arg("--discard");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {}: {e}", exe.display())))?;
        let stdout = child.stdout.take().ok_or_else(|| Error::new("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut server = Self {
            child: Some(child),
            http_port: 0,
            tls_port: 0,
        };
        for line in lines.by_ref().take(2).map_while(std::result::Result::ok) {
            if let Some(port) = line
                .strip_prefix("https=https://localhost:")
                .and_then(|p| p.parse().ok())
            {
                server.tls_port = port;
            } else if let Some(port) = line
                .strip_prefix("http=http://127.0.0.1:")
                .and_then(|p| p.parse().ok())
            {
                server.http_port = port;
            }
        }
        if server.tls_port == 0 || server.http_port == 0 {
            return Err(Error::new("instant-kinesis did not print its endpoints"));
        }
        // Its last line (`records=`) is not needed; the rest of stdout is drained.
        std::thread::spawn(move || for _ in lines {});
        Ok(server)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for InstantServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A target "`label`: measured >= `target`x", the measured ratio shown with `decimals` places.
fn ratio_target(r: &mut Report, label: &str, measured: Option<f64>, target: f64, decimals: usize) {
    r.target(
        label,
        format!("{}x", fixed(measured, decimals)),
        Target::AtLeast(target),
        &format!(">= {target}x"),
        measured,
    );
}

/// The records/s of each round of `prefix` (`producers.aggregated`, say), "a / b / c".
fn rounds_cell(out: &Output, prefix: &str) -> String {
    (1..=ROUNDS)
        .map(|i| {
            out.value(&format!("{prefix}.rate.round{i}"))
                .map_or("-".to_owned(), thousands)
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The report of `cargo xtask bench peers`.
pub(super) fn peers_report(out: &Output) -> Report {
    let mut r = Report::default();
    let rate = |c: &str| out.value(&format!("producers.{c}.rate"));
    let cpu = |c: &str| out.value(&format!("producers.{c}.cpu_per_million"));
    let rss = |c: &str| out.value(&format!("producers.{c}.rss"));
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);

    ratio_target(
        &mut r,
        "producers: records/s, this producer / KPL (aggregating)",
        ratio(rate("aggregated"), rate("kpl-agg")),
        KPL_SPEED_TARGET,
        2,
    );
    ratio_target(
        &mut r,
        "producers: CPU per record, KPL / this producer",
        ratio(cpu("kpl-agg"), cpu("aggregated")),
        KPL_CPU_TARGET,
        1,
    );
    ratio_target(
        &mut r,
        "producers: peak RSS, KPL / this producer",
        ratio(rss("kpl-agg"), rss("aggregated")),
        KPL_MEMORY_TARGET,
        1,
    );
    ratio_target(
        &mut r,
        "producers: records/s, this producer / aws-kinesis-agg + boto3",
        ratio(rate("aggregated"), rate("boto3-agg")),
        BOTO3_SPEED_TARGET,
        1,
    );

    let mut b = String::new();
    let records = out.value("producers.records").unwrap_or(0.0);
    let _ = writeln!(
        b,
        "### Producers\n\n{} records of 100 bytes per run (partition keys drawn from 100,000), \
         each contender a process of its own writing to the test kit's instant Kinesis server \
         (`instant-kinesis`: a {SHARDS}-shard stream answered from memory, records discarded, \
         one server thread, HTTP/1.1 and HTTP/2 over TLS on 127.0.0.1) on the same machine. \
         Per-shard rate limits are off on every side (the KPL's `RateLimit` raised, this \
         producer's throttle off), aggregation at each library's defaults. {ROUNDS} rounds, \
         every contender once per round in a rotated order; medians. records/s: from the first \
         record handed over to the last answer, as each contender measures itself. CPU: user + \
         system seconds of the contender's whole process tree (JVM and KPL daemon, interpreter), \
         its start and warm-up included, per million records. Peak RSS: the most the tree held \
         at once, sampled every 50 ms.\n",
        thousands(records)
    );
    let _ = writeln!(
        b,
        "| contender | records/s (rounds) | records/s | CPU s per million | peak RSS |\n|---|---|---:|---:|---:|"
    );
    for (key, label) in CONTENDERS {
        let _ = writeln!(
            b,
            "| {label} | {} | {} | {} | {} MiB |",
            rounds_cell(out, &format!("producers.{key}")),
            rate(key).map_or("-".to_owned(), thousands),
            fixed(cpu(key), 2),
            fixed(rss(key), 1)
        );
    }
    if let Some(versions) = out.note("producers.versions") {
        let _ = writeln!(b, "\nRuntimes: {versions}.");
    }
    emulator::report(out, &mut b);
    consumers::report(out, &mut r, &mut b);
    let _ = writeln!(
        b,
        "\nNot measured yet: this consumer with enhanced fan-out (the instant server has no \
         SubscribeToShard)."
    );
    r.body = b;
    r
}
