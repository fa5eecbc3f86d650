//! The control-plane calls, each an [`Operation`] sent through the stack.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_kinesis::Client as Sdk;

use crate::api::data::{StreamMode, StreamStatus};
use crate::error::Error;
use crate::operation::{BoxFuture, Operation};
use crate::types::shard::{HashKey, ShardId};
use crate::types::stream::{ConsumerArn, StreamArn, StreamId, StreamName};

use super::types::*;

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
