//! [`Consumer::consume_with`]: a record handler per record, checkpoints batched.

use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt as _;
use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy};
use tokio::task::JoinSet;

use crate::consumer::Consumer;
use crate::error::{ConsumerError, ConsumerErrorKind};
use crate::record::ConsumerRecord;
use crate::shard::ShardStream;

/// The error a [`consume_with`](Consumer::consume_with) handler returns.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

impl<T: Send + 'static> Consumer<T> {
    /// Runs `handler` on every record of every shard this worker holds, shards in parallel and
    /// records of one shard in order, staging each record once its handler succeeded and
    /// checkpointing by `policy` (every N records or T time, whichever comes first;
    /// [`CheckpointPolicy::default`]: 1000 records or 5 s).
    ///
    /// Returns `Ok(())` once the consumer was [shut down](Consumer::shutdown) (from another
    /// task, or by [`shutdown_on`](crate::ConsumerBuilder::shutdown_on)) and every shard
    /// stopped. When a handler fails, or a record cannot be read, the consumer shuts down
    /// cleanly (every shard checkpoints what was processed and releases its lease) and the
    /// error is returned: a new consumer resumes at the record that failed.
    ///
    /// # Errors
    ///
    /// [`ConsumerErrorKind::Handler`] with the handler's error as the source;
    /// [`ConsumerErrorKind::Deserialize`] or [`ConsumerErrorKind::Kinesis`] for a record that
    /// could not be read; [`ConsumerErrorKind::Usage`] after [`shards`](Consumer::shards).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the handlers at their next await; the shards then checkpoint
    /// what was staged and release their leases.
    ///
    /// ```no_run
    /// # async fn run(config: kinesis_client::ClientConfig) -> Result<(), kinesis_consumer::ConsumerError> {
    /// use kinesis_client::StreamId;
    /// use kinesis_consumer::{CheckpointPolicy, Consumer};
    /// use kinesis_serde::Utf8;
    ///
    /// let consumer: Consumer<String> = Consumer::builder(&config, "orders".parse::<StreamId>()?, "order-audit")
    ///     .deserializer(Utf8)
    ///     .shutdown_on(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
    ///     .build()
    ///     .await?;
    /// consumer
    ///     .consume_with(CheckpointPolicy::default(), |record| async move {
    ///         println!("{}", record.data());
    ///         Ok(())
    ///     })
    ///     .await
    /// # }
    /// ```
    pub async fn consume_with<F, Fut>(
        &self,
        policy: CheckpointPolicy,
        handler: F,
    ) -> Result<(), ConsumerError>
    where
        F: Fn(ConsumerRecord<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let mut shards = self.shards()?;
        let handler = Arc::new(handler);
        let mut tasks: JoinSet<Result<(), ConsumerError>> = JoinSet::new();
        let mut failure: Option<ConsumerError> = None;
        let mut stopping: Option<tokio::task::JoinHandle<()>> = None;
        let on_result = |result: Result<Result<(), ConsumerError>, tokio::task::JoinError>,
                         failure: &mut Option<ConsumerError>| {
            let error = match result {
                Ok(Ok(())) => return false,
                Ok(Err(e)) => e,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => return false,
            };
            if failure.is_none() {
                *failure = Some(error);
                return true;
            }
            false
        };
        loop {
            tokio::select! {
                shard = shards.next() => match shard {
                    Some(shard) => {
                        tasks.spawn(process(shard, policy.clone(), Arc::clone(&handler)));
                    }
                    None => break,
                },
                Some(result) = tasks.join_next() => {
                    if on_result(result, &mut failure) && stopping.is_none() {
                        let consumer = self.clone();
                        stopping = Some(tokio::spawn(async move { consumer.shutdown().await }));
                    }
                }
            }
        }
        while let Some(result) = tasks.join_next().await {
            on_result(result, &mut failure);
        }
        if let Some(stopping) = stopping {
            let _ = stopping.await;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Handles one shard's records in order.
async fn process<T, F, Fut>(
    mut shard: ShardStream<T>,
    policy: CheckpointPolicy,
    handler: Arc<F>,
) -> Result<(), ConsumerError>
where
    F: Fn(ConsumerRecord<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let batching = BatchingCheckpointer::new(shard.checkpointer().clone(), policy);
    loop {
        let deadline = batching.next_deadline();
        let item = tokio::select! {
            item = shard.next() => item,
            () = sleep_until_opt(deadline), if deadline.is_some() => {
                if let Err(e) = batching.tick().await {
                    if e.is_lease_lost() {
                        return Ok(());
                    }
                    tracing::warn!(shard_id = %shard.shard_id(), error = %e, "periodic checkpoint failed");
                }
                continue;
            }
        };
        let record = match item {
            None => return Ok(()),
            Some(Ok(record)) => record,
            Some(Err(e)) => return Err(e),
        };
        let position = record.position();
        if let Err(e) = handler(record).await {
            return Err(ConsumerError::new(
                ConsumerErrorKind::Handler,
                "the record handler failed",
            )
            .with_boxed_source(e)
            .for_shard(shard.shard_id())
            .at(position));
        }
        if let Err(e) = batching.record_processed(position).await {
            if e.is_lease_lost() {
                // Another worker has the shard now; its stream ends here.
                return Ok(());
            }
            tracing::warn!(shard_id = %shard.shard_id(), error = %e, "checkpoint failed; it is tried again with the next batch");
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
