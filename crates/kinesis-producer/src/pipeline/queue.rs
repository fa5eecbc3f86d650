//! Per-shard queues of entries (single records or aggregates), the batches taken from them, and
//! the buffers kept for the next aggregates.

use std::collections::VecDeque;

use kinesis_client::{PutRecordsEntry, ShardId};
use kinesis_kcl_compat::aggregation::AggregateBuilder;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::*;

/// A Kinesis entry waiting in a shard's queue: one record, or an aggregate of several.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) entry: PutRecordsEntry,
    pub(super) members: Vec<Accepted>,
    pub(super) aggregated: bool,
    /// Not sent before this (the end of its linger time; a retry's pause).
    pub(super) not_before: Instant,
    /// Sent at once when flushing, except for a retry's pause.
    pub(super) retry_pause: bool,
}

impl Entry {
    pub(super) fn size(&self) -> usize {
        self.entry.size()
    }
}

/// An aggregate being filled for one shard.
#[derive(Debug)]
pub(super) struct OpenAggregate {
    pub(super) builder: AggregateBuilder,
    pub(super) members: Vec<Accepted>,
    pub(super) opened_at: Instant,
}

#[derive(Debug)]
pub(super) struct ShardQueue {
    /// The shard it holds entries for.
    pub(super) key: QueueKey,
    pub(super) entries: VecDeque<Entry>,
    pub(super) open: Option<OpenAggregate>,
    /// Calls in flight that carry entries of this shard.
    pub(super) busy: bool,
}

/// The key of a queue: the predicted shard, or none when the map has no shard for the key.
pub(super) type QueueKey = Option<ShardId>;

/// A `PutRecords` call's entries, by queue.
pub(super) struct Batch {
    pub(super) entries: Vec<(QueueKey, Entry)>,
}

impl ShardQueue {
    pub(super) fn new(key: QueueKey) -> Self {
        Self {
            key,
            entries: VecDeque::new(),
            open: None,
            busy: false,
        }
    }
}

/// Buffers of sealed and answered aggregates, kept for the next ones: no allocation, and memory
/// that is still in the cache.
#[derive(Debug, Default)]
pub(super) struct Spare {
    pub(super) builders: Vec<AggregateBuilder>,
    pub(super) members: Vec<Vec<Accepted>>,
}

impl Spare {
    /// At most this many of each are kept.
    const LIMIT: usize = 16;

    pub(super) fn take(&mut self) -> (AggregateBuilder, Vec<Accepted>) {
        (
            self.builders.pop().unwrap_or_default(),
            self.members.pop().unwrap_or_default(),
        )
    }

    pub(super) fn put_builder(&mut self, builder: AggregateBuilder) {
        debug_assert!(builder.is_empty());
        if self.builders.len() < Self::LIMIT {
            self.builders.push(builder);
        }
    }

    pub(super) fn put_members(&mut self, members: Vec<Accepted>) {
        debug_assert!(members.is_empty());
        if members.capacity() > 1 && self.members.len() < Self::LIMIT {
            self.members.push(members);
        }
    }
}

/// A flush waiting for the records accepted before it.
#[derive(Debug)]
pub(super) struct Flush {
    /// The number of the first record accepted after it.
    pub(super) upto: u64,
    /// Records accepted before it and not answered yet.
    pub(super) remaining: usize,
    pub(super) done: oneshot::Sender<()>,
}
