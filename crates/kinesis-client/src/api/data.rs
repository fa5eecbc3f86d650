//! Data-plane operations: writing, reading and listing shards.

use std::time::SystemTime;

use aws_sdk_kinesis::Client as Sdk;
use aws_smithy_types::DateTime;

use crate::api::position::{ShardIterator, StartingPosition};
use crate::error::{Error, entry_code_is_retryable};
use crate::operation::{BoxFuture, Operation};
use crate::types::record::{
    PutRecordsEntry, PutRecordsOutput, PutRecordsResultEntry, Record, RecordPosition,
};
use crate::types::shard::{ChildShard, SequenceNumber, Shard, ShardId};
use crate::types::stream::{ConsumerArn, StreamArn, StreamId, StreamName};

macro_rules! sdk_err {
    () => {
        |e| Error::from_sdk(Self::NAME, e)
    };
}

// === PutRecord ===

/// `PutRecord`: writes one record.
#[derive(Clone, Debug)]
pub struct PutRecord {
    pub(crate) stream: StreamId,
    pub(crate) entry: PutRecordsEntry,
    pub(crate) sequence_number_for_ordering: Option<SequenceNumber>,
}

impl Operation for PutRecord {
    type Client = Sdk;
    type Output = RecordPosition;
    const NAME: &'static str = "PutRecord";

    fn stream(&self) -> Option<&StreamId> {
        Some(&self.stream)
    }

    fn invoke(&self, sdk: &Sdk) -> BoxFuture<Result<RecordPosition, Error>> {
        let (name, arn) = self.stream.params();
        let call = sdk
            .put_record()
            .set_stream_name(name)
            .set_stream_arn(arn)
            .data(aws_smithy_types::Blob::new(self.entry.data().to_vec()))
            .partition_key(self.entry.partition_key().as_str())
            .set_explicit_hash_key(self.entry.explicit_hash_key().map(|k| k.to_string()))
            .set_sequence_number_for_ordering(
                self.sequence_number_for_ordering
                    .as_ref()
                    .map(|s| s.as_str().to_owned()),
            )
            .send();
        Box::pin(async move {
            let out = call.await.map_err(sdk_err!())?;
            Ok(RecordPosition {
                shard_id: ShardId::from_service(out.shard_id()),
                sequence_number: SequenceNumber::from_service(out.sequence_number())?,
            })
        })
    }
}

// === PutRecords ===

/// `PutRecords`: writes up to 500 records; the retry layer resends only the failed entries.
#[derive(Clone, Debug)]
pub struct PutRecords {
    pub(crate) stream: StreamId,
    pub(crate) entries: std::sync::Arc<[PutRecordsEntry]>,
    /// The outcome of each entry so far; `None` for entries still to send.
    pub(crate) outcomes: Vec<Option<PutRecordsResultEntry>>,
}

impl PutRecords {
    pub(crate) fn new(stream: StreamId, entries: Vec<PutRecordsEntry>) -> Self {
        let outcomes = vec![None; entries.len()];
        Self {
            stream,
            entries: entries.into(),
            outcomes,
        }
    }

    fn pending(&self) -> Vec<usize> {
        (0..self.outcomes.len())
            .filter(|i| self.outcomes[*i].is_none())
            .collect()
    }
}

impl Operation for PutRecords {
    type Client = Sdk;
    type Output = PutRecordsOutput;
    const NAME: &'static str = "PutRecords";

    fn stream(&self) -> Option<&StreamId> {
        Some(&self.stream)
    }

    fn invoke(&self, sdk: &Sdk) -> BoxFuture<Result<PutRecordsOutput, Error>> {
        let pending = self.pending();
        let (name, arn) = self.stream.params();
        let records = pending.iter().map(|i| self.entries[*i].to_sdk()).collect();
        let call = sdk
            .put_records()
            .set_stream_name(name)
            .set_stream_arn(arn)
            .set_records(Some(records))
            .send();
        let mut outcomes = self.outcomes.clone();
        let entries = self.entries.clone();
        Box::pin(async move {
            let out = call.await.map_err(sdk_err!())?;
            if out.records().len() != pending.len() {
                return Err(Error::malformed_response(format!(
                    "PutRecords sent {} entries and got {} results",
                    pending.len(),
                    out.records().len()
                )));
            }
            // Results name a few shards many times: one id each, shared.
            let mut shards: Vec<ShardId> = Vec::new();
            for (index, result) in pending.into_iter().zip(out.records()) {
                outcomes[index] = Some(match (result.error_code(), result.sequence_number()) {
                    (None, Some(seq)) => PutRecordsResultEntry::Stored(RecordPosition {
                        shard_id: shared_shard_id(
                            &mut shards,
                            result.shard_id().unwrap_or_default(),
                        ),
                        sequence_number: SequenceNumber::from_service(seq)?,
                    }),
                    // Nothing counts as stored without a sequence number.
                    (code, _) => PutRecordsResultEntry::Failed {
                        entry: entries[index].clone(),
                        error_code: code.unwrap_or("MissingSequenceNumber").to_owned(),
                        error_message: result.error_message().unwrap_or_default().to_owned(),
                    },
                });
            }
            Ok(PutRecordsOutput::new(
                outcomes.into_iter().flatten().collect(),
            ))
        })
    }

