//! Part 1, sink: records/s into the instant sink, on one thread.

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
             called after the last; timed from the first send() to the last answer. Plain \
             loop: the SDK client of the same configuration, PutRecords of {PLAIN_BATCH} \
             records built as they are sent, {PLAIN_IN_FLIGHT} calls in flight \
             (buffer_unordered), no retries. {ROUNDS} rounds, each writer once per round; \
             medians. \"cores\" is the process's CPU time over the wall time."
        ),
    );
    let sink = InstantSink::default();
    let config = sink.client_config().await?;
    let sdk = config.kinesis_sdk();
    let mut results: Vec<Rounds> = Writer::ALL.iter().map(|_| Rounds::default()).collect();
    for round in 1..=ROUNDS {
        for (i, writer) in Writer::ALL.into_iter().enumerate() {
            if !writers().contains(&writer) {
                continue;
            }
            let (entries_before, calls_before) = (sink.entries(), sink.calls());
            let first = (round as u64 * 10 + i as u64) * SINK_RECORDS;
            let written = match writer {
                Writer::Plain => plain_loop(&sdk, STREAM, first, SINK_RECORDS).await?,
                Writer::Producer | Writer::Aggregated => {
                    let producer = build_producer(
                        &config,
                        STREAM,
                        producer_settings(writer == Writer::Aggregated),
                    )
                    .await?;
                    produce(producer, first, SINK_RECORDS, |_| {}).await?
                }
            };
            let entries = sink.entries() - entries_before;
            let calls = sink.calls() - calls_before;
            report(round, writer, &written, entries, calls);
            results[i].push(&written, Some(entries));
        }
    }
    eprintln!("   entries per shard over all runs: {:?}", sink.per_shard());
    emit("sink.records", SINK_RECORDS as f64, "records");
    emit_rounds("sink", &results);
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
