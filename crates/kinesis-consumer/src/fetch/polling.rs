//! The polling fetcher: `GetShardIterator` once, then `GetRecords` with each response's next
//! iterator.

use kinesis_client::{ShardIterator, StartingPosition};
use tokio::time::Instant;

use super::{Batch, FetchContext};
use crate::error::ConsumerError;
use crate::events::DiagnosticEvent;
use crate::settings::{Backoff, PollingSettings};

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
    backoff: Backoff,
    ended: bool,
}

impl PollingFetcher {
    pub(crate) fn new(
        ctx: FetchContext,
        settings: PollingSettings,
        position: StartingPosition,
    ) -> Self {
        let backoff = Backoff::new(settings.retry_base_delay, settings.retry_max_delay);
        Self {
            ctx,
            settings,
            position,
            iterator: None,
            next_poll: None,
            backoff,
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
                    match client
                        .get_shard_iterator(
                            self.ctx.stream.clone(),
                            &self.ctx.shard,
                            self.position.clone(),
                        )
                        .await
                    {
                        Ok(iterator) => {
                            self.iterator = Some(iterator.clone());
                            iterator
                        }
                        Err(e) => {
                            self.ctx.retry_or_fail(&mut self.backoff, e).await?;
                            continue;
                        }
                    }
                }
            };
            let started = Instant::now();
            let limit = Some(self.settings.batch_size);
            match self.ctx.client.get_records(&iterator, limit).await {
                Ok(mut output) => {
                    self.backoff.reset();
                    let records = output.take_records();
                    let behind = output.millis_behind_latest();
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
                    return Ok(Some(Batch { records, end }));
                }
                Err(e) if e.is_expired_iterator() => {
                    tracing::debug!(shard_id = %self.ctx.shard, "shard iterator expired; renewing it");
                    self.iterator = None;
                }
                Err(e) => self.ctx.retry_or_fail(&mut self.backoff, e).await?,
            }
        }
    }
}
