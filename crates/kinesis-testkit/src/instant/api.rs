//! The instant server's Kinesis operations (the JSON 1.1 protocol): what each request asks, read
//! from memory, answered at once.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::store::{Store, StoredRecord, Stream, index_of, now_ms, sequence_number};

/// At most this many records per GetRecords answer (Kinesis's limit).
const MAX_GET_RECORDS: usize = 10_000;

/// An error answer: HTTP status, the `__type` and a message.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            kind: "InvalidArgumentException",
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            kind: "ResourceNotFoundException",
            message: message.into(),
        }
    }

    /// The JSON body of the answer.
    pub(crate) fn body(&self) -> Vec<u8> {
        json!({ "__type": self.kind, "message": self.message })
            .to_string()
            .into_bytes()
    }
}

type Answer = Result<Vec<u8>, ApiError>;

/// Answers the operation `target` (the `X-Amz-Target` header, e.g.
/// `Kinesis_20131202.PutRecords`) with the request `body`.
pub(crate) fn handle(store: &Store, target: &str, body: &[u8]) -> Answer {
    let operation = target.rsplit_once('.').map_or(target, |(_, op)| op);
    match operation {
        "PutRecords" => put_records(store, body),
        "PutRecord" => put_record(store, body),
        "GetShardIterator" => get_shard_iterator(store, body),
        "GetRecords" => get_records(store, body),
        "ListShards" => list_shards(store, body),
        "DescribeStreamSummary" => describe_stream_summary(store, body),
        "DescribeStream" => describe_stream(store, body),
        "CreateStream" => create_stream(store, body),
        "DeleteStream" => delete_stream(store, body),
        "ListStreams" => Ok(json!({
            "StreamNames": store.names(),
            "HasMoreStreams": false,
        })
        .to_string()
        .into_bytes()),
        "DescribeLimits" => Ok(json!({
            "ShardLimit": 10_000,
            "OpenShardCount": 0,
            "OnDemandStreamCount": 0,
            "OnDemandStreamCountLimit": 50,
        })
        .to_string()
        .into_bytes()),
        other => Err(ApiError {
            status: 400,
            kind: "UnknownOperationException",
            message: format!("the instant server does not implement {other:?} ({target})"),
        }),
    }
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError {
        status: 400,
        kind: "SerializationException",
        message: format!("the request body is not the expected JSON: {e}"),
    })
}

/// A request's stream, by name or ARN.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamRef<'a> {
    #[serde(borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "StreamARN")]
    stream_arn: Option<Cow<'a, str>>,
}

impl StreamRef<'_> {
    fn find(&self, store: &Store) -> Result<Arc<Stream>, ApiError> {
        find_stream(
            store,
            self.stream_name.as_deref(),
            self.stream_arn.as_deref(),
        )
    }
}

/// The stream a request names by `StreamARN` or else `StreamName`.
fn find_stream(
    store: &Store,
    name: Option<&str>,
    arn: Option<&str>,
) -> Result<Arc<Stream>, ApiError> {
    let name = arn
        .or(name)
        .ok_or_else(|| ApiError::invalid("neither StreamName nor StreamARN was given"))?;
    store.get(name).ok_or_else(|| {
        ApiError::not_found(format!(
            "Stream {name} under account 000000000000 not found."
        ))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEntry<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(borrow)]
    partition_key: Cow<'a, str>,
    #[serde(borrow, default)]
    explicit_hash_key: Option<Cow<'a, str>>,
}

// No `#[serde(flatten)]` in the requests: it would buffer the whole request before reading it.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsInput<'a> {
    #[serde(borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "StreamARN")]
    stream_arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    records: Vec<PutEntry<'a>>,
}

/// Stores one record; returns its shard's id and its sequence number.
fn store_record(store: &Store, stream: &Stream, entry: &PutEntry<'_>, now: u64) -> (usize, u64) {
    let shard = stream.shard_for(&entry.partition_key, entry.explicit_hash_key.as_deref());
    let mut log = shard.records.lock().unwrap_or_else(|e| e.into_inner());
    let index = log.count;
    log.count += 1;
    if !store.discard {
        log.kept.push(StoredRecord {
            index,
            data: entry.data.as_ref().into(),
            partition_key: entry.partition_key.as_ref().into(),
            arrival_ms: now,
        });
    }
    (shard.index, index)
}

fn check_entry(entry: &PutEntry<'_>) -> Result<(), ApiError> {
    if entry.partition_key.is_empty() || entry.partition_key.chars().count() > 256 {
        return Err(ApiError::invalid(format!(
            "partition key of {} characters: it must have 1 to 256",
            entry.partition_key.chars().count()
        )));
    }
    Ok(())
}

