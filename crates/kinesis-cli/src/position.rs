//! The checkpoint that makes a consumer start at a given record or time.
//!
//! A checkpoint means "up to and including", and a consumer resumes with the record after it.
//! To start *at* a record (or at the first record of a time), the checkpoint must be the record
//! just before it, which Kinesis cannot name directly: it is found by reading the shard from a
//! little earlier, in widening windows of time, back to the trim horizon if needed.

use std::time::{Duration, SystemTime};

use kinesis_client::{Client, Record, SequenceNumber, ShardId, StartingPosition, StreamId};
use kinesis_kcl_compat::aggregation::{Decoded, decode};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};

use crate::error::{CliError, Result};

/// Where the consumer should start.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// At this user record (a sub-sequence number above 0 is a record inside an aggregate).
    Record(ExtendedSequenceNumber),
    /// At the first record that arrived at or after this time.
    Time(SystemTime),
}

/// The checkpoint found, and the first record the consumer will read after it.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) checkpoint: Checkpoint,
    /// The first record at the target, `None` when none has arrived yet.
    pub(crate) first: Option<SequenceNumber>,
}

/// How far back each widening step looks from the target's time; then the trim horizon.
const WINDOWS: [Duration; 7] = [
    Duration::from_secs(1),
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(600),
    Duration::from_secs(3_600),
    Duration::from_secs(6 * 3_600),
    Duration::from_secs(24 * 3_600),
];

/// At most this many `GetRecords` calls in one search.
const MAX_CALLS: u32 = 20_000;

/// Finds the checkpoint that starts a consumer of `shard` at `target`.
///
/// # Errors
///
/// Kinesis errors (a shard that does not exist, a sequence number not in the shard), or a
/// search that needs more than [`MAX_CALLS`] calls or `timeout`.
pub(crate) async fn checkpoint_before(
    client: &Client,
    stream: &StreamId,
    shard: &ShardId,
    target: Target,
    timeout: Duration,
) -> Result<Resolved> {
    let what = match &target {
        Target::Record(esn) => format!("record {esn}"),
        Target::Time(t) => format!("time {}", crate::time::format_time(*t)),
    };
    let search = async {
        let mut reader = Reader::new(client, stream, shard);
        let (first, anchor) = match &target {
            Target::Record(esn) if esn.sub_sequence_number() > 0 => {
                // Inside an aggregate: the user record before it is in the same aggregate.
                let (seq, sub) = esn.clone().into_parts();
                return Ok(Resolved {
                    checkpoint: Checkpoint::from(ExtendedSequenceNumber::new(seq.clone(), sub - 1)),
                    first: Some(seq),
                });
            }
            Target::Record(esn) => {
                let seq = esn.sequence_number().clone();
                let record = reader
                    .first_at(StartingPosition::AtSequenceNumber(seq.clone()))
                    .await?
                    .ok_or_else(|| {
                        CliError::not_found(format!("no record {seq} in {shard} of {stream}"))
                    })?;
                if *record.sequence_number() != seq {
                    return Err(CliError::not_found(format!(
                        "no record {seq} in {shard} of {stream} (the first record at that position is {})",
                        record.sequence_number()
                    )));
                }
                let anchor = record
                    .approximate_arrival_timestamp()
                    .unwrap_or_else(SystemTime::now);
                (Some(seq), anchor)
            }
            Target::Time(t) => {
                let first = reader.first_at(StartingPosition::AtTimestamp(*t)).await?;
                (first.map(|r| r.sequence_number().clone()), *t)
            }
        };
        for window in WINDOWS.iter().map(Some).chain([None]) {
            let from = match window.and_then(|w| anchor.checked_sub(*w)) {
                Some(t) => StartingPosition::AtTimestamp(t),
                None => StartingPosition::TrimHorizon,
            };
            let trim_horizon = matches!(from, StartingPosition::TrimHorizon);
            // For a time, also stop at the first record of that time: one that arrives during
            // the search must not end up before the checkpoint.
            let until = match &target {
                Target::Time(t) => Some(*t),
                Target::Record(_) => None,
            };
            if let Some(before) = reader.last_before(from, first.as_ref(), until).await? {
                return Ok(Resolved {
                    checkpoint: Checkpoint::from(last_user_record(&before)),
                    first,
                });
            }
            if trim_horizon {
                break;
            }
        }
        // Nothing before the target: read from the start.
        Ok(Resolved {
            checkpoint: Checkpoint::TRIM_HORIZON,
            first,
        })
    };
    tokio::time::timeout(timeout, search).await.map_err(|_| {
        CliError::failure(format!(
            "finding the record before {what} in {shard} of {stream} took longer than {timeout:?}"
        ))
    })?
}

/// The position of the last user record of `record` (the last of its aggregate).
fn last_user_record(record: &Record) -> ExtendedSequenceNumber {
    let sub = match decode(record.data()) {
        Ok(Decoded::Aggregate(aggregate)) if !aggregate.is_empty() => aggregate.len() as u64 - 1,
        _ => 0,
    };
    ExtendedSequenceNumber::new(record.sequence_number().clone(), sub)
}

/// Reads one shard from a position, within a budget of calls.
struct Reader<'a> {
    client: &'a Client,
    stream: &'a StreamId,
    shard: &'a ShardId,
    calls: u32,
}

impl<'a> Reader<'a> {
    fn new(client: &'a Client, stream: &'a StreamId, shard: &'a ShardId) -> Self {
        Self {
            client,
            stream,
            shard,
            calls: 0,
        }
    }

    /// Calls `each` with every record from `from` to the tip (or the end) of the shard, until
    /// it returns `false`.
    async fn scan(
        &mut self,
        from: StartingPosition,
        mut each: impl FnMut(&Record) -> bool,
    ) -> Result<()> {
        let context = || format!("reading {} of {}", self.shard, self.stream);
        let mut iterator = self
            .client
            .get_shard_iterator(self.stream, self.shard, from)
            .await
            .map_err(|e| CliError::client(context(), &e))?;
        loop {
            self.calls += 1;
            if self.calls > MAX_CALLS {
                return Err(CliError::failure(format!(
                    "{}: more than {MAX_CALLS} GetRecords calls; give a later time or sequence number",
                    context()
                )));
            }
            let output = self
                .client
                .get_records(&iterator, None)
                .await
                .map_err(|e| CliError::client(context(), &e))?;
            for record in output.records() {
                if !each(record) {
                    return Ok(());
                }
            }
            let caught_up = output.records().is_empty() && output.millis_behind_latest() == Some(0);
            match output.next_shard_iterator() {
                Some(next) if !caught_up => iterator = next.clone(),
                _ => return Ok(()),
            }
        }
    }

    /// The first record at or after `from`, if any has arrived.
    async fn first_at(&mut self, from: StartingPosition) -> Result<Option<Record>> {
        let mut first = None;
        self.scan(from, |r| {
            first = Some(r.clone());
            false
        })
        .await?;
        Ok(first)
    }

    /// The last record from `from` on whose sequence number is below `limit` and, with
    /// `until`, that arrived before that time.
    async fn last_before(
        &mut self,
        from: StartingPosition,
        limit: Option<&SequenceNumber>,
        until: Option<SystemTime>,
    ) -> Result<Option<Record>> {
        let mut last = None;
        self.scan(from, |r| {
            if limit.is_some_and(|l| r.sequence_number() >= l) {
                return false;
            }
            if until.is_some_and(|t| r.approximate_arrival_timestamp().is_some_and(|at| at >= t)) {
                return false;
            }
            last = Some(r.clone());
            true
        })
        .await?;
        Ok(last)
    }
}
