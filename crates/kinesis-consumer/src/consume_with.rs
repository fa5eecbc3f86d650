//! [`Consumer::consume_with`]: a record handler per record, checkpoints batched.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt as _;
use kinesis_lease::checkpointer::{BatchingCheckpointer, CheckpointPolicy};
use tokio::task::JoinSet;

use bytes::Bytes;

use crate::consumer::Consumer;
use crate::error::{ConsumerError, ConsumerErrorKind};
use crate::events::{DiagnosticEvent, Diagnostics};
use crate::record::ConsumerRecord;
use crate::shard::ShardStream;
use crate::shards::Shards;

/// The error a [`consume_with`](Consumer::consume_with) handler returns.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// When [`consume_with`](Consumer::consume_with) checkpoints.
///
/// ```
/// use std::time::Duration;
/// use kinesis_consumer::{CheckpointBehaviour, CheckpointPolicy};
///
/// // Every 1000 records or 5 s (a `CheckpointPolicy` converts into this).
/// let batched: CheckpointBehaviour = CheckpointPolicy::default().into();
/// // The same, and also between any two records of one partition key.
/// let partitioned = CheckpointBehaviour::PartitionedByKey(
///     CheckpointPolicy::default().with_max_interval(Duration::from_secs(60)),
/// );
/// # let _ = (batched, partitioned);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointBehaviour {
    /// Checkpoint by the policy: every N records or T time, whichever comes first.
    Batched(CheckpointPolicy),
    /// As `Batched`, and before handling a record whose partition key was already handled since
    /// the last checkpoint, so that after a failure at most one record per partition key is
    /// handled again (zio-kinesis's `partitionedCheckpoints`).
    PartitionedByKey(CheckpointPolicy),
}

impl From<CheckpointPolicy> for CheckpointBehaviour {
    fn from(policy: CheckpointPolicy) -> Self {
        CheckpointBehaviour::Batched(policy)
    }
}

impl CheckpointBehaviour {
    fn policy(&self) -> &CheckpointPolicy {
        match self {
            CheckpointBehaviour::Batched(p) | CheckpointBehaviour::PartitionedByKey(p) => p,
        }
    }
}

/// A dead-letter handler: given a record that could not be deserialized (its payload's bytes as
/// read) and the error, it stores or forwards it; the record is skipped once it returns.
pub type DeadLetter =
    Arc<dyn Fn(ConsumerRecord<Bytes>, ConsumerError) -> BoxFuture<'static, ()> + Send + Sync>;

/// A boxed, sendable future.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`consume_with`](Consumer::consume_with) does with a record whose payload cannot be
/// deserialized (a poison record). Set with
/// [`ConsumerBuilder::on_poison_record`](crate::ConsumerBuilder::on_poison_record).
///
/// The shard streams of [`Consumer::shards`] always deliver such a record as an `Err` item
/// carrying its [`raw_record`](ConsumerError::raw_record); the stream goes on after it.
///
/// ```
/// use kinesis_consumer::PoisonRecords;
///
/// // Stop, as without a policy (a restart stops at the same record again):
/// let fail = PoisonRecords::Fail;
/// // Skip it: staged as processed, reported as DiagnosticEvent::PoisonRecordSkipped and in the
/// // PoisonRecordsSkipped metric:
/// let skip = PoisonRecords::skip();
/// // Skip it after handing its bytes to a dead-letter store:
/// let dead_letter = PoisonRecords::dead_letter(|raw, error| async move {
///     eprintln!("{} bytes at {}: {error}", raw.data().len(), raw.position());
/// });
/// # let _ = (fail, skip, dead_letter);
/// ```
#[non_exhaustive]
#[derive(Clone, Default)]
pub enum PoisonRecords {
    /// `consume_with` returns the [`ConsumerErrorKind::Deserialize`] error, after a clean
    /// shutdown (the default: nothing is skipped without being asked for).
    #[default]
    Fail,
    /// The record is skipped: handed to the dead-letter handler first (if any, and awaited),
    /// then staged like a processed record and reported.
    Skip {
        /// Where the record goes before it is skipped.
        dead_letter: Option<DeadLetter>,
    },
}

