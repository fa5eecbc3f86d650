//! Records written to and read from a stream.

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;

use crate::error::Error;
use crate::types::shard::{HashKey, SequenceNumber, ShardId};

/// A partition key: 1 to 256 Unicode characters.
///
/// ```
/// use kinesis_client::PartitionKey;
///
/// let key = PartitionKey::new("customer-42")?;
/// assert_eq!(key.as_str(), "customer-42");
/// assert!(PartitionKey::new("").is_err());
/// assert!(PartitionKey::new("é".repeat(257)).is_err());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey(String);

impl PartitionKey {
    /// The most characters a partition key may have.
    pub const MAX_CHARS: usize = 256;

    /// Validates and wraps a partition key.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the key is empty or has
    /// more than 256 characters.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        let chars = key.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(Error::invalid_input(format!(
                "partition key must have 1 to 256 characters, got {chars}"
            )));
        }
        Ok(Self(key))
    }

    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's length in bytes, which counts toward the record size limit.
    pub fn byte_len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl TryFrom<&str> for PartitionKey {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for PartitionKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::new(s)
    }
}

/// A record to write with `PutRecord` or `PutRecords`.
///
/// The payload is [`Bytes`], so cloning an entry (for a retry, say) does not copy it.
///
/// ```
/// use kinesis_client::{HashKey, PartitionKey, PutRecordsEntry};
///
/// let entry = PutRecordsEntry::new("hello", PartitionKey::new("k")?)
///     .with_explicit_hash_key(HashKey(0));
/// assert_eq!(entry.size(), 6); // payload + partition key bytes
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PutRecordsEntry {
    data: Bytes,
    partition_key: PartitionKey,
    explicit_hash_key: Option<HashKey>,
}

impl PutRecordsEntry {
    /// A record with a payload and a partition key.
    pub fn new(data: impl Into<Bytes>, partition_key: PartitionKey) -> Self {
        Self {
            data: data.into(),
            partition_key,
            explicit_hash_key: None,
        }
    }

    /// Routes the record by this hash key instead of the MD5 of its partition key.
    #[must_use]
    pub fn with_explicit_hash_key(mut self, key: HashKey) -> Self {
        self.explicit_hash_key = Some(key);
        self
    }

    /// The payload.
    pub fn data(&self) -> &Bytes {
        &self.data
    }
    /// The partition key.
    pub fn partition_key(&self) -> &PartitionKey {
        &self.partition_key
    }
    /// The explicit hash key, if one was set.
    pub fn explicit_hash_key(&self) -> Option<HashKey> {
        self.explicit_hash_key
    }
    /// The size Kinesis counts against its limits: payload plus partition key, in bytes.
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.byte_len()
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn to_sdk(&self) -> aws_sdk_kinesis::types::PutRecordsRequestEntry {
        aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
            .data(aws_smithy_types::Blob::new(self.data.to_vec()))
            .partition_key(self.partition_key.as_str())
            .set_explicit_hash_key(self.explicit_hash_key.map(|k| k.to_string()))
            .build()
            .expect("data and partition key are always set")
    }
}

impl fmt::Debug for PutRecordsEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The payload may be sensitive and large: show its size only.
        f.debug_struct("PutRecordsEntry")
            .field("data_len", &self.data.len())
            .field("partition_key", &self.partition_key)
            .field("explicit_hash_key", &self.explicit_hash_key)
            .finish()
    }
}

/// Where Kinesis stored a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordPosition {
    /// The shard that took the record.
    pub shard_id: ShardId,
    /// The record's sequence number in that shard.
    pub sequence_number: SequenceNumber,
}

/// The outcome of one entry of a `PutRecords` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutRecordsResultEntry {
    /// Kinesis stored the record.
    Stored(RecordPosition),
    /// Kinesis refused the record; the entry is handed back with the reason.
    Failed {
        /// The entry as it was sent.
        entry: PutRecordsEntry,
        /// The service's error code, e.g. `ProvisionedThroughputExceededException`.
        error_code: String,
        /// The service's message.
        error_message: String,
    },
}

