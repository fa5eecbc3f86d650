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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use kinesis_client::layer::{RateLimiter, RateLimits};
    use kinesis_client::{
        Client, ClientConfig, ConsumerArn, RetryConfig, ShardId, StartingPosition,
    };
    use kinesis_testkit::scripted::shard::{
        CHILD, EVENT_RECORDS, SESSION_EVENTS, SHARD, ScriptedShard, sequence_number,
    };
    use kinesis_testkit::scripted::{Answer, Scripted};

    use super::FanOutFetcher;
    use crate::events::{DiagnosticEvent, Diagnostics};
    use crate::fetch::FetchContext;
    use crate::settings::FanOutSettings;

    const ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/app:1700000000";

    /// A fan-out fetcher of shard `SHARD` over `http`, from `position`; its diagnostic events.
    async fn fetcher(
        http: &Scripted,
        position: StartingPosition,
    ) -> (FanOutFetcher, Arc<Mutex<Vec<DiagnosticEvent>>>) {
        let config = ClientConfig::builder()
            .sdk_config(http.sdk_config())
            .retry(RetryConfig::disabled())
            .rate_limits(RateLimits::none())
            .build()
            .await
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let diagnostics = Diagnostics::new(
            16,
            Some(Arc::new(move |e: &DiagnosticEvent| {
                sink.lock().unwrap().push(e.clone());
            })),
            kinesis_client::Telemetry::none(),
        );
        let ctx = FetchContext {
            client: Client::new(&config.single_attempt()),
            budget: config.retry_budget().clone(),
            stream: "s".parse().unwrap(),
            shard: ShardId::new(SHARD).unwrap(),
            diagnostics,
            metrics: crate::metrics::ShardMetrics::new(
                kinesis_client::Telemetry::none(),
                ShardId::new(SHARD).unwrap(),
            ),
        };
        let fetcher = FanOutFetcher::new(
            ctx,
            &FanOutSettings::default(),
            ConsumerArn::new(ARN).unwrap(),
            RateLimiter::new(RateLimits::none()),
            position,
        );
        (fetcher, events)
    }

    /// The sequence numbers of the records of the batches read until `n` records came.
    async fn read(fetcher: &mut FanOutFetcher, n: usize) -> Vec<String> {
        let mut seen = Vec::new();
        while seen.len() < n {
            let batch = fetcher.next_batch().await.unwrap().expect("a batch");
            seen.extend(
                batch
                    .records
                    .iter()
                    .map(|r| r.sequence_number().as_str().to_owned()),
            );
        }
        seen
    }

    /// The starting positions of the subscriptions made: type and sequence number.
    fn subscriptions(http: &Scripted) -> Vec<(String, Option<String>)> {
        http.seen_for("SubscribeToShard")
            .iter()
            .map(|s| {
                let p = &s.body["StartingPosition"];
                (
                    p["Type"].as_str().unwrap().to_owned(),
                    p["SequenceNumber"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn records_arrive_once_and_in_order_across_subscription_renewals() {
        // 40 records: sessions of 3 events of 4 records, so three renewals and a fourth session.
        let http = ScriptedShard::open(40).connection();
        let (mut fetcher, events) = fetcher(&http, StartingPosition::TrimHorizon).await;
        let seen = read(&mut fetcher, 40).await;
        let expected: Vec<String> = (0..40).map(sequence_number).collect();
        assert_eq!(seen, expected, "every record once, in order");

        let per_session = EVENT_RECORDS * SESSION_EVENTS as u64;
        let subscribed = subscriptions(&http);
        assert_eq!(subscribed.len(), 4);
        assert_eq!(subscribed[0], ("TRIM_HORIZON".to_owned(), None));
        for (i, s) in subscribed.iter().enumerate().skip(1) {
            // Each renewal starts after the last record of the session before.
            let last = per_session * i as u64 - 1;
            assert_eq!(
                *s,
                (
                    "AFTER_SEQUENCE_NUMBER".to_owned(),
                    Some(sequence_number(last))
                )
            );
        }
        let retries = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, DiagnosticEvent::FetchRetry { .. }))
            .count();
        assert_eq!(retries, 0, "a session that ends is renewed without a retry");
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscribe_call_that_fails_is_retried_from_the_same_position() {
        // The first renewal is refused once (the service's subscription from a moment ago is
        // still open): the next call starts at the same position, and nothing repeats.
        let shard = ScriptedShard::open(20);
        let http = shard.connection();
        let (mut fetcher, _) = fetcher(&http, StartingPosition::TrimHorizon).await;
        let first = read(&mut fetcher, 12).await;
        http.push(Answer::error(400, "ResourceInUseException"));
        let rest = read(&mut fetcher, 8).await;
        let all: Vec<String> = first.into_iter().chain(rest).collect();
        assert_eq!(all, (0..20).map(sequence_number).collect::<Vec<_>>());
        let subscribed = subscriptions(&http);
        assert_eq!(subscribed.len(), 3, "{subscribed:?}");
        assert_eq!(
            subscribed[1], subscribed[2],
            "the retry starts where the refused call did"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_shard_ends_with_its_child_after_the_last_record() {
        let http = ScriptedShard::closed(6).connection();
        let (mut fetcher, _) = fetcher(&http, StartingPosition::TrimHorizon).await;
        let mut records = Vec::new();
        let end = loop {
            let batch = fetcher.next_batch().await.unwrap().expect("a batch");
            records.extend(
                batch
                    .records
                    .iter()
                    .map(|r| r.sequence_number().as_str().to_owned()),
            );
            if let Some(end) = batch.end {
                break end;
            }
        };
        assert_eq!(records, (0..6).map(sequence_number).collect::<Vec<_>>());
        assert_eq!(end.len(), 1);
        assert_eq!(end[0].id().as_str(), CHILD);
        assert!(
            fetcher.next_batch().await.unwrap().is_none(),
            "nothing after the shard end"
        );
    }
}
