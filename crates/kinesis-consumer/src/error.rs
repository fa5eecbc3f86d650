//! [`ConsumerError`]: why a shard stream or the consumer failed.

use std::error::Error as StdError;
use std::fmt;

use bytes::Bytes;
use kinesis_client::ShardId;
use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;
use kinesis_lease::LeaseError;

use crate::record::ConsumerRecord;

/// What kind of failure a [`ConsumerError`] is.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConsumerErrorKind {
    /// A Kinesis call failed for good (the stream is missing, access denied, ...).
    Kinesis,
    /// The lease table could not be used.
    Lease,
    /// A record's payload could not be deserialized. The shard stream goes on after it; the
    /// record is not delivered.
    Deserialize,
    /// The consumer was misused or misconfigured (for instance [`shards`] called twice).
    ///
    /// [`shards`]: crate::Consumer::shards
    Usage,
    /// The record handler of [`consume_with`](crate::Consumer::consume_with) failed.
    Handler,
    /// The services did not answer in time (a consumer's
    /// [`build_timeout`](crate::ConsumerBuilder::build_timeout)).
    Timeout,
}

/// Why a shard stream or the consumer failed.
///
/// The underlying error is kept as the [`source`](StdError::source).
pub struct ConsumerError {
    kind: ConsumerErrorKind,
    shard_id: Option<ShardId>,
    position: Option<ExtendedSequenceNumber>,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    /// The record that could not be deserialized, as it was read.
    raw: Option<Box<ConsumerRecord<Bytes>>>,
}

impl ConsumerError {
    pub(crate) fn new(kind: ConsumerErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            shard_id: None,
            position: None,
            message: message.into(),
            source: None,
            raw: None,
        }
    }

    pub(crate) fn with_raw_record(mut self, raw: ConsumerRecord<Bytes>) -> Self {
        self.raw = Some(Box::new(raw));
        self
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_boxed_source(mut self, source: Box<dyn StdError + Send + Sync>) -> Self {
        self.source = Some(source);
        self
    }

    pub(crate) fn for_shard(mut self, shard_id: &ShardId) -> Self {
        self.shard_id = Some(shard_id.clone());
        self
    }

    pub(crate) fn at(mut self, position: ExtendedSequenceNumber) -> Self {
        self.position = Some(position);
        self
    }

    pub(crate) fn kinesis(e: kinesis_client::Error) -> Self {
        Self::kinesis_while("a Kinesis call failed", e)
    }

    /// `what` failed because of `e`: "cannot read stream orders: DescribeStreamSummary: ...".
    pub(crate) fn kinesis_while(what: impl fmt::Display, e: kinesis_client::Error) -> Self {
        Self::new(ConsumerErrorKind::Kinesis, format!("{what}: {e}")).with_source(e)
    }

    /// `what` failed because of `e`.
    pub(crate) fn lease_while(what: impl fmt::Display, e: LeaseError) -> Self {
        Self::new(ConsumerErrorKind::Lease, format!("{what}: {e}")).with_source(e)
    }

    /// The kind of failure.
    ///
    /// ```
    /// # fn check(e: kinesis_consumer::ConsumerError) {
    /// use kinesis_consumer::ConsumerErrorKind;
    /// if e.kind() == ConsumerErrorKind::Deserialize {
    ///     // a poison record: log it and go on
    /// }
    /// # }
    /// ```
    pub fn kind(&self) -> ConsumerErrorKind {
        self.kind
    }

    /// The shard the error happened on, if any.
    pub fn shard_id(&self) -> Option<&ShardId> {
        self.shard_id.as_ref()
    }

    /// The position of the record the error is about (a record that could not be
    /// deserialized): stage it to move the checkpoint past a poison record.
    ///
    /// ```
    /// # fn check(e: kinesis_consumer::ConsumerError, checkpointer: &kinesis_lease::Checkpointer) {
    /// if let Some(position) = e.record_position() {
    ///     checkpointer.stage(position.clone());
    /// }
    /// # }
    /// ```
    pub fn record_position(&self) -> Option<&ExtendedSequenceNumber> {
        self.position.as_ref()
    }

    /// The record that could not be deserialized, with its payload's bytes as they were read
    /// (a [`ConsumerErrorKind::Deserialize`] error): for a dead-letter store, or to handle it
    /// another way.
    ///
    /// ```
    /// # fn check(e: &kinesis_consumer::ConsumerError) {
    /// if let Some(raw) = e.raw_record() {
    ///     eprintln!("poison record {} of shard {}: {} bytes", raw.position(), raw.shard_id(), raw.data().len());
    /// }
    /// # }
    /// ```
    pub fn raw_record(&self) -> Option<&ConsumerRecord<Bytes>> {
        self.raw.as_deref()
    }

    /// Whether this worker lost the shard's lease (another worker has it now): nothing to
    /// retry here.
    pub fn is_lease_lost(&self) -> bool {
        self.source
            .as_deref()
            .and_then(|s| s.downcast_ref::<LeaseError>())
            .is_some_and(LeaseError::is_lease_lost)
    }

    /// Whether trying again may succeed: a throttled or transient Kinesis or DynamoDB failure.
    pub fn is_retryable(&self) -> bool {
        self.kinesis_error()
            .is_some_and(kinesis_client::Error::is_retryable)
            || self
                .source
                .as_deref()
                .and_then(|s| s.downcast_ref::<LeaseError>())
                .is_some_and(LeaseError::is_retryable)
    }

    /// The underlying Kinesis error, if this is one.
    pub fn kinesis_error(&self) -> Option<&kinesis_client::Error> {
        self.source.as_deref()?.downcast_ref()
    }
}

/// A Kinesis error: [`ConsumerErrorKind::Usage`] for input refused before anything was sent
/// (an invalid stream name, say), [`ConsumerErrorKind::Kinesis`] otherwise.
impl From<kinesis_client::Error> for ConsumerError {
    fn from(e: kinesis_client::Error) -> Self {
        if e.is_invalid_input() {
            Self::new(ConsumerErrorKind::Usage, format!("invalid input: {e}")).with_source(e)
        } else {
            Self::kinesis(e)
        }
    }
}

impl fmt::Debug for ConsumerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerError")
            .field("kind", &self.kind)
            .field("shard_id", &self.shard_id)
            .field("position", &self.position)
            .field("message", &self.message)
            .field("source", &self.source)
            .field("raw_record", &self.raw.as_ref().map(|r| r.data().len()))
            .finish()
    }
}

impl fmt::Display for ConsumerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shard_id {
            Some(shard) => match &self.position {
                Some(position) => write!(f, "{} (shard {shard}, record {position})", self.message),
                None => write!(f, "{} (shard {shard})", self.message),
            },
            None => f.write_str(&self.message),
        }
    }
}

impl StdError for ConsumerError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}
