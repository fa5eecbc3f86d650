//! The `SubscribeToShard` event stream as a Rust [`Stream`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_kinesis::types::SubscribeToShardEventStream;
use aws_sdk_kinesis::types::error::SubscribeToShardEventStreamError;
use futures_core::Stream;

use crate::error::Error;
use crate::types::record::Record;
use crate::types::shard::{ChildShard, SequenceNumber, ShardId};

/// One event of an enhanced fan-out subscription.
#[derive(Clone, Debug)]
pub struct SubscribeToShardEvent {
    records: Vec<Record>,
    continuation_sequence_number: Option<SequenceNumber>,
    millis_behind_latest: i64,
    child_shards: Vec<ChildShard>,
}

impl SubscribeToShardEvent {
    /// The records of the event, oldest first (possibly none).
    pub fn records(&self) -> &[Record] {
        &self.records
    }
    /// Takes the records out.
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }
    /// Where a new subscription continues after this event; `None` at shard end.
    pub fn continuation_sequence_number(&self) -> Option<&SequenceNumber> {
        self.continuation_sequence_number.as_ref()
    }
    /// How far behind the tip of the shard the event is, in milliseconds.
    pub fn millis_behind_latest(&self) -> i64 {
        self.millis_behind_latest
    }
    /// The children of the shard once it is closed. Treat a non-empty list as shard end after
    /// handling this event's records.
    pub fn child_shards(&self) -> &[ChildShard] {
        &self.child_shards
    }
    /// Whether this event reports the end of the shard.
    pub fn is_shard_end(&self) -> bool {
        !self.child_shards.is_empty() || self.continuation_sequence_number.is_none()
    }

    fn from_sdk(e: aws_sdk_kinesis::types::SubscribeToShardEvent) -> Result<Self, Error> {
        let child_shards = e
            .child_shards()
            .iter()
            .map(ChildShard::from_sdk)
            .collect::<Result<_, _>>()?;
        let continuation = e.continuation_sequence_number();
        let continuation_sequence_number = if continuation.is_empty() {
            None
        } else {
            Some(SequenceNumber::from_service(continuation)?)
        };
        Ok(Self {
            millis_behind_latest: e.millis_behind_latest(),
            continuation_sequence_number,
            child_shards,
            records: e
                .records
                .into_iter()
                .map(Record::from_sdk)
                .collect::<Result<_, _>>()?,
        })
    }
}

type Receiver = aws_sdk_kinesis::primitives::event_stream::EventReceiver<
    SubscribeToShardEventStream,
    SubscribeToShardEventStreamError,
>;

type Next = Pin<
    Box<
        dyn std::future::Future<Output = (Option<Result<SubscribeToShardEvent, Error>>, Receiver)>
            + Send,
    >,
>;

/// The events of one `SubscribeToShard` subscription.
///
/// The stream ends when the service closes the subscription (after 5 minutes on AWS, or at shard
/// end); resubscribe from the last event's continuation sequence number. An error in the event
/// stream (for example `ResourceInUseException` or a dropped connection) is yielded once, then the
/// stream ends.
///
/// # Cancel safety
///
/// Dropping a pending `next()` loses nothing already received: the receive in flight is kept and
/// resumed by the next poll.
pub struct SubscribeToShardStream {
    shard: ShardId,
    receiver: Option<Receiver>,
    next: Option<Next>,
    done: bool,
}

impl fmt::Debug for SubscribeToShardStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscribeToShardStream")
            .field("shard", &self.shard)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl SubscribeToShardStream {
    pub(crate) fn new(shard: ShardId, receiver: Receiver) -> Self {
        Self {
            shard,
            receiver: Some(receiver),
            next: None,
            done: false,
        }
    }

    /// The shard subscribed to.
    pub fn shard_id(&self) -> &ShardId {
        &self.shard
    }

    async fn receive(
        mut receiver: Receiver,
    ) -> (Option<Result<SubscribeToShardEvent, Error>>, Receiver) {
        let item = loop {
            match receiver.recv().await {
                Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(e))) => {
                    break Some(SubscribeToShardEvent::from_sdk(e));
                }
                // Event kinds added to the API later are skipped.
                Ok(Some(_)) => continue,
                Ok(None) => break None,
                Err(e) => break Some(Err(event_stream_error(e))),
            }
        };
        (item, receiver)
    }
}

/// Classifies an error of the event stream.
///
/// An exception sent inside the stream (an `exception` message: `ResourceInUseException` for a
/// second subscription to the shard, `InternalFailureException`, ...) has its type in the
/// `:exception-type` header, which the SDK turns into the error's variant but not into its
/// error code (that is read from the payload, which carries only a message). The code is named
/// after the variant here, so the exception is classified as it would be in an HTTP response:
/// `ResourceInUse`, a retryable internal failure, and so on.
fn event_stream_error(
    err: aws_sdk_kinesis::error::SdkError<
        SubscribeToShardEventStreamError,
        aws_smithy_types::event_stream::RawMessage,
    >,
) -> Error {
    use SubscribeToShardEventStreamError as E;
    use aws_sdk_kinesis::error::ProvideErrorMetadata as _;
    let named = match &err {
        aws_sdk_kinesis::error::SdkError::ServiceError(s) if s.err().code().is_none() => {
            let code = match s.err() {
                E::ResourceNotFoundException(_) => Some("ResourceNotFoundException"),
                E::ResourceInUseException(_) => Some("ResourceInUseException"),
                E::InternalFailureException(_) => Some("InternalFailureException"),
                E::KmsDisabledException(_) => Some("KMSDisabledException"),
                E::KmsInvalidStateException(_) => Some("KMSInvalidStateException"),
                E::KmsAccessDeniedException(_) => Some("KMSAccessDeniedException"),
                E::KmsNotFoundException(_) => Some("KMSNotFoundException"),
                E::KmsOptInRequired(_) => Some("KMSOptInRequired"),
                E::KmsThrottlingException(_) => Some("KMSThrottlingException"),
                _ => None,
            };
            code.map(|code| (code, s.err().message().unwrap_or_default().to_owned()))
        }
        _ => None,
    };
    match named {
        Some((code, message)) => Error::from_code(code, &message, None)
            .with_operation("SubscribeToShard")
            .with_source(Box::new(err)),
        None => Error::from_sdk("SubscribeToShard", err),
    }
}

impl Stream for SubscribeToShardStream {
    type Item = Result<SubscribeToShardEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.next.is_none() {
            let receiver = self
                .receiver
                .take()
                .expect("receiver is present between events");
            self.next = Some(Box::pin(Self::receive(receiver)));
        }
        let next = self.next.as_mut().expect("set above");
        let (item, receiver) = std::task::ready!(next.as_mut().poll(cx));
        self.next = None;
        self.receiver = Some(receiver);
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        Poll::Ready(item)
    }
}
