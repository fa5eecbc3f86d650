//! A Rust record processor under a MultiLangDaemon — the Java KCL's or `kinesis multilang` —
//! with the handler shape of [`Consumer::consume_with`](kinesis_consumer::Consumer::consume_with):
//! one call per record, checkpoints by a [`CheckpointPolicy`].
//!
//! The daemon runs the binary once per shard and talks to it on stdin and stdout, so the
//! binary must write nothing else to stdout: send logs to stderr (the daemons log it).
//!
//! ```no_run
//! use kinesis_consumer::ConsumerRecord;
//! use kinesis_lease::checkpointer::CheckpointPolicy;
//! use kinesis_multilang::processor::Processor;
//! use kinesis_serde::Utf8;
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     Processor::new()
//!         .deserializer(Utf8)
//!         .checkpoints(CheckpointPolicy::default().with_max_records(100))
//!         .run(|record: ConsumerRecord<String>| async move {
//!             eprintln!("{} {}: {}", record.shard_id(), record.position(), record.data());
//!             Ok(())
//!         })
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! What the runtime does with each message:
//!
//! - `processRecords`: each record is deserialized and handed to the handler, in order. When
//!   the policy's record count is reached, and after a batch once its interval has passed, the
//!   last record handled is checkpointed (a request to the daemon, which writes it).
//! - `shardEnded`: everything handled is checkpointed (the checkpoint becomes `SHARD_END`).
//! - `shutdownRequested`: the last record handled is checkpointed.
//! - `leaseLost`: nothing can be checkpointed any more.
//!
//! A handler error or a record that cannot be deserialized ends [`Processor::run`] with the
//! error: the binary should exit with a failure, and the daemon starts the shard again from its
//! last checkpoint (at least once). A checkpoint the daemon refuses because the lease moved on
//! (`ShutdownException`) ends checkpointing for this shard; one refused for throttling is tried
//! again at the next trigger.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use kinesis_client::{SequenceNumber, ShardId};
use kinesis_consumer::ConsumerRecord;
use kinesis_kcl_compat::multilang::{
    CheckpointRequest, FromProcessor, MessageError, Record, ToProcessor,
};
use kinesis_lease::checkpointer::CheckpointPolicy;
use kinesis_serde::{Deserializer, Raw};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// The error a handler returns.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Why [`Processor::run`] stopped before its input ended.
#[derive(Debug)]
pub struct ProcessorError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ProcessorError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

impl fmt::Display for ProcessorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ProcessorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A record processor for a MultiLangDaemon. See the [module documentation](self).
pub struct Processor<T> {
    deserializer: Arc<dyn Deserializer<T> + Send + Sync>,
    policy: CheckpointPolicy,
}

impl<T> fmt::Debug for Processor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processor")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Processor<Bytes> {
    /// A processor of raw payloads that checkpoints by the default policy (every 1000 records
    /// or 5 seconds).
    pub fn new() -> Self {
        Self {
            deserializer: Arc::new(Raw),
            policy: CheckpointPolicy::default(),
        }
    }
}

impl Default for Processor<Bytes> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> Processor<T> {
    /// Deserializes payloads with `deserializer` before the handler sees them.
    pub fn deserializer<U>(
        self,
        deserializer: impl Deserializer<U> + Send + Sync + 'static,
    ) -> Processor<U> {
        Processor {
            deserializer: Arc::new(deserializer),
            policy: self.policy,
        }
    }

    /// When to checkpoint while records are processed.
    #[must_use]
    pub fn checkpoints(mut self, policy: CheckpointPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Processes the daemon's messages on stdin, answering on stdout, until stdin ends.
    ///
    /// # Errors
    ///
    /// A handler error, a payload that cannot be deserialized, a line from the daemon that is
    /// not a message, or stdin/stdout failing.
    pub async fn run<F, Fut>(self, handler: F) -> Result<(), ProcessorError>
    where
        F: Fn(ConsumerRecord<T>) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        self.run_on(stdin, tokio::io::stdout(), handler).await
    }

