//! The Kinesis control plane: streams, shards, retention, tags, consumers, limits.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::SystemTime;

use aws_sdk_kinesis::Client as Sdk;

use crate::Client;
use crate::api::data::{StreamMode, StreamStatus, StreamSummary};
use crate::api::paginate::paginated_stream;
use crate::config::{ClientConfig, WaitConfig};
use crate::error::{Error, ErrorKind};
use crate::operation::{BoxFuture, Operation};
use crate::stack::Stack;
use crate::types::shard::{HashKey, ShardId};
use crate::types::stream::{ConsumerArn, StreamArn, StreamId, StreamName, is_name_char};

/// Defines an operation: a struct with the given fields, its `Operation` impl, and how it is sent.
macro_rules! operation {
    (
        $(#[$doc:meta])*
        $name:ident { $($field:ident : $ty:ty),* $(,)? } -> $out:ty,
        stream: |$s_self:ident| $stream:expr,
        send: |$self_:ident, $sdk:ident| $send:expr
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub(crate) struct $name { $(pub(crate) $field: $ty),* }

        impl Operation for $name {
            type Client = Sdk;
            type Output = $out;
            const NAME: &'static str = stringify!($name);

            fn stream(&self) -> Option<&StreamId> {
                let $s_self = self;
                $stream
            }

            fn invoke(&self, sdk: &Sdk) -> BoxFuture<Result<$out, Error>> {
                let $self_ = self;
                let $sdk = sdk;
                let fut = $send;
                Box::pin(fut)
            }
        }
    };
}

fn sdk_err<E, R>(
    op: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> Error
where
    E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: crate::error::RawResponse + std::fmt::Debug + Send + Sync + 'static,
{
    move |e| Error::from_sdk(op, e)
}

operation! {
    /// `CreateStream`.
    CreateStream { stream: StreamId, mode: StreamMode } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let b = sdk.create_stream().stream_name(op.stream.name().as_str());
        let b = match op.mode {
            StreamMode::Provisioned { shard_count } => b.shard_count(shard_count as i32).stream_mode_details(
                aws_sdk_kinesis::types::StreamModeDetails::builder()
                    .stream_mode(aws_sdk_kinesis::types::StreamMode::Provisioned)
                    .build()
                    .expect("mode is set"),
            ),
            StreamMode::OnDemand => b.stream_mode_details(
                aws_sdk_kinesis::types::StreamModeDetails::builder()
                    .stream_mode(aws_sdk_kinesis::types::StreamMode::OnDemand)
                    .build()
                    .expect("mode is set"),
            ),
        };
        let call = b.send();
        async move { call.await.map(|_| ()).map_err(sdk_err("CreateStream")) }
    }
}

operation! {
    /// `DeleteStream`.
    DeleteStream { stream: StreamId, enforce_consumer_deletion: bool } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.delete_stream().set_stream_name(name).set_stream_arn(arn)
            .enforce_consumer_deletion(op.enforce_consumer_deletion).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("DeleteStream")) }
    }
}

operation! {
    /// `UpdateShardCount` with uniform scaling.
    UpdateShardCount { stream: StreamId, target: u32 } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.update_shard_count().set_stream_name(name).set_stream_arn(arn)
            .target_shard_count(op.target as i32)
            .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("UpdateShardCount")) }
    }
}

operation! {
    /// `SplitShard`.
    SplitShard { stream: StreamId, shard: ShardId, at: HashKey } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.split_shard().set_stream_name(name).set_stream_arn(arn)
            .shard_to_split(op.shard.as_str()).new_starting_hash_key(op.at.to_string()).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("SplitShard")) }
    }
}

operation! {
    /// `MergeShards`.
    MergeShards { stream: StreamId, shard: ShardId, adjacent: ShardId } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.merge_shards().set_stream_name(name).set_stream_arn(arn)
            .shard_to_merge(op.shard.as_str()).adjacent_shard_to_merge(op.adjacent.as_str()).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("MergeShards")) }
    }
}

operation! {
    /// `IncreaseStreamRetentionPeriod`.
    IncreaseStreamRetentionPeriod { stream: StreamId, hours: u32 } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.increase_stream_retention_period().set_stream_name(name).set_stream_arn(arn)
            .retention_period_hours(op.hours as i32).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("IncreaseStreamRetentionPeriod")) }
    }
}

