//! The data-plane client.

use crate::api::data::{
    DescribeStreamSummary, GetRecords, GetRecordsOutput, GetShardIterator, ListShards, PutRecord,
    PutRecords, ShardFilter, StreamSummary, SubscribeToShard,
};
use crate::api::paginate::paginated_stream;
use crate::api::position::{ShardIterator, StartingPosition};
use crate::api::subscribe::SubscribeToShardStream;
use crate::config::{ClientConfig, PutLimits};
use crate::error::Error;
use crate::stack::Stack;
use crate::types::record::{PutRecordsEntry, PutRecordsOutput, RecordPosition};
use crate::types::shard::{SequenceNumber, Shard, ShardId};
use crate::types::stream::{ConsumerArn, StreamId};

paginated_stream!(
    /// The shards of a stream, from `ListShards`, one at a time across pages.
    ListShardsStream,
    Shard
);

/// The Kinesis data plane: write, read, subscribe, list shards.
///
/// Every call is an operation sent through the configuration's [`Stack`]: retried when throttled
/// or transient, rate-limited to the Kinesis quotas, bounded per attempt and traced. The client is
/// a cheap handle: clone it freely across tasks.
///
/// ```no_run
/// # async fn run() -> Result<(), kinesis_client::Error> {
/// use kinesis_client::{Client, ClientConfig, PartitionKey, PutRecordsEntry, StartingPosition, StreamId};
///
/// let client = Client::new(&ClientConfig::from_env().await?);
/// let stream: StreamId = "orders".parse()?;
///
/// let stored = client
///     .put_record(&stream, PutRecordsEntry::new("hello", PartitionKey::new("k1")?))
///     .await?;
/// let it = client
///     .get_shard_iterator(&stream, &stored.shard_id, StartingPosition::TrimHorizon)
///     .await?;
/// let batch = client.get_records(&it, None).await?;
/// println!("read {} records", batch.records().len());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    stack: Stack<aws_sdk_kinesis::Client>,
    limits: PutLimits,
}

impl Client {
    /// A client for the configuration's region and Kinesis endpoint.
    pub fn new(config: &ClientConfig) -> Self {
        Self {
            stack: config.kinesis_stack(),
            limits: config.put_limits(),
        }
    }

    /// The stack calls go through, to send operations of your own.
    pub fn stack(&self) -> &Stack<aws_sdk_kinesis::Client> {
        &self.stack
    }

    /// The checks applied to writes before they are sent.
    pub fn put_limits(&self) -> PutLimits {
        self.limits
    }

    fn check_record(&self, entry: &PutRecordsEntry) -> Result<(), Error> {
        if entry.size() > self.limits.max_record_size() {
            return Err(Error::invalid_input(format!(
                "record of {} bytes (payload plus partition key) exceeds the limit of {} bytes",
                entry.size(),
                self.limits.max_record_size()
            )));
        }
        Ok(())
    }

    /// Writes one record and returns where it was stored.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), before sending, when the record
    /// is larger than [`PutLimits::max_record_size`]; otherwise the call's error once retries
    /// are spent.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a dropped call may still have stored the record.
    pub async fn put_record(
        &self,
        stream: impl Into<StreamId>,
        entry: PutRecordsEntry,
    ) -> Result<RecordPosition, Error> {
        self.put_record_ordered(stream, entry, None).await
    }

    /// Writes one record that must be sequenced after `after` (`SequenceNumberForOrdering`).
    ///
    /// # Errors
    ///
    /// As [`Client::put_record`].
    pub async fn put_record_ordered(
        &self,
        stream: impl Into<StreamId>,
        entry: PutRecordsEntry,
        after: Option<SequenceNumber>,
    ) -> Result<RecordPosition, Error> {
        self.check_record(&entry)?;
        self.stack
            .call(PutRecord {
                stream: stream.into(),
                entry,
                sequence_number_for_ordering: after,
            })
            .await
    }

