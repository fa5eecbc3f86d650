//! Part 2, deaggregation: KPL aggregates split into user records on one core.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use kinesis_client::{PartitionKey, PutRecordsEntry, SequenceNumber, ShardId};
use kinesis_kcl_compat::aggregation::{self, AggregateBuilder, Decoded};
use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;
use kinesis_serde::{Deserializer, Raw};

use crate::fixture::payload;
use crate::{RECORD_BYTES, emit, median, note};

/// What the consumer builds for each user record (mirrors `ConsumerRecord`, whose fields are
/// private to the crate).
#[allow(dead_code)]
struct BuiltRecord<T> {
    shard_id: ShardId,
    sequence_number: SequenceNumber,
    sub_sequence_number: Option<u64>,
    partition_key: String,
    explicit_hash_key: Option<String>,
    approximate_arrival_timestamp: Option<SystemTime>,
    data: T,
}

/// The per-record work of the consumer's shard task for one fetched batch (`shard::convert`
/// with nothing to skip): decode, then for each user record its position, the deserializer,
/// and the record.
fn build_records<T>(
    shard_id: &ShardId,
    batch: &[(SequenceNumber, Bytes)],
    arrival: Option<SystemTime>,
    deserializer: &(dyn Deserializer<T> + Send + Sync),
) -> Vec<Result<BuiltRecord<T>, ExtendedSequenceNumber>> {
    let mut out = Vec::with_capacity(batch.len());
    for (sequence_number, data) in batch {
        let Ok(Decoded::Aggregate(aggregate)) = aggregation::decode(data) else {
            panic!("the benchmark's aggregates decode");
        };
        for sub in aggregate.iter() {
            let position =
                ExtendedSequenceNumber::new(sequence_number.clone(), sub.sub_sequence_number());
            out.push(match deserializer.deserialize(sub.data().clone()) {
                Ok(data) => Ok(BuiltRecord {
                    shard_id: shard_id.clone(),
                    sequence_number: sequence_number.clone(),
                    sub_sequence_number: Some(sub.sub_sequence_number()),
                    partition_key: sub.partition_key().to_owned(),
                    explicit_hash_key: sub.explicit_hash_key().map(str::to_owned),
                    approximate_arrival_timestamp: arrival,
                    data,
                }),
                Err(_) => Err(position),
            });
        }
    }
    out
}

/// Decode and iterate only, with `Raw`.
fn decode_and_iterate(batch: &[(SequenceNumber, Bytes)]) -> usize {
    let mut n = 0;
    for (_, data) in batch {
        let Ok(Decoded::Aggregate(aggregate)) = aggregation::decode(data) else {
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
        batch.push((sequence_number, encoded.data().clone()));
    }
    let per_aggregate = n / AGGREGATES;
    let bytes: usize = batch.iter().map(|(_, d)| d.len()).sum();
    eprintln!("   {AGGREGATES} aggregates, {n} user records, {bytes} bytes");
    note(
        "deaggregation",
        &format!(
            "One thread (the benchmark's main thread, before any runtime or emulator starts). A \
             batch of {AGGREGATES} KPL aggregates of at most {AGGREGATE_LIMIT} bytes (the KPL's \
             default AggregationMaxSize), {per_aggregate} user records of {RECORD_BYTES} bytes \
             each, every user record with a partition key of its own, no explicit hash keys. \
             \"decode + iterate\": aggregation::decode (MD5 check included) and every sub-record \
             through Raw. \"decode + build records\": the same plus what the consumer's shard \
             task does per user record (its position, the deserializer behind a dyn pointer, a \
             record with shard id, sequence number, partition key and payload, collected in a \
             Vec, then dropped). {SAMPLES} samples of about 100 ms each after a warm-up; median \
             (min and max alongside)."
        ),
    );
    let shard = ShardId::new("shardId-000000000000").expect("a shard id");
    let deserializer: Arc<dyn Deserializer<Bytes> + Send + Sync> = Arc::new(Raw);
    let arrival = Some(SystemTime::now());

    let iterate = sample(SAMPLES, || decode_and_iterate(&batch));
    let build = sample(SAMPLES, || {
        build_records(&shard, &batch, arrival, &*deserializer).len()
    });
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
