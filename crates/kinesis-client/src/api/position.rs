//! Where to start reading a shard.

use std::time::SystemTime;

use aws_smithy_types::DateTime;

use crate::error::Error;
use crate::types::shard::{SequenceNumber, ShardId};
use crate::types::stream::StreamId;

/// Where a shard iterator (polling) or a subscription (enhanced fan-out) starts.
///
/// ```
/// use kinesis_client::StartingPosition;
///
/// let from_start = StartingPosition::TrimHorizon;
/// let after = StartingPosition::AfterSequenceNumber("4959".parse()?);
/// # let _ = (from_start, after);
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record still retained.
    TrimHorizon,
    /// Just after the newest record: only records written from now on.
    Latest,
    /// At the record with this sequence number.
    AtSequenceNumber(SequenceNumber),
    /// Just after the record with this sequence number.
    AfterSequenceNumber(SequenceNumber),
    /// At the first record that arrived at or after this time.
    AtTimestamp(SystemTime),
}

impl StartingPosition {
    fn timestamp(t: SystemTime) -> DateTime {
        DateTime::from(t)
    }

    pub(crate) fn iterator_type(&self) -> aws_sdk_kinesis::types::ShardIteratorType {
        use aws_sdk_kinesis::types::ShardIteratorType as T;
        match self {
            StartingPosition::TrimHorizon => T::TrimHorizon,
            StartingPosition::Latest => T::Latest,
            StartingPosition::AtSequenceNumber(_) => T::AtSequenceNumber,
            StartingPosition::AfterSequenceNumber(_) => T::AfterSequenceNumber,
            StartingPosition::AtTimestamp(_) => T::AtTimestamp,
        }
    }

    pub(crate) fn sequence_number(&self) -> Option<String> {
        match self {
            StartingPosition::AtSequenceNumber(s) | StartingPosition::AfterSequenceNumber(s) => {
                Some(s.as_str().to_owned())
            }
            _ => None,
        }
    }

    pub(crate) fn sdk_timestamp(&self) -> Option<DateTime> {
        match self {
            StartingPosition::AtTimestamp(t) => Some(Self::timestamp(*t)),
            _ => None,
        }
    }

    pub(crate) fn to_sdk(&self) -> aws_sdk_kinesis::types::StartingPosition {
        aws_sdk_kinesis::types::StartingPosition::builder()
            .r#type(self.iterator_type())
            .set_sequence_number(self.sequence_number())
            .set_timestamp(self.sdk_timestamp())
            .build()
            .expect("type is always set")
    }
}

/// A shard iterator: an opaque cursor into one shard, valid for 5 minutes.
///
/// It remembers the stream and shard it belongs to, so `GetRecords` calls are rate-limited per
/// shard and traced with the shard id.
#[derive(Clone, PartialEq, Eq)]
pub struct ShardIterator {
    value: String,
    stream: StreamId,
    shard: ShardId,
}

impl ShardIterator {
    /// Wraps an iterator value obtained for `shard` of `stream`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the value is empty or
    /// longer than 512 characters.
    pub fn new(value: impl Into<String>, stream: StreamId, shard: ShardId) -> Result<Self, Error> {
        let value = value.into();
        if value.is_empty() || value.len() > 512 {
            return Err(Error::invalid_input(
                "a shard iterator has 1 to 512 characters",
            ));
        }
        Ok(Self {
            value,
            stream,
            shard,
        })
    }

    /// The opaque value.
    pub fn as_str(&self) -> &str {
        &self.value
    }
    /// The stream of the iterator.
    pub fn stream(&self) -> &StreamId {
        &self.stream
    }
    /// The shard of the iterator.
    pub fn shard(&self) -> &ShardId {
        &self.shard
    }

    pub(crate) fn next(&self, value: String) -> Self {
        Self {
            value,
            stream: self.stream.clone(),
            shard: self.shard.clone(),
        }
    }
}

impl std::fmt::Debug for ShardIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardIterator")
            .field("stream", &self.stream)
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}
