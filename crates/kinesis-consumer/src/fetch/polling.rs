//! The polling fetcher: `GetShardIterator` once, then `GetRecords` with each response's next
//! iterator.

use kinesis_client::{ShardIterator, StartingPosition};
use tokio::time::Instant;

use super::{Batch, FetchContext};
use crate::error::ConsumerError;
use crate::events::DiagnosticEvent;
use crate::fetch::Retries;
use crate::settings::PollingSettings;

/// Reads one shard with `GetRecords`.
///
/// - The next call is made at once while the shard is behind (`MillisBehindLatest` > 0, or a
///   full batch), else after the poll interval; the client's rate limiter keeps every shard
///   within 5 calls per second.
/// - An expired iterator is replaced by one after the last record handed out (or at the
///   starting position if none was).
/// - Retryable failures (throttling the client's own retries did not absorb, transient
///   errors) are retried after a doubling pause; others end the shard's stream.
#[derive(Debug)]
pub(crate) struct PollingFetcher {
    ctx: FetchContext,
    settings: PollingSettings,
    position: StartingPosition,
    iterator: Option<ShardIterator>,
    next_poll: Option<Instant>,
    retries: Retries,
    ended: bool,
}

impl PollingFetcher {
    pub(crate) fn new(
        ctx: FetchContext,
        settings: PollingSettings,
        position: StartingPosition,
    ) -> Self {
        let retries = ctx.retries(settings.retry_base_delay, settings.retry_max_delay);
        Self {
            ctx,
            settings,
            position,
            iterator: None,
            next_poll: None,
            retries,
            ended: false,
        }
    }

    pub(crate) async fn next_batch(&mut self) -> Result<Option<Batch>, ConsumerError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            if let Some(at) = self.next_poll {
                tokio::time::sleep_until(at).await;
                self.next_poll = None;
            }
            let iterator = match &self.iterator {
                Some(iterator) => iterator.clone(),
                None => {
                    let client = &self.ctx.client;
                    let started = Instant::now();
                    let iterator = client
                        .get_shard_iterator(
                            self.ctx.stream.clone(),
                            &self.ctx.shard,
                            self.position.clone(),
                        )
                        .await;
                    self.ctx
                        .metrics
                        .get_shard_iterator(started, iterator.is_ok());
                    match iterator {
                        Ok(iterator) => {
                            self.iterator = Some(iterator.clone());
                            iterator
                        }
                        Err(e) => {
                            self.ctx.retry_or_fail(&mut self.retries, e).await?;
                            continue;
                        }
                    }
                }
            };
            let started = Instant::now();
            let limit = Some(self.settings.batch_size);
            let output = self.ctx.client.get_records(&iterator, limit).await;
            self.ctx.metrics.get_records(started, output.is_ok());
            match output {
                Ok(mut output) => {
                    self.retries.reset();
                    let records = output.take_records();
                    let behind = output.millis_behind_latest();
                    if let Some(behind) = behind {
                        self.ctx.metrics.millis_behind_latest(behind);
                    }
                    self.ctx.diagnostics.emit(DiagnosticEvent::PollComplete {
                        shard_id: self.ctx.shard.clone(),
                        records: records.len(),
                        millis_behind_latest: behind,
                        duration: started.elapsed(),
                    });
                    if let Some(last) = records.last() {
                        self.position =
                            StartingPosition::AfterSequenceNumber(last.sequence_number().clone());
                    }
                    self.iterator = output.next_shard_iterator().cloned();
                    self.ended = self.iterator.is_none();
                    let full = records.len() >= self.settings.batch_size as usize;
                    if !full && behind.unwrap_or(0) <= 0 {
                        self.next_poll = Some(Instant::now() + self.settings.poll_interval);
                    }
                    let end = self.ended.then(|| output.child_shards().to_vec());
                    return Ok(Some(Batch {
                        records,
                        end,
                        millis_behind_latest: behind,
                    }));
                }
                Err(e) if e.is_expired_iterator() => {
                    self.ctx.metrics.expired_iterator();
                    tracing::debug!(shard_id = %self.ctx.shard, "shard iterator expired; renewing it");
                    self.iterator = None;
                }
                Err(e) => self.ctx.retry_or_fail(&mut self.retries, e).await?,
            }
        }
    }
}

