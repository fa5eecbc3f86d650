//! [`ProduceError`]: why a record was not stored, with the record handed back.

use std::error::Error as StdError;
use std::fmt;

use bytes::Bytes;

/// What kind of failure a [`ProduceError`] is.
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProduceErrorKind {
    /// Refused before sending: an oversized record, an empty or over-long partition key, a
    /// malformed explicit hash key, or a value the serializer refused.
    InvalidRecord,
    /// Kinesis refused the record with an error code that is not worth retrying
    /// ([`code`](ProduceError::code) says which).
    Refused,
    /// Retryable failures (throttling, transient errors) went on until the record's time to
    /// live or attempt limit ran out.
    RetriesExhausted,
    /// The whole `PutRecords` call failed for good (a missing stream, access denied, ...).
    Kinesis,
    /// The producer was shut down, or dropped, before the record could be stored.
    Closed,
    /// The record may or may not have been stored: an attempt got no answer (it timed out,
    /// or the connection broke while it was in flight), or an attempt stored it inside a KPL
    /// aggregate that KCL consumers skip (one holding records of another shard, after a
    /// reshard), and the record then failed for another reason or ran out of attempts. It is
    /// never reported as not stored; the message keeps the cause.
    OutcomeUnknown,
    /// The producer could not be built (a missing stream, bad settings).
    Setup,
}

/// Why a record was not stored. Carries the record as it would have been sent (payload and
/// partition key), so nothing is lost silently: [`into_record`](Self::into_record).
pub struct ProduceError {
    inner: Box<Inner>,
}

struct Inner {
    kind: ProduceErrorKind,
    message: String,
    code: Option<String>,
    attempts: u32,
    record: Option<(Bytes, String)>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl ProduceError {
    /// The same failure, for a record that an earlier attempt may have stored.
    /// `cause` says why an earlier attempt may have stored the record, as a clause.
    pub(crate) fn outcome_unknown(mut self, cause: &str) -> Self {
        self.inner.message = format!("outcome unknown: {cause}; then {}", self.inner.message);
        self.inner.kind = ProduceErrorKind::OutcomeUnknown;
        self
    }

    pub(crate) fn new(kind: ProduceErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                code: None,
                attempts: 0,
                record: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_code(mut self, code: impl Into<String>) -> Self {
        self.inner.code = Some(code.into());
        self
    }

    pub(crate) fn with_record(mut self, data: Bytes, partition_key: String, attempts: u32) -> Self {
        self.inner.record = Some((data, partition_key));
        self.inner.attempts = attempts;
        self
    }

    /// The kind of failure.
    ///
    /// ```
    /// # fn check(e: kinesis_producer::ProduceError) {
    /// use kinesis_producer::ProduceErrorKind;
    /// if e.kind() == ProduceErrorKind::RetriesExhausted {
    ///     // park the record and try again later
    /// }
    /// # }
    /// ```
    pub fn kind(&self) -> ProduceErrorKind {
        self.inner.kind
    }

    /// The service's error code for the record, when Kinesis refused it
    /// (e.g. `ProvisionedThroughputExceededException`, `KMSAccessDeniedException`).
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// How many `PutRecords` attempts were made for the record.
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// The record as it would have been sent: the serialized payload and the partition key.
    /// `None` for errors about no record in particular (a failed setup).
    pub fn record(&self) -> Option<(&Bytes, &str)> {
        self.inner.record.as_ref().map(|(d, k)| (d, k.as_str()))
    }

    /// Consumes the error into the record, to send again or park elsewhere.
    pub fn into_record(self) -> Option<(Bytes, String)> {
        self.inner.record
    }

    /// Whether trying the same record again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.inner.kind,
            ProduceErrorKind::RetriesExhausted | ProduceErrorKind::Closed
        )
    }
}

impl fmt::Debug for ProduceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProduceError")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("code", &self.inner.code)
            .field("attempts", &self.inner.attempts)
            .field(
                "record",
                &self
                    .inner
                    .record
                    .as_ref()
                    .map(|(d, k)| (d.len(), k.as_str())),
            )
            .field("source", &self.inner.source)
            .finish()
    }
}

impl fmt::Display for ProduceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(code) = &self.inner.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

impl StdError for ProduceError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}