fn put_records(store: &Store, body: &[u8]) -> Answer {
    let input: PutRecordsInput<'_> = parse(body)?;
    if input.records.is_empty() || input.records.len() > 500 {
        return Err(ApiError::invalid(format!(
            "{} records in one PutRecords: it takes 1 to 500",
            input.records.len()
        )));
    }
    input.records.iter().try_for_each(check_entry)?;
    let stream = find_stream(
        store,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let now = now_ms();
    let mut out = String::with_capacity(32 + input.records.len() * 110);
    out.push_str(r#"{"FailedRecordCount":0,"EncryptionType":"NONE","Records":["#);
    for (i, entry) in input.records.iter().enumerate() {
        let (shard, index) = store_record(store, &stream, entry, now);
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"SequenceNumber":"{}","ShardId":"{}"}}"#,
            sequence_number(shard, index),
            stream.shards[shard].id
        );
    }
    out.push_str("]}");
    Ok(out.into_bytes())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordInput<'a> {
    #[serde(borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "StreamARN")]
    stream_arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(borrow)]
    partition_key: Cow<'a, str>,
    #[serde(borrow, default)]
    explicit_hash_key: Option<Cow<'a, str>>,
}

fn put_record(store: &Store, body: &[u8]) -> Answer {
    let input: PutRecordInput<'_> = parse(body)?;
    let entry = PutEntry {
        data: input.data,
        partition_key: input.partition_key,
        explicit_hash_key: input.explicit_hash_key,
    };
    check_entry(&entry)?;
    let stream = find_stream(
        store,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let (shard, index) = store_record(store, &stream, &entry, now_ms());
    Ok(json!({
        "SequenceNumber": sequence_number(shard, index),
        "ShardId": stream.shards[shard].id,
        "EncryptionType": "NONE",
    })
    .to_string()
    .into_bytes())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetShardIteratorInput<'a> {
    #[serde(borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "StreamARN")]
    stream_arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    shard_id: Cow<'a, str>,
    #[serde(borrow)]
    shard_iterator_type: Cow<'a, str>,
    #[serde(borrow, default)]
    starting_sequence_number: Option<Cow<'a, str>>,
    #[serde(default)]
    timestamp: Option<f64>,
}

/// An iterator: `<stream>|<shard index>|<next record index>`.
fn iterator(stream: &str, shard: usize, position: u64) -> String {
    format!("{stream}|{shard}|{position}")
}

fn get_shard_iterator(store: &Store, body: &[u8]) -> Answer {
    let input: GetShardIteratorInput<'_> = parse(body)?;
    let stream = find_stream(
        store,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
    )?;
    let shard = stream
        .shards
        .iter()
        .find(|s| s.id == input.shard_id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Shard {} in stream {} under account 000000000000 does not exist",
                input.shard_id, stream.name
            ))
        })?;
    let log = shard.records.lock().unwrap_or_else(|e| e.into_inner());
    let sequence = || {
        input
            .starting_sequence_number
            .as_deref()
            .and_then(index_of)
            .ok_or_else(|| {
                ApiError::invalid("StartingSequenceNumber is missing or not one of this server's")
            })
    };
    let position = match input.shard_iterator_type.as_ref() {
        "TRIM_HORIZON" => 0,
        "LATEST" => log.count,
        "AT_SEQUENCE_NUMBER" => sequence()?,
        "AFTER_SEQUENCE_NUMBER" => sequence()? + 1,
        "AT_TIMESTAMP" => {
            let at_ms = input
                .timestamp
                .map(|t| (t * 1000.0) as u64)
                .ok_or_else(|| ApiError::invalid("AT_TIMESTAMP without a Timestamp"))?;
            log.kept
                .iter()
                .find(|r| r.arrival_ms >= at_ms)
                .map_or(log.count, |r| r.index)
        }
        other => {
            return Err(ApiError::invalid(format!(
                "unknown ShardIteratorType {other:?}"
            )));
        }
    };
    Ok(
        json!({ "ShardIterator": iterator(&stream.name, shard.index, position) })
            .to_string()
            .into_bytes(),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsInput<'a> {
    #[serde(borrow)]
    shard_iterator: Cow<'a, str>,
    #[serde(default)]
    limit: Option<usize>,
}

fn get_records(store: &Store, body: &[u8]) -> Answer {
    let input: GetRecordsInput<'_> = parse(body)?;
    let bad = || ApiError::invalid(format!("invalid ShardIterator {:?}", input.shard_iterator));
    let mut parts = input.shard_iterator.rsplitn(3, '|');
    let position: u64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let shard: usize = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let name = parts.next().ok_or_else(bad)?;
    let stream = store.get(name).ok_or_else(|| {
        ApiError::not_found(format!(
            "Stream {name} under account 000000000000 not found."
        ))
    })?;
    let shard = stream.shards.get(shard).ok_or_else(bad)?;
    let limit = input
        .limit
        .unwrap_or(MAX_GET_RECORDS)
        .clamp(1, MAX_GET_RECORDS);
    let log = shard.records.lock().unwrap_or_else(|e| e.into_inner());
    // Records kept from `first` on (all of them unless the server discards).
    let first = log.count - log.kept.len() as u64;
    let from = position.max(first);
    let start = (from - first) as usize;
    let end = (start + limit).min(log.kept.len());
    let records = &log.kept[start.min(end)..end];
    let mut out =
        String::with_capacity(64 + records.iter().map(|r| r.data.len() + 140).sum::<usize>());
    out.push_str(r#"{"Records":["#);
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let key = serde_json::to_string(&*record.partition_key).unwrap_or_default();
        let _ = write!(
            out,
            r#"{{"SequenceNumber":"{}","ApproximateArrivalTimestamp":{}.{:03},"Data":"{}","PartitionKey":{key}}}"#,
            sequence_number(shard.index, record.index),
            record.arrival_ms / 1000,
            record.arrival_ms % 1000,
            record.data,
        );
    }
    let next = records.last().map_or(from, |r| r.index + 1);
    let behind = log
        .kept
        .get((next - first) as usize)
        .map_or(0, |r| now_ms().saturating_sub(r.arrival_ms));
    let _ = write!(
        out,
        r#"],"NextShardIterator":"{}","MillisBehindLatest":{behind}}}"#,
        iterator(&stream.name, shard.index, next)
    );
    Ok(out.into_bytes())
}