/// The fetcher over the real client stack and SDK, answered by a scripted in-process shard,
/// under virtual time: every time asserted here is exact, whatever the machine's speed.
#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use kinesis_client::layer::RateLimits;
    use kinesis_client::{
        Client, ClientConfig, ErrorKind, RetryConfig, SequenceNumber, ShardId, StartingPosition,
    };
    use kinesis_testkit::scripted::shard::{
        CHILD, FIRST_SEQUENCE_NUMBER, SHARD, ScriptedShard, sequence_number,
    };
    use kinesis_testkit::scripted::{Answer, Scripted, Seen};
    use serde_json::json;
    use tokio::time::Instant;

    use super::PollingFetcher;
    use crate::error::ConsumerErrorKind;
    use crate::events::{DiagnosticEvent, Diagnostics};
    use crate::fetch::{Batch, FetchContext};
    use crate::settings::PollingSettings;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn throttled() -> Answer {
        Answer::error(400, "ProvisionedThroughputExceededException")
    }

    /// Diagnostic events, with the virtual time each was emitted at.
    type Events = Arc<Mutex<Vec<(Instant, DiagnosticEvent)>>>;

    /// What a test looks at: the connection, the fetcher, the events and when the test began.
    struct Harness {
        http: Scripted,
        fetcher: PollingFetcher,
        events: Events,
        start: Instant,
    }

    impl Harness {
        /// A fetcher of shard `SHARD` of stream `s` over `http`, with the Kinesis rate limits.
        /// With `RetryConfig::disabled()` every attempt is one request and no jitter enters the
        /// times.
        async fn new(
            http: Scripted,
            retry: RetryConfig,
            settings: PollingSettings,
            position: StartingPosition,
        ) -> Self {
            let config = ClientConfig::builder()
                .sdk_config(http.sdk_config())
                .retry(retry)
                .rate_limits(RateLimits::kinesis_defaults())
                .build()
                .await
                .unwrap();
            let events = Events::default();
            let sink = Arc::clone(&events);
            let diagnostics = Diagnostics::new(
                16,
                Some(Arc::new(move |e: &DiagnosticEvent| {
                    sink.lock().unwrap().push((Instant::now(), e.clone()));
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
            Self {
                http,
                fetcher: PollingFetcher::new(ctx, settings, position),
                events,
                start: Instant::now(),
            }
        }

        async fn simple(http: Scripted, batch_size: u32) -> Self {
            Self::new(
                http,
                RetryConfig::disabled(),
                PollingSettings::default().with_batch_size(batch_size),
                StartingPosition::TrimHorizon,
            )
            .await
        }

        /// The next batch (which must come), and the virtual time it came at.
        async fn batch(&mut self) -> (Duration, Batch) {
            let batch = self.fetcher.next_batch().await.unwrap().expect("a batch");
            (self.start.elapsed(), batch)
        }

        fn elapsed(&self, seen: &[Seen]) -> Vec<Duration> {
            seen.iter().map(|s| s.at - self.start).collect()
        }

        /// When each `GetRecords` request arrived.
        fn get_records_times(&self) -> Vec<Duration> {
            self.elapsed(&self.http.seen_for("GetRecords"))
        }

        /// The iterator each `GetRecords` request carried.
        fn get_records_iterators(&self) -> Vec<String> {
            self.http
                .seen_for("GetRecords")
                .iter()
                .map(|s| s.body["ShardIterator"].as_str().unwrap().to_owned())
                .collect()
        }

        fn poll_completes(&self) -> Vec<(usize, Option<i64>, Duration)> {
            let events = self.events.lock().unwrap();
            events
                .iter()
                .filter_map(|(_, e)| match e {
                    DiagnosticEvent::PollComplete {
                        shard_id,
                        records,
                        millis_behind_latest,
                        duration,
                    } => {
                        assert_eq!(shard_id.as_str(), SHARD);
                        Some((*records, *millis_behind_latest, *duration))
                    }
                    _ => None,
                })
                .collect()
        }

        /// The `FetchRetry` events: when, and the pause announced.
        fn fetch_retries(&self) -> Vec<(Duration, Duration)> {
            let events = self.events.lock().unwrap();
            events
                .iter()
                .filter_map(|(at, e)| match e {
                    DiagnosticEvent::FetchRetry {
                        shard_id,
                        error,
                        delay,
                    } => {
                        assert_eq!(shard_id.as_str(), SHARD);
                        assert!(!error.is_empty());
                        Some((*at - self.start, *delay))
                    }
                    _ => None,
                })
                .collect()
        }
    }

    /// The offsets of a batch's records in the scripted shard.
    fn offsets(batch: &Batch) -> Vec<u64> {
        batch
            .records
            .iter()
            .map(|r| r.sequence_number().as_str().parse::<u64>().unwrap() - FIRST_SEQUENCE_NUMBER)
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_answer_s_records_come_at_once_in_one_batch() {
        let mut h = Harness::simple(ScriptedShard::open(7).connection(), 10).await;

        let (at, batch) = h.batch().await;
        assert_eq!(at, Duration::ZERO);
        assert_eq!(offsets(&batch), [0, 1, 2, 3, 4, 5, 6]);
        assert!(batch.end.is_none());

        let seen = h.http.seen();
        let operations: Vec<_> = seen.iter().map(|s| s.operation.as_str()).collect();
        assert_eq!(operations, ["GetShardIterator", "GetRecords"]);
        assert_eq!(seen[0].body["ShardIteratorType"], "TRIM_HORIZON");
        assert_eq!(seen[1].body["Limit"], 10);
        assert_eq!(h.elapsed(&seen), [Duration::ZERO; 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn polls_again_at_once_while_behind() {
        let mut h = Harness::simple(ScriptedShard::open(23).connection(), 5).await;

        // MillisBehindLatest > 0 after each of the first four calls: five calls, no time passes.
        for i in 0..5u64 {
            let (at, batch) = h.batch().await;
            assert_eq!(at, Duration::ZERO, "batch {i}");
            let expected: Vec<u64> = (i * 5..(i * 5 + 5).min(23)).collect();
            assert_eq!(offsets(&batch), expected);
        }
        assert_eq!(h.get_records_times(), [Duration::ZERO; 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn polls_again_at_once_after_a_full_batch_even_without_lag() {
        let shard = ScriptedShard {
            reports_lag: false,
            ..ScriptedShard::open(10)
        };
        let mut h = Harness::simple(shard.connection(), 5).await;

        // Two full batches at once; the third call finds nothing and is not full.
        assert_eq!(offsets(&h.batch().await.1), [0, 1, 2, 3, 4]);
        assert_eq!(offsets(&h.batch().await.1), [5, 6, 7, 8, 9]);
        let (at, batch) = h.batch().await;
        assert_eq!(at, Duration::ZERO);
        assert!(batch.records.is_empty());
        // Caught up: the next call waits for the poll interval (1 s).
        let (at, batch) = h.batch().await;
        assert_eq!(at, secs(1.0));
        assert!(batch.records.is_empty());
        assert_eq!(
            h.get_records_times(),
            [Duration::ZERO, Duration::ZERO, Duration::ZERO, secs(1.0)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waits_the_poll_interval_once_caught_up() {
        let settings = PollingSettings::default()
            .with_batch_size(5)
            .with_poll_interval(Duration::from_millis(2500));
        let mut h = Harness::new(
            ScriptedShard::open(8).connection(),
            RetryConfig::disabled(),
            settings,
            StartingPosition::TrimHorizon,
        )
        .await;

        assert_eq!(h.batch().await.0, Duration::ZERO);
        // The second call reads the last three records: MillisBehindLatest 0, not full.
        let (at, batch) = h.batch().await;
        assert_eq!(at, Duration::ZERO);
        assert_eq!(offsets(&batch), [5, 6, 7]);
        // So each further call comes a poll interval after the previous answer.
        let (at, batch) = h.batch().await;
        assert_eq!(at, secs(2.5));
        assert!(batch.records.is_empty());
        assert_eq!(h.batch().await.0, secs(5.0));
        assert_eq!(
            h.get_records_times(),
            [Duration::ZERO, Duration::ZERO, secs(2.5), secs(5.0)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn makes_at_most_five_get_records_calls_per_second() {
        // One record per call and always behind: the fetcher wants to call without pause.
        let mut h = Harness::simple(ScriptedShard::open(100).connection(), 1).await;

        let mut times = Vec::new();
        for i in 0..11u64 {
            let (at, batch) = h.batch().await;
            assert_eq!(offsets(&batch), [i]);
            times.push(at);
        }
        let expected: Vec<Duration> = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0]
            .into_iter()
            .map(secs)
            .collect();
        assert_eq!(times, expected);
        assert_eq!(h.get_records_times(), expected);
    }

    #[tokio::test(start_paused = true)]
    async fn each_call_uses_the_previous_answer_s_next_shard_iterator() {
        let mut h = Harness::simple(ScriptedShard::open(9).connection(), 2).await;

        let mut all = Vec::new();
        for _ in 0..5 {
            all.extend(offsets(&h.batch().await.1));
        }
        assert_eq!(all, (0..9).collect::<Vec<_>>());
        // Request 0 was GetShardIterator; GetRecords request n answered `it-<next offset>-n`.
        assert_eq!(
            h.get_records_iterators(),
            ["it-0-0", "it-2-1", "it-4-2", "it-6-3", "it-8-4"]
        );
        assert_eq!(h.http.seen_for("GetShardIterator").len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn ends_at_shard_end_with_the_child_shards_given() {
        let mut h = Harness::simple(ScriptedShard::closed(3).connection(), 2).await;

        let (_, first) = h.batch().await;
        assert_eq!(offsets(&first), [0, 1]);
        assert!(first.end.is_none());
        let (at, last) = h.batch().await;
        assert_eq!(at, Duration::ZERO);
        assert_eq!(offsets(&last), [2]);
        let children = last.end.expect("the shard's end");
        assert_eq!(children.len(), 1);
        assert_eq!(children[0].id().as_str(), CHILD);
        let parents: Vec<_> = children[0].parents().iter().map(|p| p.as_str()).collect();
        assert_eq!(parents, [SHARD]);
        assert_eq!(children[0].hash_key_range().end().0, u128::MAX >> 1);

        // Nothing after the end, and no further call.
        assert!(h.fetcher.next_batch().await.unwrap().is_none());
        assert!(h.fetcher.next_batch().await.unwrap().is_none());
        assert_eq!(h.http.seen().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn ends_at_shard_end_without_child_shards_when_none_are_reported() {
        let shard = ScriptedShard {
            reports_children: false,
            ..ScriptedShard::closed(2)
        };
        let mut h = Harness::simple(shard.connection(), 10).await;

        let (_, batch) = h.batch().await;
        assert_eq!(offsets(&batch), [0, 1]);
        assert_eq!(batch.end.expect("the shard's end"), []);
        assert!(h.fetcher.next_batch().await.unwrap().is_none());
        assert_eq!(h.http.seen_for("GetRecords").len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn emits_a_poll_complete_event_per_call() {
        let mut h = Harness::simple(ScriptedShard::open(6).connection(), 1).await;

        for _ in 0..7 {
            h.batch().await;
        }
        // Six calls with one record each (the sixth waited a second for the rate limiter; the
        // wait is part of its duration), then a full batch's next call finds nothing.
        let expected: Vec<(usize, Option<i64>, Duration)> = vec![
            (1, Some(5000), Duration::ZERO),
            (1, Some(4000), Duration::ZERO),
            (1, Some(3000), Duration::ZERO),
            (1, Some(2000), Duration::ZERO),
            (1, Some(1000), Duration::ZERO),
            (1, Some(0), secs(1.0)),
            (0, Some(0), Duration::ZERO),
        ];
        assert_eq!(h.poll_completes(), expected);
        assert_eq!(
            h.events.lock().unwrap().len(),
            7,
            "only PollComplete events"
        );
        assert_eq!(h.http.seen_for("GetRecords").len(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_by_the_fetcher_with_growing_pauses() {
        // The configuration would retry each call 10 times; the fetcher's calls make one attempt
        // each, so every throttle is one retry of the fetcher, after a pause below its ceiling
        // (1 s, 2 s, then 3 s at most), and a success starts the pauses over.
        let settings = PollingSettings::default()
            .with_batch_size(2)
            .with_retry_delays(secs(1.0), secs(3.0));
        let mut h = Harness::new(
            ScriptedShard::open(10).connection(),
            RetryConfig::default(),
            settings,
            StartingPosition::TrimHorizon,
        )
        .await;
        assert_eq!(offsets(&h.batch().await.1), [0, 1]);

        for _ in 0..4 {
            h.http.push(throttled());
        }
        let (at, batch) = h.batch().await;
        assert_eq!(offsets(&batch), [2, 3]);
        let retries = h.fetch_retries();
        assert_eq!(retries.len(), 4, "{retries:?}");
        for ((_, pause), ceiling) in retries.iter().zip([1.0, 2.0, 3.0, 3.0]) {
            assert!(*pause <= secs(ceiling), "{retries:?}");
        }
        // The pauses, each stretched at most to the rate limit's 200 ms between calls.
        let waited: Duration = retries.iter().map(|(_, d)| *d).sum();
        assert!(
            at >= waited && at <= waited + secs(0.8),
            "{at:?} {retries:?}"
        );

        // A success starts the pauses over.
        h.http.push(throttled());
        assert_eq!(offsets(&h.batch().await.1), [4, 5]);
        assert!(h.fetch_retries()[4].1 <= secs(1.0));

        // 3 successes and 5 throttles, each one call; every retry read from the same iterator.
        assert_eq!(h.get_records_times().len(), 8);
        let iterators = h.get_records_iterators();
        assert!(
            iterators[1..6].iter().all(|i| i.starts_with("it-2-")),
            "{iterators:?}"
        );
        assert_eq!(h.poll_completes().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_get_shard_iterator_is_retried_after_a_pause() {
        let http =
            ScriptedShard::open(3).connection_after([Answer::error(503, "ServiceUnavailable")]);
        let mut h = Harness::simple(http, 10).await;

        let (at, batch) = h.batch().await;
        assert_eq!(offsets(&batch), [0, 1, 2]);
        let retries = h.fetch_retries();
        assert_eq!(retries.len(), 1);
        let (_, pause) = retries[0];
        assert!(pause <= secs(1.0), "below the first ceiling: {pause:?}");
        let calls = h.elapsed(&h.http.seen_for("GetShardIterator"));
        assert_eq!(calls.len(), 2);
        // The pause, plus at most the rate limit's 200 ms between calls.
        assert!(
            calls[1] >= pause && calls[1] <= pause + secs(0.2),
            "{calls:?} {pause:?}"
        );
        assert!(at >= calls[1] && at <= secs(1.2), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_non_retryable_failure_ends_the_fetch_with_a_typed_error() {
        // The client would retry a retryable failure; this one is not.
        let settings = PollingSettings::default().with_batch_size(2);
        let mut h = Harness::new(
            ScriptedShard::open(4).connection(),
            RetryConfig::default(),
            settings.clone(),
            StartingPosition::TrimHorizon,
        )
        .await;
        assert_eq!(offsets(&h.batch().await.1), [0, 1]);

        h.http.push(Answer::error(400, "AccessDeniedException"));
        let err = h.fetcher.next_batch().await.unwrap_err();
        assert_eq!(err.kind(), ConsumerErrorKind::Kinesis);
        assert_eq!(err.shard_id().map(|s| s.as_str()), Some(SHARD));
        let kinesis = err.kinesis_error().expect("the Kinesis error");
        assert_eq!(kinesis.kind(), ErrorKind::AccessDenied);
        assert_eq!(kinesis.code(), Some("AccessDeniedException"));
        assert_eq!(kinesis.operation(), Some("GetRecords"));
        // One attempt, no pause, no retry.
        assert_eq!(h.get_records_times(), [Duration::ZERO; 2]);
        assert!(h.fetch_retries().is_empty());

        // The same for the iterator of a shard that does not exist.
        let http = Scripted::new([Answer::error(400, "ResourceNotFoundException")]);
        let mut h = Harness::new(
            http,
            RetryConfig::default(),
            settings,
            StartingPosition::TrimHorizon,
        )
        .await;
        let err = h.fetcher.next_batch().await.unwrap_err();
        assert_eq!(err.kind(), ConsumerErrorKind::Kinesis);
        let kinesis = err.kinesis_error().expect("the Kinesis error");
        assert!(kinesis.is_not_found());
        assert_eq!(kinesis.operation(), Some("GetShardIterator"));
        assert_eq!(h.http.seen().len(), 1);
        assert_eq!(h.start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_iterator_resumes_after_the_last_record_handed_out() {
        let mut h = Harness::simple(ScriptedShard::open(7).connection(), 3).await;
        assert_eq!(offsets(&h.batch().await.1), [0, 1, 2]);

        h.http.push(Answer::error(400, "ExpiredIteratorException"));
        let (at, batch) = h.batch().await;
        assert_eq!((at, offsets(&batch)), (Duration::ZERO, vec![3, 4, 5]));
        assert_eq!(offsets(&h.batch().await.1), [6]);

        let renewals = h.http.seen_for("GetShardIterator");
        assert_eq!(renewals.len(), 2);
        assert_eq!(
            renewals[1].body["ShardIteratorType"],
            "AFTER_SEQUENCE_NUMBER"
        );
        assert_eq!(
            renewals[1].body["StartingSequenceNumber"],
            sequence_number(2)
        );
        // The expired call was repeated at once with the renewed iterator (the shard's answer
        // number 2: the expiry came from the script).
        assert_eq!(
            h.get_records_iterators(),
            ["it-0-0", "it-3-1", "it-3-2", "it-6-3"]
        );
        assert_eq!(h.get_records_times(), [Duration::ZERO; 4]);
        assert!(h.fetch_retries().is_empty());
        assert_eq!(h.poll_completes().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_iterator_before_any_record_restarts_at_the_starting_position() {
        // Expired on the very first call.
        let start = SequenceNumber::new(sequence_number(4)).unwrap();
        let http = ScriptedShard::open(7).connection_after([
            Answer::ok(json!({"ShardIterator": "it-4-first"})),
            Answer::error(400, "ExpiredIteratorException"),
        ]);
        let mut h = Harness::new(
            http,
            RetryConfig::disabled(),
            PollingSettings::default().with_batch_size(10),
            StartingPosition::AtSequenceNumber(start),
        )
        .await;
        let (at, batch) = h.batch().await;
        assert_eq!((at, offsets(&batch)), (Duration::ZERO, vec![4, 5, 6]));
        let requests = h.http.seen_for("GetShardIterator");
        assert_eq!(requests.len(), 2);
        for r in &requests {
            assert_eq!(r.body["ShardIteratorType"], "AT_SEQUENCE_NUMBER");
            assert_eq!(r.body["StartingSequenceNumber"], sequence_number(4));
        }

        // Expired after calls that returned nothing: still the starting position.
        let mut h = Harness::new(
            ScriptedShard::open(3).connection(),
            RetryConfig::disabled(),
            PollingSettings::default(),
            StartingPosition::Latest,
        )
        .await;
        assert!(h.batch().await.1.records.is_empty());
        h.http.push(Answer::error(400, "ExpiredIteratorException"));
        let (at, batch) = h.batch().await;
        assert_eq!(at, secs(1.0));
        assert!(batch.records.is_empty());
        let requests = h.http.seen_for("GetShardIterator");
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].body["ShardIteratorType"], "LATEST");
        assert!(requests[1].body.get("StartingSequenceNumber").is_none());
    }
}
