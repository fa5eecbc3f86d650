//! Fetchers: where a shard's records come from. [`polling`] calls `GetRecords`; [`fanout`]
//! holds a `SubscribeToShard` subscription. Both hand out [`Batch`]es of Kinesis records, keep
//! their own position (so a renewed iterator or subscription resumes after the last record
//! handed out: nothing skipped, nothing repeated), and retry retryable failures with backoff.

pub(crate) mod fanout;
pub(crate) mod polling;
mod retries;

use kinesis_client::{Backoff, ChildShard, Client, Record, RetryBudget, ShardId, StreamId};

use crate::error::ConsumerError;
use crate::events::{DiagnosticEvent, Diagnostics};
use crate::metrics::ShardMetrics;

pub(crate) use retries::Retries;

/// One response's records; `end` is set on the shard's last batch, with the child shards the
/// service reported (possibly none: some backends do not report them).
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) records: Vec<Record>,
    pub(crate) end: Option<Vec<ChildShard>>,
    /// How far behind the tip of the shard the answer was, when the backend said.
    pub(crate) millis_behind_latest: Option<i64>,
}

/// What every fetcher needs.
#[derive(Debug, Clone)]
pub(crate) struct FetchContext {
    /// A client whose calls make one attempt: the fetcher's loop owns the retries.
    pub(crate) client: Client,
    /// The configuration's retry budget.
    pub(crate) budget: RetryBudget,
    pub(crate) stream: StreamId,
    pub(crate) shard: ShardId,
    pub(crate) diagnostics: Diagnostics,
    pub(crate) metrics: ShardMetrics,
}

impl FetchContext {
    /// The retries of a fetcher with this backoff.
    pub(crate) fn retries(&self, base: std::time::Duration, max: std::time::Duration) -> Retries {
        Retries::new(Backoff::new(base, max), self.budget.clone())
    }

    /// Sleeps before a retry when `e` is retryable; otherwise the typed failure.
    pub(crate) async fn retry_or_fail(
        &self,
        retries: &mut Retries,
        e: kinesis_client::Error,
    ) -> Result<(), ConsumerError> {
        if !e.is_retryable() {
            return Err(ConsumerError::kinesis(e).for_shard(&self.shard));
        }
        let delay = retries.next_delay();
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