    /// [`run`](Self::run) on other streams than stdin and stdout.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub async fn run_on<R, W, F, Fut>(
        self,
        input: R,
        output: W,
        handler: F,
    ) -> Result<(), ProcessorError>
    where
        R: AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
        F: Fn(ConsumerRecord<T>) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        let mut io = Io {
            lines: input.lines(),
            output,
        };
        let mut state = State {
            shard_id: None,
            last_handled: None,
            since_checkpoint: 0,
            last_checkpoint_at: Instant::now(),
            can_checkpoint: true,
        };
        while let Some(message) = io.next_message().await? {
            match &message {
                ToProcessor::Initialize {
                    shard_id,
                    sequence_number,
                    ..
                } => {
                    let id = ShardId::new(shard_id.as_str()).map_err(|e| {
                        ProcessorError::with_source(format!("bad shard id {shard_id:?}"), e)
                    })?;
                    tracing::info!(
                        shard = %id,
                        "processing from {}",
                        sequence_number.as_deref().unwrap_or("the daemon's default position")
                    );
                    state.shard_id = Some(id);
                    state.last_checkpoint_at = Instant::now();
                }
                ToProcessor::ProcessRecords { records, .. } => {
                    for record in records {
                        let record = self.record(&state, record)?;
                        let position = (
                            record.sequence_number().clone(),
                            record.sub_sequence_number(),
                        );
                        handler(record).await.map_err(|e| {
                            ProcessorError::with_source(
                                format!("the handler failed on record {}", position.0),
                                e,
                            )
                        })?;
                        state.last_handled = Some(position);
                        state.since_checkpoint += 1;
                        if self
                            .policy
                            .max_records()
                            .is_some_and(|max| state.since_checkpoint >= max)
                        {
                            checkpoint_last(&mut io, &mut state).await?;
                        }
                    }
                    if state.since_checkpoint > 0
                        && self
                            .policy
                            .max_interval()
                            .is_some_and(|max| state.last_checkpoint_at.elapsed() >= max)
                    {
                        checkpoint_last(&mut io, &mut state).await?;
                    }
                }
                ToProcessor::ShardEnded => {
                    tracing::info!(shard = %state.shard_name(), "shard ended");
                    if state.can_checkpoint {
                        checkpoint(&mut io, &mut state, CheckpointRequest::everything()).await?;
                    }
                }
                ToProcessor::ShutdownRequested => {
                    tracing::info!(shard = %state.shard_name(), "shutdown requested");
                    checkpoint_last(&mut io, &mut state).await?;
                }
                ToProcessor::Shutdown { reason } if reason.as_deref() == Some("TERMINATE") => {
                    if state.can_checkpoint {
                        checkpoint(&mut io, &mut state, CheckpointRequest::everything()).await?;
                    }
                }
                ToProcessor::LeaseLost | ToProcessor::Shutdown { .. } => {
                    tracing::info!(shard = %state.shard_name(), "lease lost");
                    state.can_checkpoint = false;
                }
                // A checkpoint answer nobody asked for: ignored.
                _ => continue,
            }
            io.send(&FromProcessor::status_for(&message)).await?;
        }
        Ok(())
    }

    fn record(&self, state: &State, record: &Record) -> Result<ConsumerRecord<T>, ProcessorError> {
        let shard_id = state
            .shard_id
            .clone()
            .ok_or_else(|| ProcessorError::new("records arrived before initialize"))?;
        let sequence_number = SequenceNumber::new(record.sequence_number.as_str())
            .map_err(|e| ProcessorError::with_source("a record's sequence number", e))?;
        let data = self
            .deserializer
            .deserialize(record.data.clone())
            .map_err(|e| {
                ProcessorError::with_source(
                    format!(
                        "record {}:{} of {shard_id} cannot be deserialized",
                        record.sequence_number,
                        record.sub_sequence_number.unwrap_or(0)
                    ),
                    e,
                )
            })?;
        let mut out = ConsumerRecord::new(
            shard_id,
            sequence_number,
            record.partition_key.clone(),
            data,
        );
        if let Some(sub) = record.sub_sequence_number.filter(|s| *s > 0) {
            out = out.with_sub_sequence_number(sub);
        }
        if let Some(millis) = record
            .approximate_arrival_timestamp
            .and_then(|ms| u64::try_from(ms).ok())
        {
            out = out.with_arrival_timestamp(UNIX_EPOCH + std::time::Duration::from_millis(millis));
        }
        Ok(out)
    }
}

