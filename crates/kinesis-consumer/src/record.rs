//! [`ConsumerRecord`]: one user record, deserialized, with where it came from.

use std::time::SystemTime;

use kinesis_client::{SequenceNumber, ShardId};
use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;

/// One user record of a shard: a plain Kinesis record, or one sub-record of a KPL aggregate.
///
/// Stage its [`position`](Self::position) on the shard's checkpointer once it is processed.
///
/// ```no_run
/// # async fn run(mut shard: kinesis_consumer::ShardStream<String>) {
/// use futures_util::StreamExt;
///
/// while let Some(record) = shard.next().await {
///     let record = record.expect("readable");
///     println!("{} {}: {}", record.shard_id(), record.position(), record.data());
///     shard.checkpointer().stage(record.position());
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerRecord<T> {
    pub(crate) shard_id: ShardId,
    pub(crate) sequence_number: SequenceNumber,
    pub(crate) sub_sequence_number: Option<u64>,
    pub(crate) partition_key: String,
    pub(crate) explicit_hash_key: Option<String>,
    pub(crate) approximate_arrival_timestamp: Option<SystemTime>,
    pub(crate) data: T,
}

impl<T> ConsumerRecord<T> {
    /// A record that came some other way than from this crate's consumer — from a
    /// MultiLangDaemon, a replay, a test — so that the same processing code handles it. A plain
    /// record: no sub-sequence number, no explicit hash key, no arrival time (see the `with_`
    /// methods).
    ///
    /// ```
    /// use kinesis_consumer::ConsumerRecord;
    ///
    /// let record = ConsumerRecord::new("shardId-000000000000".parse()?, "42".parse()?, "key-1", "hello")
    ///     .with_sub_sequence_number(3);
    /// assert_eq!(record.position().to_string(), "42:3");
    /// assert!(record.is_aggregated());
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn new(
        shard_id: ShardId,
        sequence_number: SequenceNumber,
        partition_key: impl Into<String>,
        data: T,
    ) -> Self {
        Self {
            shard_id,
            sequence_number,
            sub_sequence_number: None,
            partition_key: partition_key.into(),
            explicit_hash_key: None,
            approximate_arrival_timestamp: None,
            data,
        }
    }

    /// The record as the user record `sub` of a KPL aggregate.
    #[must_use]
    pub fn with_sub_sequence_number(mut self, sub: u64) -> Self {
        self.sub_sequence_number = Some(sub);
        self
    }

    /// The explicit hash key the producer set.
    #[must_use]
    pub fn with_explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(key.into());
        self
    }

    /// When Kinesis accepted the record.
    #[must_use]
    pub fn with_arrival_timestamp(mut self, at: SystemTime) -> Self {
        self.approximate_arrival_timestamp = Some(at);
        self
    }

    /// The shard the record was read from.
    pub fn shard_id(&self) -> &ShardId {
        &self.shard_id
    }

    /// The sequence number of the Kinesis record (shared by the sub-records of one aggregate).
    pub fn sequence_number(&self) -> &SequenceNumber {
        &self.sequence_number
    }

    /// The index of this user record inside its KPL aggregate; `None` for a plain record.
    pub fn sub_sequence_number(&self) -> Option<u64> {
        self.sub_sequence_number
    }

    /// Whether the record came out of a KPL aggregate.
    pub fn is_aggregated(&self) -> bool {
        self.sub_sequence_number.is_some()
    }

    /// The position to checkpoint: sequence number and sub-sequence number (0 for a plain
    /// record), as the KCL stores it.
    pub fn position(&self) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::new(
            self.sequence_number.clone(),
            self.sub_sequence_number.unwrap_or(0),
        )
    }

    /// The partition key the record was written with.
    pub fn partition_key(&self) -> &str {
        &self.partition_key
    }

    /// The explicit hash key of an aggregated user record, if its producer set one.
    pub fn explicit_hash_key(&self) -> Option<&str> {
        self.explicit_hash_key.as_deref()
    }

    /// When Kinesis accepted the (outer) record.
    pub fn approximate_arrival_timestamp(&self) -> Option<SystemTime> {
        self.approximate_arrival_timestamp
    }

    /// The deserialized payload.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// Consumes the record into its payload.
    pub fn into_data(self) -> T {
        self.data
    }

    /// The same record with another payload (a deserialized one, say).
    ///
    /// ```
    /// use kinesis_consumer::ConsumerRecord;
    ///
    /// let raw = ConsumerRecord::new("shardId-000000000000".parse()?, "42".parse()?, "k", b"7".to_vec());
    /// let number: ConsumerRecord<u32> = raw.map_data(|bytes| String::from_utf8(bytes).unwrap().parse().unwrap());
    /// assert_eq!(*number.data(), 7);
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn map_data<U>(self, f: impl FnOnce(T) -> U) -> ConsumerRecord<U> {
        let data = f(self.data);
        ConsumerRecord {
            shard_id: self.shard_id,
            sequence_number: self.sequence_number,
            sub_sequence_number: self.sub_sequence_number,
            partition_key: self.partition_key,
            explicit_hash_key: self.explicit_hash_key,
            approximate_arrival_timestamp: self.approximate_arrival_timestamp,
            data,
        }
    }

    /// The same record with another payload.
    pub(crate) fn with_data<U>(self, data: U) -> ConsumerRecord<U> {
        self.map_data(|_| data)
    }
}
