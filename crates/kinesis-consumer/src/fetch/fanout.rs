//! The enhanced fan-out fetcher: a `SubscribeToShard` subscription, renewed from its last
//! continuation sequence number whenever it ends (every 5 minutes on AWS) or fails.

use futures_util::StreamExt as _;
use kinesis_client::layer::RateLimiter;
use kinesis_client::{ConsumerArn, StartingPosition, SubscribeToShardStream};

use super::{Batch, FetchContext};
use crate::error::ConsumerError;
use crate::events::DiagnosticEvent;
use crate::fetch::Retries;
use crate::settings::FanOutSettings;

/// Reads one shard through an enhanced fan-out subscription.
#[derive(Debug)]
pub(crate) struct FanOutFetcher {
    ctx: FetchContext,
    consumer: ConsumerArn,
    /// The worker-wide cap on subscribe calls (a quota on `SubscribeToShard`).
    limiter: RateLimiter,
    position: StartingPosition,
    subscription: Option<SubscribeToShardStream>,
    retries: Retries,
    ended: bool,
}

impl FanOutFetcher {
    pub(crate) fn new(
        ctx: FetchContext,
        settings: &FanOutSettings,
        consumer: ConsumerArn,
        limiter: RateLimiter,
        position: StartingPosition,
    ) -> Self {
        let retries = ctx.retries(settings.retry_base_delay, settings.retry_max_delay);
        Self {
            ctx,
            consumer,
            limiter,
            position,
            subscription: None,
            retries,
            ended: false,
        }
    }

    /// After a failed subscribe call or a subscription ended by an error: waits before
    /// subscribing again, or gives up when `e` is not worth retrying.
    ///
    /// `ResourceInUse` means a subscription to this shard from the last seconds is still open
    /// on the service's side (ours, or that of the lease's previous holder): wait and try again.
    /// AWS answers it to the subscribe call; kinesis-local sends it inside the event stream.
    async fn wait_to_resubscribe(&mut self, e: kinesis_client::Error) -> Result<(), ConsumerError> {
        if e.kind() == kinesis_client::ErrorKind::ResourceInUse {
            let delay = self.retries.next_delay();
            tracing::debug!(shard_id = %self.ctx.shard, ?delay, "subscription still in use; waiting");
            tokio::time::sleep(delay).await;
            return Ok(());
        }
        self.ctx.retry_or_fail(&mut self.retries, e).await
    }

    pub(crate) async fn next_batch(&mut self) -> Result<Option<Batch>, ConsumerError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            let subscription = match &mut self.subscription {
                Some(subscription) => subscription,
                None => {
                    self.limiter.acquire("SubscribeToShard", "").await;
                    let subscribed = self
                        .ctx
                        .client
                        .subscribe_to_shard(&self.consumer, &self.ctx.shard, self.position.clone())
                        .await;
                    match subscribed {
                        Ok(subscription) => self.subscription.insert(subscription),
                        Err(e) => {
                            self.wait_to_resubscribe(e).await?;
                            continue;
                        }
                    }
                }
            };
            match subscription.next().await {
                Some(Ok(mut event)) => {
                    self.retries.reset();
                    let records = event.take_records();
                    self.ctx
                        .metrics
                        .millis_behind_latest(event.millis_behind_latest());
                    self.ctx
                        .diagnostics
                        .emit(DiagnosticEvent::SubscriptionEvent {
                            shard_id: self.ctx.shard.clone(),
                            records: records.len(),
                            millis_behind_latest: event.millis_behind_latest(),
                        });
                    match event.continuation_sequence_number() {
                        Some(next) if !event.is_shard_end() => {
                            self.position = StartingPosition::AfterSequenceNumber(next.clone());
                        }
                        _ => self.ended = true,
                    }
                    let end = self.ended.then(|| event.child_shards().to_vec());
                    return Ok(Some(Batch {
                        records,
                        end,
                        millis_behind_latest: Some(event.millis_behind_latest()),
                    }));
                }
                Some(Err(e)) => {
                    self.subscription = None;
                    self.wait_to_resubscribe(e).await?;
                }
                // The subscription ended (after 5 minutes on AWS): subscribe again from the
                // continuation sequence number.
                None => self.subscription = None,
            }
        }
    }
}