    fn check_output(&mut self, output: PutRecordsOutput) -> Result<PutRecordsOutput, Error> {
        if output.failed_count() == 0 {
            return Ok(output);
        }
        for (slot, outcome) in self.outcomes.iter_mut().zip(output.entries()) {
            *slot = match outcome {
                PutRecordsResultEntry::Failed { error_code, .. }
                    if entry_code_is_retryable(error_code) =>
                {
                    None
                }
                other => Some(other.clone()),
            };
        }
        Err(Error::partial_failure(Self::NAME, output))
    }
}

/// The id `id` from `shards` if there, else added to it.
fn shared_shard_id(shards: &mut Vec<ShardId>, id: &str) -> ShardId {
    if let Some(known) = shards.iter().find(|s| s.as_str() == id) {
        return known.clone();
    }
    let new = ShardId::from_service(id);
    // A PutRecords call reaches at most 500 shards; a short list is searched faster than hashed
    // while it stays short.
    if shards.len() < 64 {
        shards.push(new.clone());
    }
    new
}

// === GetShardIterator ===

/// `GetShardIterator`: a cursor at a starting position of a shard.
#[derive(Clone, Debug)]
pub struct GetShardIterator {
    pub(crate) stream: StreamId,
    pub(crate) shard: ShardId,
    pub(crate) position: StartingPosition,
}

impl Operation for GetShardIterator {
    type Client = Sdk;
    type Output = ShardIterator;
    const NAME: &'static str = "GetShardIterator";

    fn stream(&self) -> Option<&StreamId> {
        Some(&self.stream)
    }
    fn shard(&self) -> Option<&ShardId> {
        Some(&self.shard)
    }

    fn invoke(&self, sdk: &Sdk) -> BoxFuture<Result<ShardIterator, Error>> {
        let (name, arn) = self.stream.params();
        let call = sdk
            .get_shard_iterator()
            .set_stream_name(name)
            .set_stream_arn(arn)
            .shard_id(self.shard.as_str())
            .shard_iterator_type(self.position.iterator_type())
            .set_starting_sequence_number(self.position.sequence_number())
            .set_timestamp(self.position.sdk_timestamp())
            .send();
        let (stream, shard) = (self.stream.clone(), self.shard.clone());
        Box::pin(async move {
            let out = call.await.map_err(sdk_err!())?;
            let value = out
                .shard_iterator
                .ok_or_else(|| Error::malformed_response("GetShardIterator without iterator"))?;
            ShardIterator::new(value, stream, shard)
        })
    }
}

// === GetRecords ===

/// `GetRecords`: reads from a shard iterator.
#[derive(Clone, Debug)]
pub struct GetRecords {
    pub(crate) iterator: ShardIterator,
    pub(crate) limit: Option<u32>,
}

/// The answer to `GetRecords`.
#[derive(Clone, Debug)]
pub struct GetRecordsOutput {
    records: Vec<Record>,
    next_shard_iterator: Option<ShardIterator>,
    millis_behind_latest: Option<i64>,
    child_shards: Vec<ChildShard>,
}

impl GetRecordsOutput {
    /// The records read, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.records
    }
    /// Takes the records out.
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }
    /// Where to read next; `None` once a closed shard has been read to its end.
    pub fn next_shard_iterator(&self) -> Option<&ShardIterator> {
        self.next_shard_iterator.as_ref()
    }
    /// How far behind the tip of the shard the response is, in milliseconds.
    pub fn millis_behind_latest(&self) -> Option<i64> {
        self.millis_behind_latest
    }
    /// The children of a closed shard, reported with its last records.
    pub fn child_shards(&self) -> &[ChildShard] {
        &self.child_shards
    }
    /// Whether the shard has been read to its end (it was closed by a reshard).
    pub fn is_shard_end(&self) -> bool {
        self.next_shard_iterator.is_none()
    }
}

impl Operation for GetRecords {
    type Client = Sdk;
    type Output = GetRecordsOutput;
    const NAME: &'static str = "GetRecords";

    fn stream(&self) -> Option<&StreamId> {
        Some(self.iterator.stream())
    }
    fn shard(&self) -> Option<&ShardId> {
        Some(self.iterator.shard())
    }

