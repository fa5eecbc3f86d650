//! The producer benchmark: `cargo xtask bench producer` runs it once (release build) and writes
//! its figures to `docs/benchmarks.md`.
//!
//! Records of 100 bytes with random-ish partition keys (100 000 keys) are written three ways:
//! by the producer with KPL aggregation (with and without its metrics on), by the producer
//! without it, and by a plain loop over the AWS SDK (`PutRecords` of 500 records, several calls
//! in flight). Nothing needs Docker or
//! AWS. Three measurements:
//!
//! 1. **sink**: into an in-process stream that answers every request at once (the real SDK
//!    and client stack above it), so the figures are the writers' own cost, on one core.
//! 2. **emulator**: into the embedded Kinesis emulator (ferrokinesis, in this process, limits
//!    not enforced).
//! 3. **memory**: peak RSS (`VmHWM`) while the producer writes a million records into the
//!    sink, by buffer setting, each case in a child process of its own.
//!
//! The benchmark's runtime is tokio's current-thread runtime: the producer (its task, its
//! calls, the caller feeding it and, for the sink, the sink itself) runs on one thread.
//!
//! Output: one JSON object per line on stdout, either a figure
//! `{"metric":"...","value":1.5,"unit":"..."}` or a description
//! `{"note":"...","text":"..."}`. Progress goes to stderr.
//!
//! Run parts by hand with
//! `cargo bench -p kinesis-producer --bench producer -- [sink] [emulator] [memory]`, and limit
//! the sink and emulator parts to some writers by naming them: `plain`, `producer`,
//! `aggregated`, `metered` (for profiling, say). `multi-thread` runs the sink and emulator parts on a
//! multi-thread runtime (one worker per core) instead, for comparison.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures wall-clock time"
)]

mod emulator;
mod instant;
mod memory;
mod peer;
mod sink;
mod workload;

/// Shards of the sink's stream and of the emulator's.
const SHARDS: u32 = 4;
/// Payload size of each record.
const RECORD_BYTES: usize = 100;
/// Distinct partition keys.
const KEYS: u64 = 100_000;
/// Records per run into the sink.
const SINK_RECORDS: u64 = 1_000_000;
/// Records per run into the emulator.
const EMULATOR_RECORDS: u64 = 200_000;
/// Records produced in each memory case.
const MEMORY_RECORDS: u64 = 1_000_000;
/// Rounds of the sink and emulator measurements (every writer once in each).
const ROUNDS: usize = 3;
/// Records per `PutRecords` call of the plain loop.
const PLAIN_BATCH: usize = 500;
/// Calls in flight in the plain loop (the producer's default `max_in_flight`).
const PLAIN_IN_FLIGHT: usize = 24;
/// Worker threads of the embedded emulator's runtime.
const EMULATOR_THREADS: usize = 2;

/// The writers the sink and emulator parts run: all, unless some are named on the command line.
static WRITERS: std::sync::OnceLock<Vec<Writer>> = std::sync::OnceLock::new();