fn shard_json(stream: &Stream, index: usize) -> Value {
    let shard = &stream.shards[index];
    json!({
        "ShardId": shard.id,
        "HashKeyRange": {
            "StartingHashKey": shard.start.to_string(),
            "EndingHashKey": shard.end.to_string(),
        },
        "SequenceNumberRange": { "StartingSequenceNumber": sequence_number(index, 0) },
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListShardsInput<'a> {
    #[serde(borrow, default)]
    stream_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "StreamARN")]
    stream_arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    next_token: Option<Cow<'a, str>>,
    #[serde(default)]
    max_results: Option<usize>,
}

fn list_shards(store: &Store, body: &[u8]) -> Answer {
    let input: ListShardsInput<'_> = parse(body)?;
    // A NextToken is `<stream>|<first shard index>`, and names the stream by itself.
    let (stream, from) = match input.next_token.as_deref() {
        Some(token) => {
            let (name, from) = token
                .rsplit_once('|')
                .and_then(|(n, i)| Some((n, i.parse::<usize>().ok()?)))
                .ok_or_else(|| ApiError::invalid(format!("invalid NextToken {token:?}")))?;
            let stream = store
                .get(name)
                .ok_or_else(|| ApiError::not_found(format!("Stream {name} not found.")))?;
            (stream, from)
        }
        None => (
            find_stream(
                store,
                input.stream_name.as_deref(),
                input.stream_arn.as_deref(),
            )?,
            0,
        ),
    };
    let max = input.max_results.unwrap_or(1000).clamp(1, 10_000);
    let to = (from + max).min(stream.shards.len());
    let shards: Vec<Value> = (from..to).map(|i| shard_json(&stream, i)).collect();
    let mut answer = json!({ "Shards": shards });
    if to < stream.shards.len() {
        answer["NextToken"] = Value::from(format!("{}|{to}", stream.name));
    }
    Ok(answer.to_string().into_bytes())
}

fn summary(stream: &Stream) -> Value {
    json!({
        "StreamName": stream.name,
        "StreamARN": stream.arn,
        "StreamStatus": "ACTIVE",
        "StreamModeDetails": { "StreamMode": "PROVISIONED" },
        "RetentionPeriodHours": 24,
        "StreamCreationTimestamp": stream.created_secs,
        "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
        "EncryptionType": "NONE",
        "OpenShardCount": stream.shards.len(),
        "ConsumerCount": 0,
    })
}

fn describe_stream_summary(store: &Store, body: &[u8]) -> Answer {
    let input: StreamRef<'_> = parse(body)?;
    let stream = input.find(store)?;
    Ok(json!({ "StreamDescriptionSummary": summary(&stream) })
        .to_string()
        .into_bytes())
}

fn describe_stream(store: &Store, body: &[u8]) -> Answer {
    let input: StreamRef<'_> = parse(body)?;
    let stream = input.find(store)?;
    let mut description = summary(&stream);
    description["Shards"] = (0..stream.shards.len())
        .map(|i| shard_json(&stream, i))
        .collect();
    description["HasMoreShards"] = Value::Bool(false);
    Ok(json!({ "StreamDescription": description })
        .to_string()
        .into_bytes())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateStreamInput<'a> {
    #[serde(borrow)]
    stream_name: Cow<'a, str>,
    #[serde(default)]
    shard_count: Option<usize>,
}

fn create_stream(store: &Store, body: &[u8]) -> Answer {
    let input: CreateStreamInput<'_> = parse(body)?;
    let shards = input.shard_count.unwrap_or(4);
    if shards == 0 || shards > 10_000 {
        return Err(ApiError::invalid(format!(
            "ShardCount {shards}: the instant server takes 1 to 10000"
        )));
    }
    if !store.create(&input.stream_name, shards) {
        return Err(ApiError {
            status: 400,
            kind: "ResourceInUseException",
            message: format!(
                "Stream {} under account 000000000000 already exists.",
                input.stream_name
            ),
        });
    }
    Ok(b"{}".to_vec())
}

fn delete_stream(store: &Store, body: &[u8]) -> Answer {
    let input: StreamRef<'_> = parse(body)?;
    let stream = input.find(store)?;
    store.delete(&stream.name);
    Ok(b"{}".to_vec())
}