    fn invoke(&self, sdk: &Sdk) -> BoxFuture<Result<GetRecordsOutput, Error>> {
        let call = sdk
            .get_records()
            .shard_iterator(self.iterator.as_str())
            .set_limit(self.limit.map(|l| l.min(10_000) as i32))
            .set_stream_arn(self.iterator.stream().arn().map(|a| a.as_str().to_owned()))
            .send();
        let iterator = self.iterator.clone();
        Box::pin(async move {
            let out = call.await.map_err(sdk_err!())?;
            let child_shards = out
                .child_shards()
                .iter()
                .map(ChildShard::from_sdk)
                .collect::<Result<_, _>>()?;
            let next = out.next_shard_iterator.clone().map(|v| iterator.next(v));
            let millis_behind_latest = out.millis_behind_latest;
            let records = out
                .records
                .into_iter()
                .map(Record::from_sdk)
                .collect::<Result<_, _>>()?;
            Ok(GetRecordsOutput {
                records,
                next_shard_iterator: next,
                millis_behind_latest,
                child_shards,
            })
        })
    }
}

// === ListShards ===

/// Which shards `ListShards` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardFilter {
    /// Shards after this shard id.
    AfterShardId(ShardId),
    /// Shards open at the trim horizon.
    AtTrimHorizon,
    /// Every shard from the trim horizon on, closed ones included.
    FromTrimHorizon,
    /// Only the open shards.
    AtLatest,
    /// Shards open at this time.
    AtTimestamp(SystemTime),
    /// Shards open at or after this time.
    FromTimestamp(SystemTime),
}

impl ShardFilter {
    fn to_sdk(&self) -> aws_sdk_kinesis::types::ShardFilter {
        use aws_sdk_kinesis::types::ShardFilterType as T;
        let b = aws_sdk_kinesis::types::ShardFilter::builder();
        let b = match self {
            ShardFilter::AfterShardId(id) => b.r#type(T::AfterShardId).shard_id(id.as_str()),
            ShardFilter::AtTrimHorizon => b.r#type(T::AtTrimHorizon),
            ShardFilter::FromTrimHorizon => b.r#type(T::FromTrimHorizon),
            ShardFilter::AtLatest => b.r#type(T::AtLatest),
            ShardFilter::AtTimestamp(t) => b.r#type(T::AtTimestamp).timestamp(DateTime::from(*t)),
            ShardFilter::FromTimestamp(t) => {
                b.r#type(T::FromTimestamp).timestamp(DateTime::from(*t))
            }
        };
        b.build().expect("type is always set")
    }
}

/// `ListShards`: one page of a stream's shards.
#[derive(Clone, Debug)]
pub struct ListShards {
    pub(crate) stream: StreamId,
    pub(crate) next_token: Option<String>,
    pub(crate) filter: Option<ShardFilter>,
    pub(crate) max_results: Option<u32>,
}

/// One page of `ListShards`.
#[derive(Clone, Debug)]
pub struct ShardPage {
    pub(crate) shards: Vec<Shard>,
    pub(crate) next_token: Option<String>,
}

impl Operation for ListShards {
    type Client = Sdk;
    type Output = ShardPage;
    const NAME: &'static str = "ListShards";

    fn stream(&self) -> Option<&StreamId> {
        Some(&self.stream)
    }

    fn invoke(&self, sdk: &Sdk) -> BoxFuture<Result<ShardPage, Error>> {
        let mut b = sdk
            .list_shards()
            .set_max_results(self.max_results.map(|m| m.clamp(1, 10_000) as i32));
        // AWS rejects a stream together with a next token: the token already names it.
        match &self.next_token {
            Some(token) => b = b.next_token(token),
            None => {
                let (name, arn) = self.stream.params();
                b = b
                    .set_stream_name(name)
                    .set_stream_arn(arn)
                    .set_shard_filter(self.filter.as_ref().map(ShardFilter::to_sdk));
            }
        }
        let call = b.send();
        Box::pin(async move {
            let out = call.await.map_err(sdk_err!())?;
            Ok(ShardPage {
                shards: out
                    .shards()
                    .iter()
                    .map(Shard::from_sdk)
                    .collect::<Result<_, _>>()?,
                next_token: out.next_token,
            })
        })
    }
}

// === DescribeStreamSummary ===

/// Whether a stream is being created, usable, being updated or being deleted.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamStatus {
    /// Being created.
    Creating,
    /// Usable.
    Active,
    /// Being resharded or reconfigured; reads and writes still work.
    Updating,
    /// Being deleted.
    Deleting,
    /// A status this client does not know.
    Other(String),
}

