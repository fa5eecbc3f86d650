//! What the control plane returns: listed streams, limits, stream consumers.

use std::time::SystemTime;

use crate::api::data::StreamStatus;
use crate::api::paginate::paginated_stream;
use crate::error::Error;
use crate::types::stream::{ConsumerArn, StreamArn, StreamName, is_name_char};

/// A stream in `ListStreams`.
#[derive(Clone, Debug)]
pub struct ListedStream {
    /// The stream's name.
    pub name: StreamName,
    /// The stream's ARN, when the service lists it.
    pub arn: Option<StreamArn>,
    /// The stream's status, when the service lists it.
    pub status: Option<StreamStatus>,
    /// Whether the stream is on-demand, when the service lists it.
    pub on_demand: Option<bool>,
    /// When the stream was created, when the service lists it.
    pub created: Option<SystemTime>,
}

/// The account's shard and stream limits (`DescribeLimits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most provisioned shards the account may have.
    pub shard_limit: u32,
    /// The provisioned shards open now.
    pub open_shard_count: u32,
    /// The on-demand streams now.
    pub on_demand_stream_count: u32,
    /// The most on-demand streams the account may have.
    pub on_demand_stream_count_limit: u32,
}

/// Whether an enhanced fan-out consumer is usable.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerStatus {
    /// Being registered.
    Creating,
    /// Usable.
    Active,
    /// Being deregistered.
    Deleting,
    /// A status this client does not know.
    Other(String),
}

impl ConsumerStatus {
    /// The status as Kinesis writes it: `CREATING`, `ACTIVE`, `DELETING`.
    ///
    /// ```
    /// assert_eq!(kinesis_client::ConsumerStatus::Active.as_str(), "ACTIVE");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::Creating => "CREATING",
            Self::Active => "ACTIVE",
            Self::Deleting => "DELETING",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for ConsumerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An enhanced fan-out consumer registered on a stream.
#[derive(Clone, Debug)]
pub struct StreamConsumer {
    /// The consumer's name.
    pub name: String,
    /// The consumer's ARN, used to subscribe.
    pub arn: ConsumerArn,
    /// The consumer's status.
    pub status: ConsumerStatus,
    /// The stream the consumer reads.
    pub stream_arn: Option<StreamArn>,
    /// When the consumer was registered.
    pub created: Option<SystemTime>,
}

impl StreamConsumer {
    pub(super) fn new(
        name: &str,
        arn: &str,
        status: &aws_sdk_kinesis::types::ConsumerStatus,
        stream_arn: Option<StreamArn>,
        created: Option<aws_smithy_types::DateTime>,
    ) -> Result<Self, Error> {
        use aws_sdk_kinesis::types::ConsumerStatus as S;
        Ok(Self {
            name: name.to_owned(),
            arn: ConsumerArn::new(arn)
                .map_err(|e| Error::malformed_response(e.message().to_owned()))?,
            status: match status {
                S::Creating => ConsumerStatus::Creating,
                S::Active => ConsumerStatus::Active,
                S::Deleting => ConsumerStatus::Deleting,
                other => ConsumerStatus::Other(other.as_str().to_owned()),
            },
            stream_arn,
            created: created.and_then(|t| SystemTime::try_from(t).ok()),
        })
    }
}

paginated_stream!(
    /// The streams of the account, from `ListStreams`, one at a time across pages.
    ListStreamsStream,
    ListedStream
);

paginated_stream!(
    /// The enhanced fan-out consumers of a stream, from `ListStreamConsumers`.
    ListStreamConsumersStream,
    StreamConsumer
);

pub(super) fn check_consumer_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 128 || !name.chars().all(is_name_char) {
        return Err(Error::invalid_input(format!(
            "invalid consumer name {name:?}: expected 1 to 128 characters of a-z A-Z 0-9 _ . -"
        )));
    }
    Ok(())
}
