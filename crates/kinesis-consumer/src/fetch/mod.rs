//! Fetchers: where a shard's records come from. [`polling`] calls `GetRecords`; [`fanout`]
//! holds a `SubscribeToShard` subscription. Both hand out [`Batch`]es of Kinesis records, keep
//! their own position (so a renewed iterator or subscription resumes after the last record
//! handed out: nothing skipped, nothing repeated), and retry retryable failures with backoff.

pub(crate) mod fanout;
pub(crate) mod polling;

use kinesis_client::{ChildShard, Client, Record, ShardId, StreamId};

use crate::error::ConsumerError;
use crate::events::{DiagnosticEvent, Diagnostics};
use crate::settings::Backoff;

/// One response's records; `end` is set on the shard's last batch, with the child shards the
/// service reported (possibly none: some backends do not report them).
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) records: Vec<Record>,
    pub(crate) end: Option<Vec<ChildShard>>,
}

/// What every fetcher needs.
#[derive(Debug, Clone)]
pub(crate) struct FetchContext {
    pub(crate) client: Client,
    pub(crate) stream: StreamId,
    pub(crate) shard: ShardId,
    pub(crate) diagnostics: Diagnostics,
}

impl FetchContext {
    /// Sleeps before a retry when `e` is retryable; otherwise the typed failure.
    pub(crate) async fn retry_or_fail(
        &self,
        backoff: &mut Backoff,
        e: kinesis_client::Error,
    ) -> Result<(), ConsumerError> {
        if !e.is_retryable() {
            return Err(ConsumerError::kinesis(e).for_shard(&self.shard));
        }
        let delay = backoff.next_delay();
        tracing::warn!(shard_id = %self.shard, error = %e, ?delay, "fetch failed; retrying");
        self.diagnostics.emit(DiagnosticEvent::FetchRetry {
            shard_id: self.shard.clone(),
            error: e.to_string(),
            delay,
        });
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// A shard's fetcher, by fetch mode.
#[derive(Debug)]
pub(crate) enum Fetcher {
    Polling(polling::PollingFetcher),
    FanOut(fanout::FanOutFetcher),
}

impl Fetcher {
    /// The next batch; `None` once the shard's end was handed out.
    ///
    /// Cancel safe: dropped while waiting, nothing fetched is lost (a call in flight is
    /// repeated from the same position).
    pub(crate) async fn next_batch(&mut self) -> Result<Option<Batch>, ConsumerError> {
        match self {
            Fetcher::Polling(f) => f.next_batch().await,
            Fetcher::FanOut(f) => f.next_batch().await,
        }
    }
}