operation! {
    /// `DecreaseStreamRetentionPeriod`.
    DecreaseStreamRetentionPeriod { stream: StreamId, hours: u32 } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.decrease_stream_retention_period().set_stream_name(name).set_stream_arn(arn)
            .retention_period_hours(op.hours as i32).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("DecreaseStreamRetentionPeriod")) }
    }
}

operation! {
    /// `AddTagsToStream`.
    AddTagsToStream { stream: StreamId, tags: BTreeMap<String, String> } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.add_tags_to_stream().set_stream_name(name).set_stream_arn(arn)
            .set_tags(Some(op.tags.clone().into_iter().collect())).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("AddTagsToStream")) }
    }
}

operation! {
    /// `RemoveTagsFromStream`.
    RemoveTagsFromStream { stream: StreamId, keys: Vec<String> } -> (),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.remove_tags_from_stream().set_stream_name(name).set_stream_arn(arn)
            .set_tag_keys(Some(op.keys.clone())).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("RemoveTagsFromStream")) }
    }
}

operation! {
    /// `ListTagsForStream`: one page, after `start`.
    ListTagsForStream { stream: StreamId, start: Option<String> } -> (Vec<(String, String)>, bool),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let (name, arn) = op.stream.params();
        let call = sdk.list_tags_for_stream().set_stream_name(name).set_stream_arn(arn)
            .set_exclusive_start_tag_key(op.start.clone()).send();
        async move {
            let out = call.await.map_err(sdk_err("ListTagsForStream"))?;
            let tags = out.tags().iter()
                .map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned()))
                .collect();
            Ok((tags, out.has_more_tags()))
        }
    }
}

operation! {
    /// `ListStreams`: one page.
    ListStreams { next_token: Option<String> } -> (Vec<ListedStream>, Option<String>),
    stream: |_s| None,
    send: |op, sdk| {
        let call = sdk.list_streams().set_next_token(op.next_token.clone()).send();
        async move {
            let out = call.await.map_err(sdk_err("ListStreams"))?;
            let streams = if out.stream_summaries().is_empty() {
                out.stream_names().iter().filter_map(|n| StreamName::new(n.as_str()).ok()).map(|name| ListedStream {
                    name, arn: None, status: None, on_demand: None, created: None,
                }).collect()
            } else {
                out.stream_summaries().iter().filter_map(|s| {
                    Some(ListedStream {
                        name: StreamName::new(s.stream_name()).ok()?,
                        arn: StreamArn::new(s.stream_arn()).ok(),
                        status: Some(StreamStatus::from_sdk(s.stream_status())),
                        on_demand: s.stream_mode_details().map(|m| m.stream_mode() == &aws_sdk_kinesis::types::StreamMode::OnDemand),
                        created: s.stream_creation_timestamp().and_then(|t| SystemTime::try_from(*t).ok()),
                    })
                }).collect()
            };
            let token = if out.has_more_streams() { out.next_token.clone() } else { None };
            Ok((streams, token))
        }
    }
}

operation! {
    /// `DescribeLimits`.
    DescribeLimits {} -> Limits,
    stream: |_s| None,
    send: |_op, sdk| {
        let call = sdk.describe_limits().send();
        async move {
            let out = call.await.map_err(sdk_err("DescribeLimits"))?;
            Ok(Limits {
                shard_limit: out.shard_limit().max(0) as u32,
                open_shard_count: out.open_shard_count().max(0) as u32,
                on_demand_stream_count: out.on_demand_stream_count().max(0) as u32,
                on_demand_stream_count_limit: out.on_demand_stream_count_limit().max(0) as u32,
            })
        }
    }
}

operation! {
    /// `RegisterStreamConsumer`.
    RegisterStreamConsumer { stream: StreamId, arn: StreamArn, name: String } -> StreamConsumer,
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let call = sdk.register_stream_consumer().stream_arn(op.arn.as_str()).consumer_name(&op.name).send();
        let arn = op.arn.clone();
        async move {
            let out = call.await.map_err(sdk_err("RegisterStreamConsumer"))?;
            let c = out.consumer.ok_or_else(|| Error::malformed_response("no Consumer"))?;
            StreamConsumer::new(c.consumer_name(), c.consumer_arn(), c.consumer_status(), Some(arn), Some(*c.consumer_creation_timestamp()))
        }
    }
}

