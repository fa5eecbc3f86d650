//! One shard's record processor: initialize, records, the end, and the checkpoints it asks for
//! along the way.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use kinesis_client::SequenceNumber;
use kinesis_consumer::{ConsumerRecord, ShardStream, ShardStreamEnd};
use kinesis_kcl_compat::multilang::{
    CheckpointRequest, CheckpointResult, FromProcessor, Record, ToProcessor,
};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};
use kinesis_lease::{Checkpointer, LeaseErrorKind};

use super::child::{ChildError, ChildProcess, Received};

/// What a session needs to know.
#[derive(Clone, Debug)]
pub(crate) struct SessionSettings {
    pub(crate) command: Vec<String>,
    pub(crate) max_records: usize,
    pub(crate) response_timeout: Option<Duration>,
}

/// Runs the processor of one shard until the shard stream ends, then tells the processor why.
/// A processor that fails (exits, hangs, answers out of turn) is killed and the stream dropped:
/// the lease is released with the processor's last checkpoint, and the shard starts again
/// with a new processor wherever it is taken next.
pub(crate) async fn run(mut stream: ShardStream<Bytes>, settings: SessionSettings) {
    let shard_id = stream.shard_id().to_string();
    // The processor may checkpoint after the stream ended (at the shard's end, or when asked
    // to shut down): the final checkpoint waits until the stream is dropped.
    stream.defer_final_checkpoint();
    let checkpointer = stream.checkpointer().clone();
    let mut child =
        match ChildProcess::spawn(&settings.command, &shard_id, settings.response_timeout) {
            Ok(child) => child,
            Err(e) => {
                tracing::error!(shard_id = %shard_id, "{e}; releasing the lease");
                return;
            }
        };
    let mut state = State {
        checkpointer,
        last_delivered: None,
        timeout: settings.response_timeout,
    };
    let outcome = drive(&mut child, &mut stream, &settings, &mut state).await;
    // Dropping the stream writes the final checkpoint (what the processor checkpointed last)
    // and releases the lease, without waiting for the process to exit.
    drop(stream);
    match outcome {
        Ok(()) => child.finish().await,
        Err(e) => {
            tracing::error!(
                shard_id = %shard_id,
                "{e}; killing the record processor and releasing the lease (the shard restarts from its last checkpoint)"
            );
            child.kill().await;
        }
    }
}

struct State {
    checkpointer: Checkpointer,
    last_delivered: Option<ExtendedSequenceNumber>,
    timeout: Option<Duration>,
}