impl std::fmt::Debug for PoisonRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoisonRecords::Fail => f.write_str("Fail"),
            PoisonRecords::Skip { dead_letter } => f
                .debug_struct("Skip")
                .field("dead_letter", &dead_letter.is_some())
                .finish(),
        }
    }
}

impl PoisonRecords {
    /// Skip and report.
    pub fn skip() -> Self {
        PoisonRecords::Skip { dead_letter: None }
    }

    /// Hand to `handler`, then skip and report.
    pub fn dead_letter<F, Fut>(handler: F) -> Self
    where
        F: Fn(ConsumerRecord<Bytes>, ConsumerError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        PoisonRecords::Skip {
            dead_letter: Some(Arc::new(move |raw, error| Box::pin(handler(raw, error)))),
        }
    }
}

impl<T: Send + 'static> Consumer<T> {
    /// Runs `handler` on every record of every shard this worker holds, shards in parallel and
    /// records of one shard in order, staging each record once its handler succeeded and
    /// checkpointing by `checkpoints` (a [`CheckpointPolicy`]: every N records or T time,
    /// whichever comes first, [`CheckpointPolicy::default`] being 1000 records or 5 s; or a
    /// [`CheckpointBehaviour`]).
    ///
    /// Returns `Ok(())` once the consumer was [shut down](Consumer::shutdown) (from another
    /// task, or by [`shutdown_on`](crate::ConsumerBuilder::shutdown_on)) and every shard
    /// stopped. When a handler fails, or a record cannot be read, the consumer shuts down
    /// cleanly (every shard checkpoints what was processed and releases its lease) and the
    /// error is returned: a new consumer resumes at the record that failed. A record whose
    /// payload cannot be deserialized is handled by the consumer's [`PoisonRecords`] policy
    /// (failing by default).
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
        checkpoints: impl Into<CheckpointBehaviour>,
        handler: F,
    ) -> Result<(), ConsumerError>
    where
        F: Fn(ConsumerRecord<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let shards = self.shards()?;
        let poison = Poison {
            policy: self.poison_records().clone(),
            diagnostics: self.diagnostics().clone(),
        };
        let consumer = self.clone();
        consume(
            shards,
            checkpoints.into(),
            handler,
            poison,
            move || async move { consumer.shutdown().await },
        )
        .await
    }
}