operation! {
    /// `DescribeStreamConsumer`, by consumer ARN or by stream ARN and name.
    DescribeStreamConsumer { stream: Option<StreamId>, target: ConsumerTarget } -> StreamConsumer,
    stream: |s| s.stream.as_ref(),
    send: |op, sdk| {
        let b = sdk.describe_stream_consumer();
        let b = match &op.target {
            ConsumerTarget::Arn(arn) => b.consumer_arn(arn.as_str()),
            ConsumerTarget::Name(stream, name) => b.stream_arn(stream.as_str()).consumer_name(name),
        };
        let call = b.send();
        async move {
            let out = call.await.map_err(sdk_err("DescribeStreamConsumer"))?;
            let c = out.consumer_description.ok_or_else(|| Error::malformed_response("no ConsumerDescription"))?;
            StreamConsumer::new(c.consumer_name(), c.consumer_arn(), c.consumer_status(),
                StreamArn::new(c.stream_arn()).ok(), Some(*c.consumer_creation_timestamp()))
        }
    }
}

operation! {
    /// `ListStreamConsumers`: one page.
    ListStreamConsumers { stream: StreamId, arn: StreamArn, next_token: Option<String> } -> (Vec<StreamConsumer>, Option<String>),
    stream: |s| Some(&s.stream),
    send: |op, sdk| {
        let b = sdk.list_stream_consumers();
        let b = match &op.next_token {
            Some(t) => b.stream_arn(op.arn.as_str()).next_token(t),
            None => b.stream_arn(op.arn.as_str()),
        };
        let call = b.send();
        let arn = op.arn.clone();
        async move {
            let out = call.await.map_err(sdk_err("ListStreamConsumers"))?;
            let consumers = out.consumers().iter().map(|c| StreamConsumer::new(
                c.consumer_name(), c.consumer_arn(), c.consumer_status(), Some(arn.clone()), Some(*c.consumer_creation_timestamp()),
            )).collect::<Result<_, _>>()?;
            Ok((consumers, out.next_token.clone()))
        }
    }
}

operation! {
    /// `DeregisterStreamConsumer`.
    DeregisterStreamConsumer { stream: Option<StreamId>, arn: ConsumerArn } -> (),
    stream: |s| s.stream.as_ref(),
    send: |op, sdk| {
        let call = sdk.deregister_stream_consumer().consumer_arn(op.arn.as_str()).send();
        async move { call.await.map(|_| ()).map_err(sdk_err("DeregisterStreamConsumer")) }
    }
}

/// Which consumer `DescribeStreamConsumer` describes.
#[derive(Clone, Debug)]
pub(crate) enum ConsumerTarget {
    Arn(ConsumerArn),
    Name(StreamArn, String),
}

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
    fn new(
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

fn check_consumer_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 128 || !name.chars().all(is_name_char) {
        return Err(Error::invalid_input(format!(
            "invalid consumer name {name:?}: expected 1 to 128 characters of a-z A-Z 0-9 _ . -"
        )));
    }
    Ok(())
}

/// The Kinesis control plane.
///
/// Calls that change state wait until the stream or consumer reaches its target state, polling
/// as the configuration's [`WaitConfig`] says; the `WaitTimeout` error kind reports a wait that ran
/// out of time. Like [`Client`], it is a cheap handle whose calls go through the shared stack.
///
/// ```no_run
/// # async fn run() -> Result<(), kinesis_client::Error> {
/// use kinesis_client::{AdminClient, ClientConfig, StreamMode};
///
/// let admin = AdminClient::new(&ClientConfig::from_env().await?);
/// let summary = admin.create_stream(&"events".parse()?, StreamMode::Provisioned { shard_count: 4 }).await?;
/// admin.update_shard_count(&summary.name, 8).await?;
/// admin.delete_stream(&summary.name).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AdminClient {
    stack: Stack<Sdk>,
    data: Client,
    wait: WaitConfig,
}

