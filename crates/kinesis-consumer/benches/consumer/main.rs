//! The consumer benchmark: `cargo xtask bench consumer` runs it once (release build) and writes
//! its figures to `docs/benchmarks.md`.
//!
//! Everything runs against the embedded emulators of `kinesis-testkit` (ferrokinesis and
//! dynoxide, in this process); nothing needs Docker or AWS. Four measurements:
//!
//! 1. **throughput**: records per second delivered to a no-op handler (a shard-stream reader
//!    that stages every record) from a pre-filled stream, next to a plain `GetRecords` loop over
//!    the AWS SDK on the same stream (one task per shard, limit 10 000), alternating, in rounds.
//! 2. **deaggregation**: KPL aggregates split into user records on one core, through
//!    `aggregation::decode` and the same per-record work as the consumer's shard task.
//! 3. **handover**: two workers of one application share a 4-shard stream that keeps being
//!    written; worker A shuts down; the time from its `shutdown()` call to worker B's first
//!    record on each shard A released.
//! 4. **memory**: peak RSS (`VmHWM`) while reading the pre-filled stream, each case in a child
//!    process of its own: default prefetch, a small prefetch, and the plain loop for reference.
//!
//! Output: one JSON object per line on stdout, either a figure
//! `{"metric":"...","value":1.5,"unit":"..."}` or a description
//! `{"note":"...","text":"..."}`. Progress goes to stderr.
//!
//! Run parts by hand with
//! `cargo bench -p kinesis-consumer --bench consumer -- [throughput] [deaggregation] [handover] [memory]`.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures wall-clock time"
)]

mod deaggregation;
mod fixture;
mod handover;
mod memory;
mod peer;
mod throughput;

use std::time::Duration;

/// Shards of the pre-filled stream (and of the hand-over stream).
const SHARDS: u32 = 4;
/// Records in the pre-filled stream, spread evenly over its shards.
const RECORDS: usize = 200_000;
/// Payload size of each record.
const RECORD_BYTES: usize = 100;
/// `GetRecords` limit of the plain loop (the consumer's default batch size is the same).
const PLAIN_LIMIT: i32 = 10_000;
/// Throughput rounds (plain loop, then consumer, in each).
const THROUGHPUT_ROUNDS: usize = 3;
/// Hand-overs measured (a new worker A each time).
const HANDOVER_ROUNDS: usize = 3;
/// Worker threads of the embedded emulators' runtime.
const EMULATOR_THREADS: usize = 2;
/// The longest any one wait may take before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(180);

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
            "the consumer benchmark runs under `cargo bench` (or `cargo xtask bench consumer`)"
        );
        return;
    }
    if args.first().map(String::as_str) == Some("--peer-child") {
        let arg = |i: usize| args.get(i).map_or("", String::as_str);
        let records = arg(5).parse().unwrap_or(0);
        let run = peer::child(arg(1), arg(2), arg(3), arg(4), records);
        if let Err(e) = runtime().block_on(run) {
            eprintln!("peer consumer: {e}");
            std::process::exit(1);
        }
        // Shard tasks are still polling: leave without waiting for them.
        std::process::exit(0);
    }
    if args.first().map(String::as_str) == Some("--memory-child") {
        let case = args.get(1).cloned().unwrap_or_default();
        if let Err(e) = runtime().block_on(memory::child(&case)) {
            eprintln!("memory case {case}: {e}");
            std::process::exit(1);
        }
        return;
    }
    let parts = ["throughput", "deaggregation", "handover", "memory"];
    if let Some(unknown) = args.iter().find(|a| !parts.contains(&a.as_str())) {
        eprintln!("unknown part {unknown:?}; parts: {}", parts.join(", "));
        std::process::exit(2);
    }
    let wanted = |part: &str| args.is_empty() || args.iter().any(|a| a == part);

    note(
        "setup",
        &format!(
            "embedded ferrokinesis + dynoxide in the benchmark process (emulator runtime: \
             {EMULATOR_THREADS} worker threads; benchmark runtime: tokio multi-thread, one \
             worker per core)"
        ),
    );
    let mut failed = false;
    // On one core with nothing else running: first, before any runtime or emulator exists.
    if wanted("deaggregation") {
        deaggregation::run();
    }
    let rt = runtime();
    if wanted("throughput")
        && let Err(e) = rt.block_on(throughput::run())
    {
        eprintln!("throughput: {e}");
        failed = true;
    }
    if wanted("handover")
        && let Err(e) = rt.block_on(handover::run())
    {
        eprintln!("handover: {e}");
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
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