async fn drive(
    child: &mut ChildProcess,
    stream: &mut ShardStream<Bytes>,
    settings: &SessionSettings,
    state: &mut State,
) -> Result<(), ChildError> {
    let start = state.checkpointer.last_checkpoint();
    let initialize = ToProcessor::Initialize {
        shard_id: stream.shard_id().to_string(),
        sequence_number: start.as_ref().map(|c| c.kcl_checkpoint().to_owned()),
        sub_sequence_number: start.as_ref().map(Checkpoint::sub_sequence_number),
    };
    exchange(child, &initialize, state, false).await?;

    let mut batch = Vec::with_capacity(settings.max_records);
    loop {
        batch.clear();
        // The first record waits; the rest are what is already there, up to the limit.
        match stream.next().await {
            Some(item) => take(item, &mut batch),
            None => break,
        }
        while batch.len() < settings.max_records {
            match futures_util::FutureExt::now_or_never(stream.next()) {
                Some(Some(item)) => take(item, &mut batch),
                _ => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        if let Some(last) = batch.last() {
            state.last_delivered = Some(last.position());
        }
        let message = ToProcessor::ProcessRecords {
            records: batch.iter().map(to_message_record).collect(),
            millis_behind_latest: None,
        };
        exchange(child, &message, state, true).await?;
    }

    let (message, may_checkpoint) = match stream.end_reason() {
        Some(ShardStreamEnd::ShardEnd) => (ToProcessor::ShardEnded, true),
        Some(ShardStreamEnd::LeaseLost) => (ToProcessor::LeaseLost, false),
        // Shutting down, handed over to another worker (KCL 3.x), a fetch that failed for good:
        // the lease is still held and the processor may checkpoint.
        _ => (ToProcessor::ShutdownRequested, true),
    };
    exchange(child, &message, state, may_checkpoint).await
}

/// Takes a record; a failed fetch (the stream's last item) is logged, and the stream ends.
fn take(
    item: Result<ConsumerRecord<Bytes>, kinesis_consumer::ConsumerError>,
    batch: &mut Vec<ConsumerRecord<Bytes>>,
) {
    match item {
        Ok(record) => batch.push(record),
        // The shard task's span names the shard.
        Err(e) => tracing::warn!("the shard's records cannot be read any more: {e}"),
    }
}

fn to_message_record(record: &ConsumerRecord<Bytes>) -> Record {
    let mut out = Record::new(
        record.data().clone(),
        record.partition_key(),
        record.sequence_number().as_str(),
    )
    .with_sub_sequence_number(record.sub_sequence_number().unwrap_or(0));
    if let Some(millis) = record
        .approximate_arrival_timestamp()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
    {
        out = out.with_arrival_millis(millis);
    }
    out
}

/// Sends `message` and handles the processor's checkpoint requests until its status arrives.
async fn exchange(
    child: &mut ChildProcess,
    message: &ToProcessor,
    state: &mut State,
    may_checkpoint: bool,
) -> Result<(), ChildError> {
    // The timeout bounds the whole exchange: the write, and every answer until the status.
    let deadline = state.timeout.map(|t| tokio::time::Instant::now() + t);
    child.send(message).await?;
    loop {
        let received = child.receive(deadline).await?;
        let message_in = match received {
            Received::Message(m) => m,
            Received::BadCheckpoint(e) => {
                tracing::info!(
                    shard_id = %state.checkpointer.lease_key(),
                    "checkpoint request refused: {e}"
                );
                let answer = ToProcessor::Checkpoint(CheckpointResult::answer(
                    &CheckpointRequest::everything(),
                    Some("IllegalArgumentException".to_owned()),
                ));
                child.send(&answer).await?;
                continue;
            }
        };
        match message_in {
            FromProcessor::Status { response_for } => {
                if response_for == message.action() {
                    return Ok(());
                }
                return Err(ChildError::WrongStatus {
                    expected: message.action().to_owned(),
                    got: response_for,
                });
            }
            FromProcessor::Checkpoint(request) => {
                let at_shard_end = matches!(message, ToProcessor::ShardEnded);
                let error = if may_checkpoint {
                    checkpoint(state, &request, at_shard_end).await
                } else {
                    Some("InvalidStateException".to_owned())
                };
                if let Some(error) = &error {
                    tracing::info!(
                        shard_id = %state.checkpointer.lease_key(),
                        "checkpoint at {:?} refused: {error}",
                        request.sequence_number
                    );
                }
                let answer = ToProcessor::Checkpoint(CheckpointResult::answer(&request, error));
                child.send(&answer).await?;
            }
            _ => {}
        }
    }
}

/// Writes the checkpoint a processor asked for; returns the name of the Java exception the KCL
/// would answer with when it cannot.
async fn checkpoint(
    state: &State,
    request: &CheckpointRequest,
    at_shard_end: bool,
) -> Option<String> {
    let target = match &request.sequence_number {
        // Everything delivered so far.
        None => state.last_delivered.clone(),
        // `SHARD_END` by name, which some processors send at the end: as the KCL, only once the
        // shard has ended (before that it lies beyond the last record delivered).
        Some(s) if s == "SHARD_END" => {
            if !at_shard_end {
                return Some("IllegalArgumentException".to_owned());
            }
            state.last_delivered.clone()
        }
        Some(s) => match SequenceNumber::new(s.as_str()) {
            Ok(seq) => Some(ExtendedSequenceNumber::new(
                seq,
                request.sub_sequence_number.unwrap_or(0),
            )),
            Err(_) => return Some("IllegalArgumentException".to_owned()),
        },
    };
    let Some(target) = target else {
        // Nothing delivered yet: the checkpoint stays where it is.
        return None;
    };
    let current = state
        .checkpointer
        .last_checkpoint()
        .and_then(|c| c.sequence().cloned());
    if state.last_delivered.is_none() && current.as_ref() == Some(&target) {
        // The current checkpoint again (the Java daemon allows it): nothing to write.
        return None;
    }
    let beyond_delivered = state
        .last_delivered
        .as_ref()
        .is_none_or(|last| target > *last);
    let before_checkpoint = current.is_some_and(|current| target < current);
    if beyond_delivered || before_checkpoint {
        return Some("IllegalArgumentException".to_owned());
    }
    state.checkpointer.stage(target);
    match state.checkpointer.checkpoint().await {
        Ok(()) => None,
        Err(e) => Some(
            match e.kind() {
                LeaseErrorKind::LeaseLost => "ShutdownException",
                _ if throttled(&e) => "ThrottlingException",
                _ => "KinesisClientLibDependencyException",
            }
            .to_owned(),
        ),
    }
}

/// Whether the lease table's error was DynamoDB throttling (as the client classified it).
fn throttled(error: &kinesis_lease::LeaseError) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(client) = e.downcast_ref::<kinesis_client::Error>() {
            return client.is_throttling();
        }
        next = e.source();
    }
    false
}
