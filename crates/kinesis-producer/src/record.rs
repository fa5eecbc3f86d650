//! [`ProducerRecord`], what the caller produces, and [`ProduceResult`], where it was stored.

use kinesis_client::{SequenceNumber, ShardId};

/// A record to produce: a partition key, a value (serialized by the producer's serializer) and,
/// optionally, an explicit hash key that routes it instead of the partition key's MD5.
///
/// Nothing is checked here; [`Producer::produce`](crate::Producer::produce) refuses a bad
/// record with a typed error before anything is sent.
///
/// ```
/// use kinesis_producer::ProducerRecord;
///
/// let record = ProducerRecord::new("customer-42", "order placed".to_owned())
///     .with_explicit_hash_key("170141183460469231731687303715884105728");
/// assert_eq!(record.partition_key(), "customer-42");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerRecord<T> {
    pub(crate) partition_key: String,
    pub(crate) explicit_hash_key: Option<String>,
    pub(crate) value: T,
}

impl<T> ProducerRecord<T> {
    /// A record with a partition key (1 to 256 characters) and a value.
    pub fn new(partition_key: impl Into<String>, value: T) -> Self {
        Self {
            partition_key: partition_key.into(),
            explicit_hash_key: None,
            value,
        }
    }

    /// Routes the record by this hash key (a decimal integer below 2^128) instead of the MD5
    /// of its partition key.
    #[must_use]
    pub fn with_explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(key.into());
        self
    }

    /// The partition key.
    pub fn partition_key(&self) -> &str {
        &self.partition_key
    }

    /// The explicit hash key, if set.
    pub fn explicit_hash_key(&self) -> Option<&str> {
        self.explicit_hash_key.as_deref()
    }

    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }
}

/// Where a produced record was stored.
///
/// ```no_run
/// # async fn run(producer: kinesis_producer::Producer<String>) -> Result<(), kinesis_producer::ProduceError> {
/// use kinesis_producer::ProducerRecord;
///
/// let stored = producer.produce(ProducerRecord::new("k", "v".to_owned())).await?;
/// println!("{} {} after {} attempts", stored.shard_id(), stored.sequence_number(), stored.attempts());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceResult {
    pub(crate) shard_id: ShardId,
    pub(crate) sequence_number: SequenceNumber,
    pub(crate) sub_sequence_number: Option<u64>,
    pub(crate) attempts: u32,
}

impl ProduceResult {
    /// The shard that stored it.
    pub fn shard_id(&self) -> &ShardId {
        &self.shard_id
    }

    /// The sequence number of the Kinesis record that carried it (shared by the user records of
    /// one aggregate).
    pub fn sequence_number(&self) -> &SequenceNumber {
        &self.sequence_number
    }

    /// Its index inside the KPL aggregate that carried it; `None` when sent alone.
    pub fn sub_sequence_number(&self) -> Option<u64> {
        self.sub_sequence_number
    }

    /// How many `PutRecords` attempts it took (1 when the first one stored it).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}