impl AdminClient {
    /// An admin client for the configuration's region and Kinesis endpoint.
    pub fn new(config: &ClientConfig) -> Self {
        Self {
            stack: config.kinesis_stack(),
            data: Client::new(config),
            wait: config.wait_config(),
        }
    }

    /// Polls `check` until it yields `Some`, within the wait configuration.
    async fn wait_for<T, F, Fut>(&self, what: &str, mut check: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, Error>>,
    {
        let deadline = tokio::time::Instant::now() + self.wait.timeout();
        loop {
            if let Some(done) = check().await? {
                return Ok(done);
            }
            if tokio::time::Instant::now() + self.wait.poll_interval() > deadline {
                return Err(Error::wait_timeout(format!(
                    "{what} did not happen within {:?}",
                    self.wait.timeout()
                )));
            }
            tokio::time::sleep(self.wait.poll_interval()).await;
        }
    }

    /// Waits until the stream is `ACTIVE` and returns its summary.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WaitTimeout`] when the stream is not active in time;
    /// [`ErrorKind::NotFound`] when it does not exist.
    pub async fn wait_until_active(
        &self,
        stream: impl Into<StreamId>,
    ) -> Result<StreamSummary, Error> {
        let stream = stream.into();
        self.wait_for(&format!("stream {stream} becoming ACTIVE"), || async {
            let s = self.data.describe_stream_summary(&stream).await?;
            Ok((s.status == StreamStatus::Active).then_some(s))
        })
        .await
    }

    /// Creates a stream with `N` shards or on-demand, and waits until it is `ACTIVE`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a provisioned stream of 0 shards;
    /// [`ErrorKind::ResourceInUse`] when the stream exists; [`ErrorKind::Throttled`] when the
    /// account's shard limit is reached (`LimitExceededException`).
    pub async fn create_stream(
        &self,
        name: &StreamName,
        mode: StreamMode,
    ) -> Result<StreamSummary, Error> {
        if let StreamMode::Provisioned { shard_count: 0 } = mode {
            return Err(Error::invalid_input(
                "a provisioned stream needs at least one shard",
            ));
        }
        let stream = StreamId::Name(name.clone());
        self.stack
            .call(CreateStream {
                stream: stream.clone(),
                mode,
            })
            .await?;
        self.wait_until_active(stream).await
    }

    /// Deletes a stream (and its consumers) and waits until it is gone.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when the stream does not exist.
    pub async fn delete_stream(&self, stream: impl Into<StreamId>) -> Result<(), Error> {
        let stream = stream.into();
        self.stack
            .call(DeleteStream {
                stream: stream.clone(),
                enforce_consumer_deletion: true,
            })
            .await?;
        self.wait_for(&format!("stream {stream} being deleted"), || async {
            match self.data.describe_stream_summary(&stream).await {
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(Some(())),
                Err(e) => Err(e),
                Ok(_) => Ok(None),
            }
        })
        .await
    }

    /// Reshards uniformly to `target` shards and waits until the stream is `ACTIVE` again.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a target of 0; the service's error otherwise.
    pub async fn update_shard_count(
        &self,
        stream: impl Into<StreamId>,
        target: u32,
    ) -> Result<StreamSummary, Error> {
        if target == 0 {
            return Err(Error::invalid_input(
                "the target shard count must be at least 1",
            ));
        }
        let stream = stream.into();
        self.stack
            .call(UpdateShardCount {
                stream: stream.clone(),
                target,
            })
            .await?;
        self.wait_until_active(stream).await
    }

    /// Splits `shard` at `new_starting_hash_key` (the first key of the upper child) and waits
    /// until the stream is `ACTIVE` again.
    ///
    /// # Errors
    ///
    /// The service's error, e.g. [`ErrorKind::InvalidArgument`] for a key outside the shard.
    pub async fn split_shard(
        &self,
        stream: impl Into<StreamId>,
        shard: &ShardId,
        new_starting_hash_key: HashKey,
    ) -> Result<StreamSummary, Error> {
        let stream = stream.into();
        self.stack
            .call(SplitShard {
                stream: stream.clone(),
                shard: shard.clone(),
                at: new_starting_hash_key,
            })
            .await?;
        self.wait_until_active(stream).await
    }

    /// Merges two adjacent shards and waits until the stream is `ACTIVE` again.
    ///
    /// # Errors
    ///
    /// The service's error, e.g. [`ErrorKind::InvalidArgument`] for shards that are not adjacent.
    pub async fn merge_shards(
        &self,
        stream: impl Into<StreamId>,
        shard: &ShardId,
        adjacent: &ShardId,
    ) -> Result<StreamSummary, Error> {
        let stream = stream.into();
        self.stack
            .call(MergeShards {
                stream: stream.clone(),
                shard: shard.clone(),
                adjacent: adjacent.clone(),
            })
            .await?;
        self.wait_until_active(stream).await
    }

    /// Raises the retention period to `hours` (24 to 8760).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] outside 24..=8760 hours; the service's error otherwise.
    pub async fn increase_retention_period(
        &self,
        stream: impl Into<StreamId>,
        hours: u32,
    ) -> Result<(), Error> {
        check_retention(hours)?;
        let stream = stream.into();
        self.stack
            .call(IncreaseStreamRetentionPeriod {
                stream: stream.clone(),
                hours,
            })
            .await?;
        self.wait_until_active(stream).await.map(|_| ())
    }

    /// Lowers the retention period to `hours` (24 to 8760).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] outside 24..=8760 hours; the service's error otherwise.
    pub async fn decrease_retention_period(
        &self,
        stream: impl Into<StreamId>,
        hours: u32,
    ) -> Result<(), Error> {
        check_retention(hours)?;
        let stream = stream.into();
        self.stack
            .call(DecreaseStreamRetentionPeriod {
                stream: stream.clone(),
                hours,
            })
            .await?;
        self.wait_until_active(stream).await.map(|_| ())
    }

    /// Adds or overwrites tags (at most 50 per stream).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for no tags or more than 50; the service's error otherwise.
    pub async fn add_tags(
        &self,
        stream: impl Into<StreamId>,
        tags: BTreeMap<String, String>,
    ) -> Result<(), Error> {
        if tags.is_empty() || tags.len() > 50 {
            return Err(Error::invalid_input(format!(
                "tag 1 to 50 tags at a time, got {}",
                tags.len()
            )));
        }
        self.stack
            .call(AddTagsToStream {
                stream: stream.into(),
                tags,
            })
            .await
    }

    /// Removes tags by key.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for no keys or more than 50; the service's error otherwise.
    pub async fn remove_tags(
        &self,
        stream: impl Into<StreamId>,
        keys: Vec<String>,
    ) -> Result<(), Error> {
        if keys.is_empty() || keys.len() > 50 {
            return Err(Error::invalid_input(format!(
                "remove 1 to 50 tags at a time, got {}",
                keys.len()
            )));
        }
        self.stack
            .call(RemoveTagsFromStream {
                stream: stream.into(),
                keys,
            })
            .await
    }

    /// Every tag of the stream, following pagination.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when the stream does not exist.
    pub async fn list_tags(
        &self,
        stream: impl Into<StreamId>,
    ) -> Result<BTreeMap<String, String>, Error> {
        let stream = stream.into();
        let mut all = BTreeMap::new();
        let mut start = None;
        loop {
            let (page, more) = self
                .stack
                .call(ListTagsForStream {
                    stream: stream.clone(),
                    start,
                })
                .await?;
            start = page.last().map(|(k, _)| k.clone());
            all.extend(page);
            if !more || start.is_none() {
                return Ok(all);
            }
        }
    }

    /// Every stream of the account, following pagination.
    pub fn list_streams(&self) -> ListStreamsStream {
        let stack = self.stack.clone();
        ListStreamsStream::new(Box::new(move |next_token| {
            let stack = stack.clone();
            Box::pin(async move { stack.call(ListStreams { next_token }).await })
        }))
    }

    /// The account's shard and on-demand stream limits.
    ///
    /// # Errors
    ///
    /// The service's error.
    pub async fn describe_limits(&self) -> Result<Limits, Error> {
        self.stack.call(DescribeLimits {}).await
    }

    /// The stream's ARN: given, or looked up with `DescribeStreamSummary`.
    async fn stream_arn(&self, stream: &StreamId) -> Result<StreamArn, Error> {
        if let Some(arn) = stream.arn() {
            return Ok(arn.clone());
        }
        self.data
            .describe_stream_summary(stream)
            .await?
            .arn
            .ok_or_else(|| Error::malformed_response(format!("no ARN for stream {stream}")))
    }

    /// Registers an enhanced fan-out consumer and waits until it is `ACTIVE`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a bad name; [`ErrorKind::ResourceInUse`] when a consumer
    /// of that name exists; [`ErrorKind::Throttled`] when the stream has its maximum of consumers.
    pub async fn register_stream_consumer(
        &self,
        stream: impl Into<StreamId>,
        name: &str,
    ) -> Result<StreamConsumer, Error> {
        check_consumer_name(name)?;
        let stream = stream.into();
        let arn = self.stream_arn(&stream).await?;
        let registered = self
            .stack
            .call(RegisterStreamConsumer {
                stream,
                arn,
                name: name.to_owned(),
            })
            .await?;
        self.wait_until_consumer_active(&registered.arn).await
    }

    /// Waits until a consumer is `ACTIVE`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WaitTimeout`] when it is not active in time; [`ErrorKind::NotFound`] when it
    /// does not exist.
    pub async fn wait_until_consumer_active(
        &self,
        consumer: &ConsumerArn,
    ) -> Result<StreamConsumer, Error> {
        self.wait_for(&format!("consumer {consumer} becoming ACTIVE"), || async {
            let c = self.describe_stream_consumer(consumer).await?;
            Ok((c.status == ConsumerStatus::Active).then_some(c))
        })
        .await
    }

    /// Describes a consumer by ARN.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when it does not exist.
    pub async fn describe_stream_consumer(
        &self,
        consumer: &ConsumerArn,
    ) -> Result<StreamConsumer, Error> {
        self.stack
            .call(DescribeStreamConsumer {
                stream: None,
                target: ConsumerTarget::Arn(consumer.clone()),
            })
            .await
    }

    /// Describes a consumer by stream and name.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when it does not exist.
    pub async fn describe_stream_consumer_by_name(
        &self,
        stream: impl Into<StreamId>,
        name: &str,
    ) -> Result<StreamConsumer, Error> {
        check_consumer_name(name)?;
        let stream = stream.into();
        let arn = self.stream_arn(&stream).await?;
        self.stack
            .call(DescribeStreamConsumer {
                stream: Some(stream),
                target: ConsumerTarget::Name(arn, name.to_owned()),
            })
            .await
    }

    /// The consumers registered on a stream, following pagination.
    pub fn list_stream_consumers(&self, stream: impl Into<StreamId>) -> ListStreamConsumersStream {
        let admin = self.clone();
        let stream = stream.into();
        ListStreamConsumersStream::new(Box::new(move |next_token| {
            let admin = admin.clone();
            let stream = stream.clone();
            Box::pin(async move {
                let arn = admin.stream_arn(&stream).await?;
                admin
                    .stack
                    .call(ListStreamConsumers {
                        stream,
                        arn,
                        next_token,
                    })
                    .await
            })
        }))
    }

    /// Deregisters a consumer and waits until it is gone.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when it does not exist.
    pub async fn deregister_stream_consumer(&self, consumer: &ConsumerArn) -> Result<(), Error> {
        self.stack
            .call(DeregisterStreamConsumer {
                stream: None,
                arn: consumer.clone(),
            })
            .await?;
        self.wait_for(
            &format!("consumer {consumer} being deregistered"),
            || async {
                match self.describe_stream_consumer(consumer).await {
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(Some(())),
                    Err(e) => Err(e),
                    Ok(_) => Ok(None),
                }
            },
        )
        .await
    }
}

fn check_retention(hours: u32) -> Result<(), Error> {
    if !(24..=8760).contains(&hours) {
        return Err(Error::invalid_input(format!(
            "retention must be 24 to 8760 hours, got {hours}"
        )));
    }
    Ok(())
}