    /// Writes up to 500 records in one call. Entries that fail with a retryable code are sent
    /// again, alone, until they are stored or the retry policy gives up.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), before sending: no entries,
    ///   more than 500, a record over the size limit, or a request over the batch size limit.
    /// - [`ErrorKind::PartialFailure`](crate::ErrorKind::PartialFailure) when some entries were
    ///   still failing at the end: [`Error::put_records_output`] has every entry's outcome.
    /// - The call's error when the whole request failed.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: a dropped call may have stored some of the records.
    pub async fn put_records(
        &self,
        stream: impl Into<StreamId>,
        entries: Vec<PutRecordsEntry>,
    ) -> Result<PutRecordsOutput, Error> {
        if entries.is_empty() || entries.len() > self.limits.max_batch_entries() {
            return Err(Error::invalid_input(format!(
                "PutRecords takes 1 to {} entries, got {}",
                self.limits.max_batch_entries(),
                entries.len()
            )));
        }
        let mut total = 0;
        for entry in &entries {
            self.check_record(entry)?;
            total += entry.size();
        }
        if total > self.limits.max_batch_size() {
            return Err(Error::invalid_input(format!(
                "PutRecords request of {total} bytes exceeds the limit of {} bytes",
                self.limits.max_batch_size()
            )));
        }
        self.stack
            .call(PutRecords::new(stream.into(), entries))
            .await
    }

    /// Gets a shard iterator at `position`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing stream or shard, or the
    /// call's error once retries are spent.
    pub async fn get_shard_iterator(
        &self,
        stream: impl Into<StreamId>,
        shard: &ShardId,
        position: StartingPosition,
    ) -> Result<ShardIterator, Error> {
        self.stack
            .call(GetShardIterator {
                stream: stream.into(),
                shard: shard.clone(),
                position,
            })
            .await
    }

    /// Reads up to `limit` records (at most 10 000; default the service's 10 000) from an
    /// iterator. Calls are limited to 5 per second per shard.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ExpiredIterator`](crate::ErrorKind::ExpiredIterator) when the iterator is older
    /// than 5 minutes (get a new one after the last record delivered); otherwise the call's error
    /// once retries are spent.
    pub async fn get_records(
        &self,
        iterator: &ShardIterator,
        limit: Option<u32>,
    ) -> Result<GetRecordsOutput, Error> {
        self.stack
            .call(GetRecords {
                iterator: iterator.clone(),
                limit,
            })
            .await
    }

    /// Subscribes to a shard with a registered enhanced fan-out consumer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ResourceInUse`](crate::ErrorKind::ResourceInUse) when the consumer already has
    /// a subscription to the shard from the last 5 seconds, or the call's error once retries are
    /// spent.
    pub async fn subscribe_to_shard(
        &self,
        consumer: &ConsumerArn,
        shard: &ShardId,
        position: StartingPosition,
    ) -> Result<SubscribeToShardStream, Error> {
        self.stack
            .call(SubscribeToShard {
                consumer: consumer.clone(),
                shard: shard.clone(),
                position,
            })
            .await
    }

    /// Lists a stream's shards, following pagination, optionally filtered.
    pub fn list_shards(
        &self,
        stream: impl Into<StreamId>,
        filter: Option<ShardFilter>,
    ) -> ListShardsStream {
        self.list_shards_paged(stream, filter, None)
    }

    /// As [`Client::list_shards`], with at most `page_size` shards per call.
    pub fn list_shards_paged(
        &self,
        stream: impl Into<StreamId>,
        filter: Option<ShardFilter>,
        page_size: Option<u32>,
    ) -> ListShardsStream {
        let stack = self.stack.clone();
        let stream = stream.into();
        ListShardsStream::new(Box::new(move |next_token| {
            let op = ListShards {
                stream: stream.clone(),
                next_token,
                filter: filter.clone(),
                max_results: page_size,
            };
            let stack = stack.clone();
            Box::pin(async move {
                let page = stack.call(op).await?;
                Ok((page.shards, page.next_token))
            })
        }))
    }

    /// Describes a stream: status, ARN, open shards, retention, consumers.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a missing stream.
    pub async fn describe_stream_summary(
        &self,
        stream: impl Into<StreamId>,
    ) -> Result<StreamSummary, Error> {
        self.stack
            .call(DescribeStreamSummary {
                stream: stream.into(),
            })
            .await
    }
}