impl StreamStatus {
    /// The status as Kinesis writes it: `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`.
    ///
    /// ```
    /// assert_eq!(kinesis_client::StreamStatus::Active.as_str(), "ACTIVE");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::Creating => "CREATING",
            Self::Active => "ACTIVE",
            Self::Updating => "UPDATING",
            Self::Deleting => "DELETING",
            Self::Other(s) => s,
        }
    }

    pub(crate) fn from_sdk(s: &aws_sdk_kinesis::types::StreamStatus) -> Self {
        use aws_sdk_kinesis::types::StreamStatus as S;
        match s {
            S::Creating => Self::Creating,
            S::Active => Self::Active,
            S::Updating => Self::Updating,
            S::Deleting => Self::Deleting,
            other => Self::Other(other.as_str().to_owned()),
        }
    }
}

impl std::fmt::Display for StreamStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a stream's capacity is managed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamMode {
    /// A fixed number of shards, changed by resharding.
    Provisioned {
        /// The number of shards.
        shard_count: u32,
    },
    /// Capacity managed by Kinesis.
    OnDemand,
}

/// `DescribeStreamSummary` of a stream.
#[derive(Clone, Debug)]
pub struct StreamSummary {
    /// The stream's name.
    pub name: StreamName,
    /// The stream's ARN.
    pub arn: Option<StreamArn>,
    /// The stream's status.
    pub status: StreamStatus,
    /// Whether the stream is on-demand (`None` when the service did not say).
    pub on_demand: Option<bool>,
    /// The number of open shards.
    pub open_shard_count: u32,
    /// How long records are kept, in hours.
    pub retention_period_hours: u32,
    /// The number of registered enhanced fan-out consumers.
    pub consumer_count: Option<u32>,
    /// Whether records are encrypted with KMS.
    pub encrypted: bool,
    /// When the stream was created.
    pub created: Option<SystemTime>,
}

/// `DescribeStreamSummary`.
#[derive(Clone, Debug)]
pub struct DescribeStreamSummary {
    pub(crate) stream: StreamId,
}

impl Operation for DescribeStreamSummary {
    type Client = Sdk;
    type Output = StreamSummary;
    const NAME: &'static str = "DescribeStreamSummary";

    fn stream(&self) -> Option<&StreamId> {
        Some(&self.stream)
    }

    fn invoke(&self, sdk: &Sdk) -> BoxFuture<Result<StreamSummary, Error>> {
        let (name, arn) = self.stream.params();
        let call = sdk
            .describe_stream_summary()
            .set_stream_name(name)
            .set_stream_arn(arn)
            .send();
        Box::pin(async move {
            let out = call.await.map_err(sdk_err!())?;
            let d = out
                .stream_description_summary
                .ok_or_else(|| Error::malformed_response("no StreamDescriptionSummary"))?;
            Ok(StreamSummary {
                name: StreamName::new(d.stream_name())
                    .map_err(|e| Error::malformed_response(e.message().to_owned()))?,
                arn: StreamArn::new(d.stream_arn()).ok(),
                status: StreamStatus::from_sdk(d.stream_status()),
                on_demand: d
                    .stream_mode_details()
                    .map(|m| m.stream_mode() == &aws_sdk_kinesis::types::StreamMode::OnDemand),
                open_shard_count: d.open_shard_count().max(0) as u32,
                retention_period_hours: d.retention_period_hours().max(0) as u32,
                consumer_count: d.consumer_count().map(|c| c.max(0) as u32),
                encrypted: matches!(
                    d.encryption_type(),
                    Some(aws_sdk_kinesis::types::EncryptionType::Kms)
                ),
                created: SystemTime::try_from(*d.stream_creation_timestamp()).ok(),
            })
        })
    }
}

// === SubscribeToShard ===

/// `SubscribeToShard`: an enhanced fan-out subscription to one shard.
#[derive(Clone, Debug)]
pub struct SubscribeToShard {
    pub(crate) consumer: ConsumerArn,
    pub(crate) shard: ShardId,
    pub(crate) position: StartingPosition,
}

impl Operation for SubscribeToShard {
    type Client = Sdk;
    type Output = crate::api::subscribe::SubscribeToShardStream;
    const NAME: &'static str = "SubscribeToShard";

    fn shard(&self) -> Option<&ShardId> {
        Some(&self.shard)
    }
    fn consumer(&self) -> Option<&ConsumerArn> {
        Some(&self.consumer)
    }

    fn invoke(&self, sdk: &Sdk) -> BoxFuture<Result<Self::Output, Error>> {
        let call = sdk
            .subscribe_to_shard()
            .consumer_arn(self.consumer.as_str())
            .shard_id(self.shard.as_str())
            .starting_position(self.position.to_sdk())
            .send();
        let shard = self.shard.clone();
        Box::pin(async move {
            let out = call.await.map_err(sdk_err!())?;
            Ok(crate::api::subscribe::SubscribeToShardStream::new(
                shard,
                out.event_stream,
            ))
        })
    }
}