/// The result of a `PutRecords` call: one outcome per entry, in the order the entries were given.
///
/// ```
/// # async fn run(client: kinesis_client::Client, stream: kinesis_client::StreamId,
/// #              entries: Vec<kinesis_client::PutRecordsEntry>) -> Result<(), kinesis_client::Error> {
/// match client.put_records(&stream, entries).await {
///     Ok(output) => println!("stored {}", output.entries().len()),
///     Err(e) if e.is_partial_failure() => {
///         let failed = e.put_records_output().unwrap().failed().count();
///         eprintln!("{failed} records were refused");
///     }
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutRecordsOutput {
    entries: Vec<PutRecordsResultEntry>,
}

impl PutRecordsOutput {
    #[cfg(feature = "sdk")]
    pub(crate) fn new(entries: Vec<PutRecordsResultEntry>) -> Self {
        Self { entries }
    }
    /// Every entry's outcome, in request order.
    pub fn entries(&self) -> &[PutRecordsResultEntry] {
        &self.entries
    }
    /// Consumes the output into its entries.
    pub fn into_entries(self) -> Vec<PutRecordsResultEntry> {
        self.entries
    }
    /// The entries Kinesis refused, with their error code and message.
    pub fn failed(&self) -> impl Iterator<Item = (&PutRecordsEntry, &str, &str)> {
        self.entries.iter().filter_map(|e| match e {
            PutRecordsResultEntry::Failed {
                entry,
                error_code,
                error_message,
            } => Some((entry, error_code.as_str(), error_message.as_str())),
            PutRecordsResultEntry::Stored(_) => None,
        })
    }
    /// How many entries were refused.
    pub fn failed_count(&self) -> usize {
        self.failed().count()
    }
}

/// A record read from a shard.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) data: Bytes,
    pub(crate) partition_key: String,
    pub(crate) sequence_number: SequenceNumber,
    pub(crate) approximate_arrival_timestamp: Option<SystemTime>,
    pub(crate) encrypted: bool,
}

impl Record {
    /// A record as Kinesis would return it: for tests, and for records that arrived some other
    /// way than `GetRecords` or `SubscribeToShard` (an event handed to a function, a replay).
    ///
    /// ```
    /// use kinesis_client::Record;
    ///
    /// let record = Record::new("payload", "user-1", "49590".parse()?);
    /// assert_eq!(record.partition_key(), "user-1");
    /// assert_eq!(&record.data()[..], b"payload");
    /// assert_eq!(record.approximate_arrival_timestamp(), None);
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn new(
        data: impl Into<Bytes>,
        partition_key: impl Into<String>,
        sequence_number: SequenceNumber,
    ) -> Self {
        Self {
            data: data.into(),
            partition_key: partition_key.into(),
            sequence_number,
            approximate_arrival_timestamp: None,
            encrypted: false,
        }
    }

    /// Sets the approximate arrival time.
    #[must_use]
    pub fn with_approximate_arrival_timestamp(mut self, at: SystemTime) -> Self {
        self.approximate_arrival_timestamp = Some(at);
        self
    }

    /// The payload.
    pub fn data(&self) -> &Bytes {
        &self.data
    }
    /// The partition key the record was written with.
    pub fn partition_key(&self) -> &str {
        &self.partition_key
    }
    /// The record's sequence number within its shard.
    pub fn sequence_number(&self) -> &SequenceNumber {
        &self.sequence_number
    }
    /// When Kinesis accepted the record, to the precision the service gives.
    pub fn approximate_arrival_timestamp(&self) -> Option<SystemTime> {
        self.approximate_arrival_timestamp
    }
    /// Whether the record was encrypted at rest with KMS.
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }
    /// Consumes the record into its payload.
    pub fn into_data(self) -> Bytes {
        self.data
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn from_sdk(r: aws_sdk_kinesis::types::Record) -> Result<Self, Error> {
        let sequence_number = SequenceNumber::from_service(r.sequence_number())?;
        let approximate_arrival_timestamp = r
            .approximate_arrival_timestamp()
            .and_then(|t| SystemTime::try_from(*t).ok());
        let encrypted = matches!(
            r.encryption_type(),
            Some(aws_sdk_kinesis::types::EncryptionType::Kms)
        );
        Ok(Self {
            partition_key: r.partition_key.unwrap_or_default(),
            data: Bytes::from(r.data.into_inner()),
            sequence_number,
            approximate_arrival_timestamp,
            encrypted,
        })
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("data_len", &self.data.len())
            .field("partition_key", &self.partition_key)
            .field("sequence_number", &self.sequence_number)
            .field(
                "approximate_arrival_timestamp",
                &self.approximate_arrival_timestamp,
            )
            .finish()
    }
}
