//! Part 1, sink: records/s into the instant sink, on one thread.
//!
//! Each measurement runs in a child process of its own (`--sink-child <writer> <round>`), so
//! that no writer inherits the heap another one left behind: with glibc's allocator, a writer
//! measured after another in the same process ran up to 40% slower, whichever came first.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::sink::{InstantSink, STREAM};
use crate::workload::{Written, build_producer, plain_loop, produce, producer_settings};
use crate::{
    KEYS, PLAIN_BATCH, PLAIN_IN_FLIGHT, RECORD_BYTES, ROUNDS, Result, Rounds, SHARDS, SINK_RECORDS,
    Writer, emit, emit_rounds, note, writers,
};

pub(crate) async fn run() -> Result<()> {
    eprintln!("== sink: {SINK_RECORDS} records per run, {ROUNDS} rounds");
    note(
        "sink",
        &format!(
            "{SINK_RECORDS} records of {RECORD_BYTES} bytes per run, partition keys drawn from \
             {KEYS} keys, into an in-process {SHARDS}-shard stream that answers each request at \
             once (an HTTP client for the SDK, like kinesis_testkit::scripted::Scripted but \
             keeping nothing: ListShards answers 4 shards splitting the hash key space, \
             PutRecords stores every entry on the shard owning its hash key with increasing \
             sequence numbers). The SDK still serializes (JSON, base64), signs (SigV4) and \
             parses every call, and the client's stack runs (default retry; the client's rate \
             limits left on: PutRecords has no client-side quota). Everything runs on one \
             thread (tokio current-thread runtime), the sink included. Producer: default \
             settings (buffer 65 536 records / 64 MiB, linger 100 ms, 24 calls in flight, \
             500 entries / 5 MiB per call) with the per-shard throttle off (it would pace each \
             shard to 1000 entries and 1 MiB per second), with or without aggregation (KPL \
             defaults: aggregates of at most 51 200 bytes); the records are sent with send(), \
             every ProduceHandle awaited (in order, by a second task) and checked, and flush() \
             called after the last; timed from the first send() to the last answer. Each \
             measurement runs in a fresh child process (a writer measured after another in \
             the same process inherits its heap, and ran up to 40% slower). Plain \
             loop: the SDK client of the same configuration, PutRecords of {PLAIN_BATCH} \
             records built as they are sent, {PLAIN_IN_FLIGHT} calls in flight \
             (buffer_unordered), no retries. {ROUNDS} rounds, each writer once per round; \
             medians. \"cores\" is the process's CPU time over the wall time."
        ),
    );
    let exe = std::env::current_exe()?;
    let mut results: Vec<Rounds> = Writer::ALL.iter().map(|_| Rounds::default()).collect();
    for round in 1..=ROUNDS {
        for (i, writer) in Writer::ALL.into_iter().enumerate() {
            if !writers().contains(&writer) {
                continue;
            }
            let mut child = Command::new(&exe);
            child.args(["--sink-child", writer.key(), &round.to_string()]);
            if crate::MULTI_THREAD.get() == Some(&true) {
                child.arg("multi-thread");
            }
            let out = child
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()?;
            if !out.status.success() {
                return Err(format!(
                    "sink {} round {round} failed ({})",
                    writer.key(),
                    out.status
                )
                .into());
            }
            let line = String::from_utf8(out.stdout)?;
            let measured: Measured = serde_json::from_str(line.trim())?;
            let written = Written {
                records: measured.records,
                elapsed: Duration::from_secs_f64(measured.seconds),
                cpu: measured.cpu_seconds.map(Duration::from_secs_f64),
                metrics: None,
                calls: measured.calls,
                max_outstanding: 0,
            };
            report(round, writer, &written, measured.entries, measured.calls);
            results[i].push(&written, Some(measured.entries));
        }
    }
    emit("sink.records", SINK_RECORDS as f64, "records");
    emit_rounds("sink", &results);
    Ok(())
}

/// One measurement, as a child process reports it (one JSON line on stdout).
#[derive(serde::Serialize, serde::Deserialize)]
struct Measured {
    records: u64,
    seconds: f64,
    cpu_seconds: Option<f64>,
    /// `PutRecords` calls and entries the sink answered.
    calls: u64,
    entries: u64,
    /// Entries stored per shard.
    per_shard: Vec<u64>,
}

/// The child: measures `writer` once (round `round` picks the record numbers) and prints the
/// result.
pub(crate) async fn child(writer: &str, round: &str) -> Result<()> {
    let writer = Writer::ALL
        .into_iter()
        .find(|w| w.key() == writer)
        .ok_or_else(|| format!("unknown writer {writer:?}"))?;
    let round: u64 = round.parse()?;
    let sink = InstantSink::default();
    let config = sink.client_config().await?;
    let sdk = config.kinesis_sdk();
    let first = round * SINK_RECORDS;
    let written = match writer {
        Writer::Plain => plain_loop(&sdk, STREAM, first, SINK_RECORDS).await?,
        Writer::Producer | Writer::Aggregated | Writer::Metered => {
            let producer = build_producer(
                &config,
                STREAM,
                producer_settings(writer.aggregates()),
                writer == Writer::Metered,
            )
            .await?;
            produce(producer, first, SINK_RECORDS, |_| {}).await?
        }
    };
    let measured = Measured {
        records: written.records,
        seconds: written.elapsed.as_secs_f64(),
        cpu_seconds: written.cpu.map(|c| c.as_secs_f64()),
        calls: sink.calls(),
        entries: sink.entries(),
        per_shard: sink.per_shard(),
    };
    println!("{}", serde_json::to_string(&measured)?);
    Ok(())
}

fn report(round: usize, writer: Writer, w: &Written, entries: u64, calls: u64) {
    eprintln!(
        "   round {round}: {:<10} {} records in {:.3} s = {:.0}/s ({:.1} MB/s), {:.2} cores, {calls} calls, {entries} entries",
        writer.key(),
        w.records,
        w.elapsed.as_secs_f64(),
        w.rate(),
        w.byte_rate() / 1e6,
        w.cores().unwrap_or(f64::NAN),
    );
    emit(
        &format!("sink.{}.round{round}", writer.key()),
        w.rate(),
        "records/s",
    );
}
