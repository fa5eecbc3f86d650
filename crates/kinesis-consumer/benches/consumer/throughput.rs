//! Part 1, throughput: records/s to a no-op handler, next to a plain `GetRecords` loop.

use std::time::Instant;

use kinesis_consumer::PollingSettings;

use crate::fixture::{Fixture, Handler, consumer_read, plain_read};
use crate::{
    PLAIN_LIMIT, RECORD_BYTES, RECORDS, Result, SHARDS, THROUGHPUT_ROUNDS, emit, median, note,
};

pub(crate) async fn run() -> Result<()> {
    eprintln!("== throughput: starting the emulators and filling the stream");
    let fx = Fixture::start().await?;
    let (stream, targets) = fx.stream(SHARDS).await?;
    let filling = Instant::now();
    let per_shard = fx.fill(&stream, &targets, 0, RECORDS).await?;
    eprintln!(
        "   {RECORDS} records written in {:.1} s: {:?}",
        filling.elapsed().as_secs_f64(),
        per_shard.values().collect::<Vec<_>>()
    );
    note(
        "throughput",
        &format!(
            "{SHARDS} shards, {RECORDS} records of {RECORD_BYTES} bytes ({} per shard, spread with \
             explicit hash keys), read from TRIM_HORIZON. Plain loop: one task per shard, \
             GetShardIterator then GetRecords (limit {PLAIN_LIMIT}) on the SDK client of the same \
             ClientConfig (no retry or rate-limit layers), counting records. Consumer: a new \
             application (lease table created beforehand) with a ClientConfig of its own (its \
             own rate limiter, as a worker process of its own), default settings (polling, batch \
             10 000, prefetch 2, the client's rate limits), Raw payloads, one reader task per \
             shard stream that stages every record; timed from build() to the last record. \
             The same consumer with the KCL's metrics at DETAILED, recorded into a CloudWatch \
             publisher whose PutMetricData calls go nowhere (the consumer's own cost of its \
             metrics). {THROUGHPUT_ROUNDS} rounds: plain, then the consumer without and with \
             metrics (with first in even rounds); medians.",
            RECORDS / SHARDS as usize
        ),
    );
    let (mut plain, mut consumer, mut metered, mut builds) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=THROUGHPUT_ROUNDS {
        let (elapsed, read) = plain_read(&fx, &stream, &per_shard).await?;
        let rate = read as f64 / elapsed.as_secs_f64();
        eprintln!(
            "   round {round}: plain loop {read} records in {:.3} s = {rate:.0}/s",
            elapsed.as_secs_f64()
        );
        emit(&format!("throughput.plain.round{round}"), rate, "records/s");
        plain.push(rate);

        // The consumer with and without its metrics, in turns: first one, then the other.
        let order = if round % 2 == 1 {
            [false, true]
        } else {
            [true, false]
        };
        for with_metrics in order {
            let out = consumer_read(
                &fx,
                &stream,
                PollingSettings::default(),
                Handler::NoOp,
                &per_shard,
                with_metrics,
            )
            .await?;
            let rate = out.records as f64 / out.elapsed.as_secs_f64();
            let key = if with_metrics { "metered" } else { "consumer" };
            eprintln!(
                "   round {round}: {key} {} records in {:.3} s (build {:.3} s) = {rate:.0}/s",
                out.records,
                out.elapsed.as_secs_f64(),
                out.build.as_secs_f64()
            );
            emit(&format!("throughput.{key}.round{round}"), rate, "records/s");
            if with_metrics {
                metered.push(rate);
            } else {
                consumer.push(rate);
                builds.push(out.build.as_secs_f64() * 1000.0);
            }
        }
    }
    let (p, c) = (median(&plain), median(&consumer));
    emit("throughput.plain", p, "records/s");
    emit("throughput.consumer", c, "records/s");
    emit("throughput.ratio", c / p, "x");
    let m = median(&metered);
    emit("throughput.metered", m, "records/s");
    emit("throughput.metrics_cost", m / c, "x");
    emit("throughput.consumer_build", median(&builds), "ms");
    fx.env.shutdown().await;
    Ok(())
}
