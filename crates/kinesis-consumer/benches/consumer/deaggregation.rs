//! Part 2, deaggregation: KPL aggregates split into user records on one core.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use kinesis_client::{PartitionKey, PutRecordsEntry, Record, SequenceNumber, ShardId};
use kinesis_consumer::deaggregate;
use kinesis_kcl_compat::aggregation::{self, AggregateBuilder, Decoded};
use kinesis_serde::{Deserializer, Raw};

use crate::fixture::payload;
use crate::{RECORD_BYTES, emit, median, note};

/// The consumer's per-record work for one fetched batch: `kinesis_consumer::deaggregate`, the
/// function a shard stream runs on every batch (decode, positions, the deserializer behind a
/// dyn pointer, a `ConsumerRecord` per user record). The batch is cloned first, as the function
/// takes the records it converts (one reference count and a partition key per aggregate).
fn build_records<T>(
    shard_id: &ShardId,
    batch: &[Record],
    deserializer: &(dyn Deserializer<T> + Send + Sync),
) -> usize {
    let records = deaggregate(shard_id, batch.to_vec(), deserializer);
    assert!(
        records.iter().all(Result::is_ok),
        "the benchmark's records deserialize"
    );
    records.len()
}

/// Decode and iterate only, with `Raw`.
fn decode_and_iterate(batch: &[Record]) -> usize {
    let mut n = 0;
    for record in batch {
        let Ok(Decoded::Aggregate(aggregate)) = aggregation::decode(record.data()) else {
            panic!("the benchmark's aggregates decode");
        };
        for sub in aggregate.iter() {
            let bytes: Bytes = Raw.deserialize(sub.data().clone()).expect("raw");
            black_box((&bytes, sub.partition_key(), sub.sub_sequence_number()));
            n += 1;
        }
    }
    n
}

/// Times `run` (which returns how many sub-records it handled) in `samples` samples of about
/// 100 ms each after a warm-up; returns sub-records per second of each sample.
fn sample(samples: usize, mut run: impl FnMut() -> usize) -> Vec<f64> {
    // Warm-up, and how many iterations make a sample of about 100 ms.
    let warm = Instant::now();
    let mut iterations = 0usize;
    while warm.elapsed() < Duration::from_millis(300) {
        black_box(run());
        iterations += 1;
    }
    let per_sample = (iterations / 3).max(1);
    (0..samples)
        .map(|_| {
            let t = Instant::now();
            let mut n = 0;
            for _ in 0..per_sample {
                n += black_box(run());
            }
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect()
}

pub(crate) fn run() {
    const AGGREGATE_LIMIT: usize = 51_200; // the KPL's default AggregationMaxSize
    const AGGREGATES: usize = 50;
    const SAMPLES: usize = 30;
    eprintln!("== deaggregation");
    // 50 aggregates of 100-byte user records, each with a partition key of its own, as one
    // GetRecords response would bring them.
    let mut batch = Vec::new();
    let mut n = 0usize;
    for a in 0..AGGREGATES {
        let mut builder = AggregateBuilder::new();
        loop {
            let entry = PutRecordsEntry::new(
                payload(n),
                PartitionKey::new(format!("user-{n}")).expect("a partition key"),
            );
            if !builder.would_fit(&entry, AGGREGATE_LIMIT) {
                break;
            }
            builder.add(entry);
            n += 1;
        }
        let encoded = builder.finish().expect("a non-empty aggregate");
        let sequence_number = SequenceNumber::new(format!(
            "4959000000000000000000000000000000000000000{:013}",
            a
        ))
        .expect("a sequence number");
        batch.push(
            Record::new(encoded.data().clone(), format!("user-{n}"), sequence_number)
                .with_approximate_arrival_timestamp(SystemTime::now()),
        );
    }
    let per_aggregate = n / AGGREGATES;
    let bytes: usize = batch.iter().map(|r| r.data().len()).sum();
    eprintln!("   {AGGREGATES} aggregates, {n} user records, {bytes} bytes");
    note(
        "deaggregation",
        &format!(
            "One thread (the benchmark's main thread, before any runtime or emulator starts). A \
             batch of {AGGREGATES} KPL aggregates of at most {AGGREGATE_LIMIT} bytes (the KPL's \
             default AggregationMaxSize), {per_aggregate} user records of {RECORD_BYTES} bytes \
             each, every user record with a partition key of its own, no explicit hash keys. \
             \"decode + iterate\": aggregation::decode (MD5 check included) and every sub-record \
             through Raw. \"decode + build records\": kinesis_consumer::deaggregate, the \
             function the consumer's shard task runs on every fetched batch (positions, the \
             deserializer behind a dyn pointer, a ConsumerRecord per user record with shard id, \
             sequence number, partition key and payload, collected in a Vec, then dropped), on a \
             clone of the batch. {SAMPLES} samples of about 100 ms each after a warm-up; median \
             (min and max alongside)."
        ),
    );
    let shard = ShardId::new("shardId-000000000000").expect("a shard id");
    let deserializer: Arc<dyn Deserializer<Bytes> + Send + Sync> = Arc::new(Raw);

    let iterate = sample(SAMPLES, || decode_and_iterate(&batch));
    let build = sample(SAMPLES, || build_records(&shard, &batch, &*deserializer));
    for (name, rates) in [("decode_iterate", &iterate), ("build_records", &build)] {
        let (min, max) = rates
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let med = median(rates);
        eprintln!("   {name}: median {med:.0}/s (min {min:.0}, max {max:.0})");
        emit(&format!("deaggregation.{name}"), med, "sub-records/s");
        emit(&format!("deaggregation.{name}.min"), min, "sub-records/s");
        emit(&format!("deaggregation.{name}.max"), max, "sub-records/s");
    }
}