/// What [`consume_with`](Consumer::consume_with) does, for any source of shard streams: runs
/// `handler` on the records of every shard stream of `shards`, in parallel, until `shards`
/// ends. On the first failure, `shutdown` is started (once) so that every shard stream ends;
/// the failure is returned once `shards` ended and `shutdown` completed.
pub(crate) async fn consume<T, F, Fut, S, SFut>(
    mut shards: Shards<T>,
    behaviour: CheckpointBehaviour,
    handler: F,
    poison: Poison,
    shutdown: S,
) -> Result<(), ConsumerError>
where
    T: Send + 'static,
    F: Fn(ConsumerRecord<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    S: FnOnce() -> SFut,
    SFut: Future<Output = ()> + Send + 'static,
{
    let handler = Arc::new(handler);
    let mut shutdown = Some(shutdown);
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
                    tasks.spawn(process(shard, behaviour.clone(), Arc::clone(&handler), poison.clone()));
                }
                None => break,
            },
            Some(result) = tasks.join_next() => {
                if on_result(result, &mut failure)
                    && let Some(shutdown) = shutdown.take()
                {
                    stopping = Some(tokio::spawn(shutdown()));
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

/// What a shard's loop does with a poison record.
#[derive(Clone)]
pub(crate) struct Poison {
    pub(crate) policy: PoisonRecords,
    pub(crate) diagnostics: Diagnostics,
}

/// Handles one shard's records in order.
async fn process<T, F, Fut>(
    mut shard: ShardStream<T>,
    behaviour: CheckpointBehaviour,
    handler: Arc<F>,
    poison: Poison,
) -> Result<(), ConsumerError>
where
    F: Fn(ConsumerRecord<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let batching =
        BatchingCheckpointer::new(shard.checkpointer().clone(), behaviour.policy().clone());
    let partitioned = matches!(behaviour, CheckpointBehaviour::PartitionedByKey(_));
    // Partition keys handled since the last checkpoint (when partitioned).
    let mut since_checkpoint: HashSet<String> = HashSet::new();
    loop {
        let deadline = batching.next_deadline();
        let item = tokio::select! {
            item = shard.next() => item,
            () = sleep_until_opt(deadline), if deadline.is_some() => {
                match batching.tick().await {
                    Ok(()) => since_checkpoint.clear(),
                    Err(e) if e.is_lease_lost() => return Ok(()),
                    Err(e) => {
                        tracing::warn!(shard_id = %shard.shard_id(), error = %e, "periodic checkpoint failed");
                    }
                }
                continue;
            }
        };
        let record = match item {
            None => return Ok(()),
            Some(Ok(record)) => record,
            Some(Err(e)) => match (&poison.policy, e.kind(), e.record_position().cloned()) {
                (
                    PoisonRecords::Skip { dead_letter },
                    ConsumerErrorKind::Deserialize,
                    Some(position),
                ) => {
                    let report = DiagnosticEvent::PoisonRecordSkipped {
                        shard_id: shard.shard_id().clone(),
                        position: position.clone(),
                        error: e.to_string(),
                    };
                    tracing::warn!(shard_id = %shard.shard_id(), %position, error = %e, "poison record skipped");
                    if let (Some(dead_letter), Some(raw)) = (dead_letter, e.raw_record().cloned()) {
                        dead_letter(raw, e).await;
                    }
                    poison.diagnostics.emit(report);
                    crate::metrics::ShardMetrics::new(
                        poison.diagnostics.telemetry().clone(),
                        shard.shard_id().clone(),
                    )
                    .poison_record_skipped();
                    match batching.record_processed(position).await {
                        Ok(true) => since_checkpoint.clear(),
                        Ok(false) => {}
                        Err(e) if e.is_lease_lost() => return Ok(()),
                        Err(e) => {
                            tracing::warn!(shard_id = %shard.shard_id(), error = %e, "checkpoint failed; it is tried again with the next batch");
                        }
                    }
                    continue;
                }
                _ => return Err(e),
            },
        };
        let position = record.position();
        if partitioned && !since_checkpoint.insert(record.partition_key().to_owned()) {
            // A second record of this key: checkpoint the first one before handling it.
            match batching.checkpoint().await {
                Ok(()) => {
                    since_checkpoint.clear();
                    since_checkpoint.insert(record.partition_key().to_owned());
                }
                Err(e) if e.is_lease_lost() => return Ok(()),
                Err(e) => {
                    return Err(ConsumerError::lease_while("checkpoint failed", e)
                        .for_shard(shard.shard_id()));
                }
            }
        }
        if let Err(e) = handler(record).await {
            return Err(ConsumerError::new(
                ConsumerErrorKind::Handler,
                format!("the record handler failed: {e}"),
            )
            .with_boxed_source(e)
            .for_shard(shard.shard_id())
            .at(position));
        }
        match batching.record_processed(position).await {
            Ok(true) => since_checkpoint.clear(),
            Ok(false) => {}
            // Another worker has the shard now; its stream ends here.
            Err(e) if e.is_lease_lost() => return Ok(()),
            Err(e) => {
                tracing::warn!(shard_id = %shard.shard_id(), error = %e, "checkpoint failed; it is tried again with the next batch");
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
