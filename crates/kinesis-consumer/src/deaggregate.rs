//! From Kinesis records to user records: KPL aggregates split, records the checkpoint covers
//! skipped, payloads deserialized. [`ShardStream`](crate::ShardStream) converts every batch it
//! fetches this way; [`deaggregate`] does it for records fetched another way.

use kinesis_client::{HashKeyRange, Record, ShardId};
use kinesis_kcl_compat::aggregation::{self, Decoded};
use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;
use kinesis_serde::Deserializer;

use crate::error::{ConsumerError, ConsumerErrorKind};
use crate::record::ConsumerRecord;

/// Turns Kinesis records of `shard_id` into user records as a [`ShardStream`](crate::ShardStream)
/// does with every batch it fetches: KPL aggregates are split (each sub-record with its
/// sub-sequence number), corrupt aggregates delivered as plain records, and every payload
/// deserialized; a payload that does not deserialize is an error carrying its position. Unlike
/// the stream, it keeps aggregated records whatever their hash key (the stream skips, as the KCL
/// does, every aggregate holding a record outside its shard's range). For records fetched
/// another way, and for tests.
///
/// ```
/// use kinesis_client::{PartitionKey, PutRecordsEntry, Record, ShardId};
/// use kinesis_consumer::deaggregate;
/// use kinesis_kcl_compat::aggregation::AggregateBuilder;
/// use kinesis_serde::Utf8;
///
/// let mut builder = AggregateBuilder::new();
/// for text in ["a", "b"] {
///     builder.add(PutRecordsEntry::new(text, PartitionKey::new("k")?));
/// }
/// let aggregate = builder.finish().expect("two records");
/// let records = vec![
///     Record::new(aggregate.into_data(), "k", "100".parse()?),
///     Record::new("plain", "k", "101".parse()?),
/// ];
/// let shard: ShardId = "shardId-000000000000".parse()?;
/// let out: Vec<String> = deaggregate::<String>(&shard, records, &Utf8)
///     .into_iter()
///     .map(|r| r.map(|r| format!("{} {}", r.position(), r.data())))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(out, ["100 a", "100:1 b", "101 plain"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn deaggregate<T>(
    shard_id: &ShardId,
    records: Vec<Record>,
    deserializer: &(dyn Deserializer<T> + Send + Sync),
) -> Vec<Result<ConsumerRecord<T>, ConsumerError>> {
    convert(shard_id, None, records, &mut None, deserializer).0
}

/// Splits, filters and deserializes one batch of Kinesis records; also returns how many
/// aggregated user records were skipped because their aggregate holds records outside `range`.
///
/// With `range` (the shard's, when known and skipping is on), a KPL aggregate holding any user
/// record whose effective hash key lies outside it is skipped whole, as the KCL does.
pub(crate) fn convert<T>(
    shard_id: &ShardId,
    range: Option<&HashKeyRange>,
    records: Vec<Record>,
    skip_through: &mut Option<ExtendedSequenceNumber>,
    deserializer: &(dyn Deserializer<T> + Send + Sync),
) -> (Vec<Result<ConsumerRecord<T>, ConsumerError>>, usize) {
    let mut outside = 0;
    let mut out = Vec::with_capacity(records.len());
    let mut push = |record: &Record,
                    sub: Option<u64>,
                    data: bytes::Bytes,
                    partition_key: &str,
                    explicit_hash_key: Option<&str>| {
        let position =
            ExtendedSequenceNumber::new(record.sequence_number().clone(), sub.unwrap_or(0));
        if let Some(skip) = skip_through {
            if position <= *skip {
                return;
            }
            *skip_through = None;
        }
        let raw = ConsumerRecord {
            shard_id: shard_id.clone(),
            sequence_number: record.sequence_number().clone(),
            sub_sequence_number: sub,
            partition_key: partition_key.to_owned(),
            explicit_hash_key: explicit_hash_key.map(str::to_owned),
            approximate_arrival_timestamp: record.approximate_arrival_timestamp(),
            data,
        };
        // The payload's bytes are shared, not copied: the error keeps them for a dead letter.
        out.push(match deserializer.deserialize(raw.data.clone()) {
            Ok(data) => Ok(raw.with_data(data)),
            Err(e) => Err(ConsumerError::new(
                ConsumerErrorKind::Deserialize,
                format!("a record could not be deserialized: {e}"),
            )
            .with_source(e)
            .for_shard(shard_id)
            .at(position)
            .with_raw_record(raw)),
        });
    };
    for record in &records {
        match aggregation::decode(record.data()) {
            Ok(Decoded::Aggregate(aggregate)) => {
                if let Some(range) = range
                    && !aggregate.iter().all(|sub| sub.is_in(range))
                {
                    // As the KCL does: a producer whose shard map was stale sends every record
                    // of such an aggregate again.
                    tracing::warn!(shard_id = %shard_id, sequence_number = %record.sequence_number(), records = aggregate.len(), "KPL aggregate holding user records outside the shard's hash key range skipped whole");
                    outside += aggregate.len();
                    continue;
                }
                for sub in aggregate.iter() {
                    push(
                        record,
                        Some(sub.sub_sequence_number()),
                        sub.data().clone(),
                        sub.partition_key(),
                        sub.explicit_hash_key(),
                    );
                }
            }
            Ok(Decoded::Plain { data, reason }) => {
                if reason.is_corrupt() {
                    tracing::warn!(shard_id = %shard_id, sequence_number = %record.sequence_number(), ?reason, "corrupt KPL aggregate delivered as a plain record");
                }
                push(record, None, data, record.partition_key(), None);
            }
            Err(e) => {
                tracing::warn!(shard_id = %shard_id, sequence_number = %record.sequence_number(), error = %e, "KPL aggregate cannot be split; delivered as a plain record");
                push(
                    record,
                    None,
                    record.data().clone(),
                    record.partition_key(),
                    None,
                );
            }
        }
    }
    (out, outside)
}