struct State {
    shard_id: Option<ShardId>,
    last_handled: Option<(SequenceNumber, Option<u64>)>,
    since_checkpoint: u64,
    last_checkpoint_at: Instant,
    can_checkpoint: bool,
}

impl State {
    fn shard_name(&self) -> &str {
        self.shard_id
            .as_ref()
            .map_or("(not initialized)", |s| s.as_str())
    }
}

struct Io<R, W> {
    lines: tokio::io::Lines<R>,
    output: W,
}

impl<R: AsyncBufRead + Unpin, W: AsyncWrite + Unpin> Io<R, W> {
    async fn next_message(&mut self) -> Result<Option<ToProcessor>, ProcessorError> {
        loop {
            let line = self
                .lines
                .next_line()
                .await
                .map_err(|e| ProcessorError::with_source("reading from the daemon", e))?;
            let Some(line) = line else { return Ok(None) };
            if line.trim().is_empty() {
                continue;
            }
            return ToProcessor::parse(&line)
                .map(Some)
                .map_err(|e: MessageError| {
                    ProcessorError::with_source("the daemon sent a line that is not a message", e)
                });
        }
    }

    async fn send(&mut self, message: &FromProcessor) -> Result<(), ProcessorError> {
        let mut line = message.to_line();
        line.push('\n');
        self.output
            .write_all(line.as_bytes())
            .await
            .map_err(|e| ProcessorError::with_source("writing to the daemon", e))?;
        self.output
            .flush()
            .await
            .map_err(|e| ProcessorError::with_source("writing to the daemon", e))
    }
}

/// Checkpoints the last record handled, if there is one not yet checkpointed.
async fn checkpoint_last<R, W>(io: &mut Io<R, W>, state: &mut State) -> Result<(), ProcessorError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if !state.can_checkpoint || state.since_checkpoint == 0 {
        return Ok(());
    }
    let Some((seq, sub)) = state.last_handled.clone() else {
        return Ok(());
    };
    checkpoint(
        io,
        state,
        CheckpointRequest::at(seq.as_str(), Some(sub.unwrap_or(0))),
    )
    .await
}

/// Sends a checkpoint request and reads the daemon's answer.
async fn checkpoint<R, W>(
    io: &mut Io<R, W>,
    state: &mut State,
    request: CheckpointRequest,
) -> Result<(), ProcessorError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    io.send(&FromProcessor::Checkpoint(request.clone())).await?;
    let answer = io.next_message().await?.ok_or_else(|| {
        ProcessorError::new("the daemon closed stdin before answering a checkpoint")
    })?;
    let ToProcessor::Checkpoint(result) = answer else {
        return Err(ProcessorError::new(format!(
            "the daemon answered a checkpoint with {:?}",
            answer.action()
        )));
    };
    state.last_checkpoint_at = Instant::now();
    match result.error.as_deref() {
        None => state.since_checkpoint = 0,
        Some("ShutdownException") => {
            // Another worker has the lease: nothing more can be checkpointed here.
            state.can_checkpoint = false;
            tracing::warn!("checkpoint refused: the lease moved to another worker");
        }
        Some(error) => {
            // Throttled or failed: the next trigger tries again.
            tracing::warn!(
                "checkpoint at {:?} refused by the daemon: {error}",
                request.sequence_number
            );
        }
    }
    Ok(())
}
