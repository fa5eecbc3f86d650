//! The Kinesis control plane: streams, shards, retention, tags, consumers, limits.

mod operations;
mod types;

pub use types::{
    ConsumerStatus, Limits, ListStreamConsumersStream, ListStreamsStream, ListedStream,
    StreamConsumer,
};

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_kinesis::Client as Sdk;

use crate::Client;
use crate::api::data::{StreamMode, StreamStatus, StreamSummary};
use crate::config::{ClientConfig, WaitConfig};
use crate::error::{Error, ErrorKind};
use crate::stack::Stack;
use crate::types::shard::{HashKey, ShardId};
use crate::types::stream::{ConsumerArn, StreamArn, StreamId, StreamName};

use operations::*;
use types::*;

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
