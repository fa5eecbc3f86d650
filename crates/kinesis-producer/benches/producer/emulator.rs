//! Part 2, emulator: records/s into the embedded Kinesis emulator.

use std::time::Duration;

use kinesis_client::{AdminClient, ClientConfig, StreamMode, StreamName, WaitConfig};
use kinesis_testkit::TestEnv;

use crate::workload::{Written, build_producer, plain_loop, produce, producer_settings};
use crate::{
    EMULATOR_RECORDS, EMULATOR_THREADS, KEYS, PLAIN_BATCH, PLAIN_IN_FLIGHT, RECORD_BYTES, ROUNDS,
    Result, Rounds, SHARDS, Writer, emit, emit_rounds, note, writers,
};

pub(crate) async fn run() -> Result<()> {
    eprintln!("== emulator: {EMULATOR_RECORDS} records per run, {ROUNDS} rounds");
    note(
        "emulator",
        &format!(
            "{EMULATOR_RECORDS} records of {RECORD_BYTES} bytes per run, partition keys drawn \
             from {KEYS} keys, into a new {SHARDS}-shard stream of the embedded ferrokinesis \
             (in this process, {EMULATOR_THREADS} worker threads of its own, write limits not \
             enforced) over HTTP on 127.0.0.1; the stream is deleted after each run. The \
             writers as for the sink: the producer (default settings, throttle off) with and \
             without aggregation, and the plain loop (PutRecords of {PLAIN_BATCH}, \
             {PLAIN_IN_FLIGHT} in flight) on the SDK client of the same configuration; the \
             benchmark side on the current-thread runtime. {ROUNDS} rounds, each writer once \
             per round; medians."
        ),
    );
    let env = TestEnv::builder()
        .embedded_only()
        .emulator_worker_threads(EMULATOR_THREADS)
        .start()
        .await;
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .wait(WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
        .build()
        .await?;
    let admin = AdminClient::new(&config);
    let sdk = config.kinesis_sdk();
    let mut results: Vec<Rounds> = Writer::ALL.iter().map(|_| Rounds::default()).collect();
    for round in 1..=ROUNDS {
        for (i, writer) in Writer::ALL.into_iter().enumerate() {
            if !writers().contains(&writer) {
                continue;
            }
            let stream: StreamName = env.unique_name("bench").parse()?;
            admin
                .create_stream(
                    &stream,
                    StreamMode::Provisioned {
                        shard_count: SHARDS,
                    },
                )
                .await?;
            let first = (round as u64 * 10 + i as u64) * EMULATOR_RECORDS;
            let written = match writer {
                Writer::Plain => plain_loop(&sdk, stream.as_str(), first, EMULATOR_RECORDS).await?,
                Writer::Producer | Writer::Aggregated | Writer::Metered => {
                    let producer = build_producer(
                        &config,
                        stream.as_str(),
                        producer_settings(writer.aggregates()),
                        writer == Writer::Metered,
                    )
                    .await?;
                    produce(producer, first, EMULATOR_RECORDS, |_| {}).await?
                }
            };
            report(round, writer, &written);
            results[i].push(&written, None);
            admin.delete_stream(&stream).await?;
        }
    }
    emit("emulator.records", EMULATOR_RECORDS as f64, "records");
    emit_rounds("emulator", &results);
    env.shutdown().await;
    Ok(())
}

fn report(round: usize, writer: Writer, w: &Written) {
    eprintln!(
        "   round {round}: {:<10} {} records in {:.3} s = {:.0}/s ({:.1} MB/s), {:.2} cores, {} calls",
        writer.key(),
        w.records,
        w.elapsed.as_secs_f64(),
        w.rate(),
        w.byte_rate() / 1e6,
        w.cores().unwrap_or(f64::NAN),
        w.calls(),
    );
    emit(
        &format!("emulator.{}.round{round}", writer.key()),
        w.rate(),
        "records/s",
    );
}