fn writers() -> Vec<Writer> {
    WRITERS
        .get()
        .cloned()
        .unwrap_or_else(|| Writer::ALL.to_vec())
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

fn main() {
    // `cargo bench` passes `--bench`; everything else selects parts.
    let all: Vec<String> = std::env::args().skip(1).collect();
    let by_cargo_bench = all.iter().any(|a| a == "--bench");
    let args: Vec<String> = all.into_iter().filter(|a| a != "--bench").collect();
    if !by_cargo_bench && args.is_empty() {
        // `cargo test --all-targets` runs bench targets too: minutes of benchmarking are not a
        // test.
        eprintln!(
            "the producer benchmark runs under `cargo bench` (or `cargo xtask bench producer`)"
        );
        return;
    }
    sink::check();
    if args.first().map(String::as_str) == Some("--sink-child") {
        let (writer, round) = (
            args.get(1).cloned().unwrap_or_default(),
            args.get(2).cloned().unwrap_or_default(),
        );
        let rt = if args.iter().any(|a| a == "multi-thread") {
            multi_thread_runtime()
        } else {
            runtime()
        };
        if let Err(e) = rt.block_on(instant::child(&writer, &round)) {
            eprintln!("sink {writer} round {round}: {e}");
            std::process::exit(1);
        }
        return;
    }
    if args.first().map(String::as_str) == Some("--peer-child") {
        let arg = |i: usize| args.get(i).map_or("", String::as_str);
        let records = arg(5).parse().unwrap_or(0);
        let run = peer::child(arg(1), arg(2), arg(3), arg(4), records);
        if let Err(e) = multi_thread_runtime().block_on(run) {
            eprintln!("peer {}: {e}", arg(1));
            std::process::exit(1);
        }
        return;
    }
    if args.first().map(String::as_str) == Some("--memory-child") {
        let case = args.get(1).cloned().unwrap_or_default();
        if let Err(e) = runtime().block_on(memory::child(&case)) {
            eprintln!("memory case {case}: {e}");
            std::process::exit(1);
        }
        return;
    }
    // `multi-thread`: the benchmark's runtime gets one worker per core instead of one thread
    // (by hand only, to compare; the figures written are those of the current-thread runtime).
    let multi_thread = args.iter().any(|a| a == "multi-thread");
    let args: Vec<String> = args.into_iter().filter(|a| a != "multi-thread").collect();
    let parts = ["sink", "emulator", "memory"];
    let writers: Vec<&str> = Writer::ALL.iter().map(|w| w.key()).collect();
    if let Some(unknown) = args
        .iter()
        .find(|a| !parts.contains(&a.as_str()) && !writers.contains(&a.as_str()))
    {
        eprintln!(
            "unknown part {unknown:?}; parts: {}; writers: {}",
            parts.join(", "),
            writers.join(", ")
        );
        std::process::exit(2);
    }
    let wanted = |part: &str| {
        !args.iter().any(|a| parts.contains(&a.as_str())) || args.iter().any(|a| a == part)
    };
    // Writers named on the command line: only those run in the sink and emulator parts.
    let chosen: Vec<Writer> = Writer::ALL
        .into_iter()
        .filter(|w| args.iter().any(|a| a == w.key()))
        .collect();
    if !chosen.is_empty() {
        let _ = WRITERS.set(chosen);
    }

    note(
        "setup",
        &format!(
            "benchmark runtime: {}; the embedded emulator runs on a runtime of its own \
             ({EMULATOR_THREADS} worker threads)",
            if multi_thread {
                "tokio multi-thread, one worker per core (sink and emulator parts; memory cases \
                 on current-thread)"
            } else {
                "tokio current-thread (the producer, its PutRecords calls, the task feeding it \
                 and, for the sink, the sink all run on one thread)"
            }
        ),
    );
    let mut failed = false;
    let _ = MULTI_THREAD.set(multi_thread);
    let rt = if multi_thread {
        eprintln!("(multi-thread runtime: one worker per core)");
        multi_thread_runtime()
    } else {
        runtime()
    };
    if wanted("sink")
        && let Err(e) = rt.block_on(instant::run())
    {
        eprintln!("sink: {e}");
        failed = true;
    }
    if wanted("emulator")
        && let Err(e) = rt.block_on(emulator::run())
    {
        eprintln!("emulator: {e}");
        failed = true;
    }
    drop(rt);
    if wanted("memory")
        && let Err(e) = memory::run()
    {
        eprintln!("memory: {e}");
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
}

/// The runtime asked for with `multi-thread`: one worker per core.
fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Whether `multi-thread` was asked for (the sink part's children get it too).
static MULTI_THREAD: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// The benchmark's runtime: one thread.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// One figure.
fn emit(metric: &str, value: f64, unit: &str) {
    // A value that is not finite (no samples) is written as null.
    let value = serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, Into::into);
    println!(
        "{}",
        serde_json::json!({"metric": metric, "value": value, "unit": unit})
    );
}

/// A description of how a figure was obtained.
fn note(key: &str, text: &str) {
    println!("{}", serde_json::json!({"note": key, "text": text}));
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The writers compared, in the order each round runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    /// The plain `PutRecords` loop over the SDK.
    Plain,
    /// The producer without aggregation.
    Producer,
    /// The producer with KPL aggregation.
    Aggregated,
    /// The producer with KPL aggregation and the KPL's metrics at DETAILED (shard granularity)
    /// into a CloudWatch publisher whose `PutMetricData` calls go nowhere.
    Metered,
}

impl Writer {
    const ALL: [Writer; 4] = [
        Writer::Plain,
        Writer::Producer,
        Writer::Aggregated,
        Writer::Metered,
    ];

    /// Whether it is the producer, with aggregation.
    fn aggregates(self) -> bool {
        matches!(self, Writer::Aggregated | Writer::Metered)
    }

    /// The name in metric keys.
    fn key(self) -> &'static str {
        match self {
            Writer::Plain => "plain",
            Writer::Producer => "producer",
            Writer::Aggregated => "aggregated",
            Writer::Metered => "metered",
        }
    }
}

/// Per-writer results of several rounds; emits the medians under `prefix`.
#[derive(Default)]
struct Rounds {
    rates: Vec<f64>,
    byte_rates: Vec<f64>,
    cores: Vec<f64>,
    calls: Vec<f64>,
    entries: Vec<f64>,
}

impl Rounds {
    fn push(&mut self, w: &workload::Written, entries: Option<u64>) {
        self.rates.push(w.rate());
        self.byte_rates.push(w.byte_rate());
        if let Some(c) = w.cores() {
            self.cores.push(c);
        }
        self.calls.push(w.calls() as f64);
        if let Some(e) = entries {
            self.entries.push(e as f64);
        }
    }

    fn emit(&self, prefix: &str) -> f64 {
        let rate = median(&self.rates);
        emit(prefix, rate, "records/s");
        emit(&format!("{prefix}.bytes"), median(&self.byte_rates), "B/s");
        emit(&format!("{prefix}.cores"), median(&self.cores), "cores");
        emit(&format!("{prefix}.calls"), median(&self.calls), "calls");
        if !self.entries.is_empty() {
            emit(
                &format!("{prefix}.entries"),
                median(&self.entries),
                "entries",
            );
        }
        rate
    }
}

/// Emits the medians of every writer that ran (in `Writer::ALL` order in `results`) under
/// `part`, and each producer's ratio to the plain loop.
fn emit_rounds(part: &str, results: &[Rounds]) {
    let mut rates = Vec::new();
    for (writer, rounds) in Writer::ALL.into_iter().zip(results) {
        rates.push(if rounds.rates.is_empty() {
            f64::NAN
        } else {
            rounds.emit(&format!("{part}.{}", writer.key()))
        });
    }
    for (i, writer) in Writer::ALL.into_iter().enumerate().skip(1) {
        if rates[0].is_finite() && rates[i].is_finite() {
            emit(
                &format!("{part}.ratio.{}", writer.key()),
                rates[i] / rates[0],
                "x",
            );
        }
    }
}
