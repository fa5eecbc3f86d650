//! Per-shard queues of entries (single records or aggregates), the batches taken from them, the
//! partition keys in flight, and the buffers kept for the next aggregates.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use kinesis_client::{HashKey, PutRecordsEntry, RecordPosition, ShardId};
use kinesis_kcl_compat::aggregation::AggregateBuilder;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::*;

/// A Kinesis entry waiting in a shard's queue: one record, or an aggregate of several.
#[derive(Debug)]
pub(super) struct Entry {
    /// An aggregate's records, encoded when its call is made, in the call's task (under a
    /// multi-thread runtime, on another core than the engine's); `None` for a single record,
    /// whose Kinesis record is made from its member when it is sent (no copy waits in the
    /// queue).
    pub(super) aggregate: Option<AggregateBuilder>,
    /// The size Kinesis counts: payload plus partition key.
    pub(super) size: usize,
    pub(super) members: Members,
    pub(super) aggregated: bool,
    /// Not sent before this (the end of its linger time; a retry's pause).
    pub(super) not_before: Instant,
    /// Sent at once when flushing, except for a retry's pause.
    pub(super) retry_pause: bool,
}

impl Entry {
    /// A single record.
    pub(super) fn single(record: Accepted, not_before: Instant, retry_pause: bool) -> Self {
        Self {
            aggregate: None,
            size: record.data.len() + record.key.byte_len(),
            members: smallvec::smallvec![record],
            aggregated: false,
            not_before,
            retry_pause,
        }
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// The partition key's hash of a single record; `None` for an aggregate.
    pub(super) fn single_key(&self) -> Option<HashKey> {
        (!self.aggregated).then(|| self.members[0].hash)
    }

    /// What to send; an aggregate is taken out of the entry, to be encoded by the call.
    pub(super) fn take_outgoing(&mut self) -> Outgoing {
        match self.aggregate.take() {
            Some(builder) => Outgoing::Aggregate(builder),
            None => Outgoing::Ready(self.members[0].entry()),
        }
    }
}

/// An entry on its way into a call: a Kinesis record, or an aggregate still to encode.
#[derive(Debug)]
pub(super) enum Outgoing {
    Ready(PutRecordsEntry),
    Aggregate(AggregateBuilder),
}

impl Outgoing {
    /// The Kinesis record; an aggregate's builder is emptied and kept in `spent` for reuse.
    pub(super) fn into_entry(self, spent: &mut Vec<AggregateBuilder>) -> PutRecordsEntry {
        match self {
            Outgoing::Ready(entry) => entry,
            Outgoing::Aggregate(mut builder) => {
                let encoded = builder
                    .finish_and_clear()
                    .expect("a sealed aggregate has records");
                spent.push(builder);
                encoded.into_entry()
            }
        }
    }
}

/// The user records of an entry: a single record is held in place (no allocation per record).
pub(super) type Members = smallvec::SmallVec<[Accepted; 1]>;

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
    /// Calls in flight that carry entries of this queue.
    pub(super) calls: usize,
    /// Of those, calls that carry an aggregate of this queue: while one is in flight, nothing
    /// else of the queue is sent (an aggregate holds many partition keys).
    pub(super) aggregate_calls: usize,
    /// An aggregate of this queue landed on another shard than predicted and waits for a shard
    /// map, which may send its records again: until then nothing else of the queue is sent, so
    /// that the queue's later records of their keys are not stored before them.
    pub(super) parked: bool,
    /// Records the answer being handled put back at its front: the next one goes after them,
    /// so that records sent again keep their order.
    pub(super) retries_in_pass: usize,
}

/// The key of a queue: the predicted shard, or none when the map has no shard for the key.
pub(super) type QueueKey = Option<ShardId>;

/// An aggregate stored on another shard than predicted, waiting for a shard map that lists the
/// shard it landed on, to tell whether that shard owns all its records.
pub(super) struct Parked {
    /// The queue it left from, held meanwhile.
    pub(super) predicted: QueueKey,
    /// Where it was stored.
    pub(super) position: RecordPosition,
    /// Its records, by sub-sequence number.
    pub(super) members: Vec<Accepted>,
}

/// A `PutRecords` call's entries, by queue.
pub(super) struct Batch {
    pub(super) entries: Vec<(QueueKey, Entry)>,
    /// The emptied builders of the aggregates the call encoded, for the next aggregates.
    pub(super) spent: Vec<AggregateBuilder>,
    /// The queues it carries entries of, each once, and whether with an aggregate.
    pub(super) queues: Vec<(QueueKey, bool)>,
}

/// The partition keys (by hash) of single records in calls in flight: a key is in at most one
/// call at a time, so the records of a key are stored in the order they were accepted while
/// other keys of the same shard go in other calls.
#[derive(Debug, Default)]
pub(super) struct KeysInFlight {
    /// Per key: its records in flight, and the call that took the last of them.
    keys: HashMap<HashKey, (u32, u64), BuildHasherDefault<HashKeyHasher>>,
}

impl KeysInFlight {
    /// Whether call `call` may carry a record of `key`: no other call in flight has one.
    pub(super) fn free_for(&self, key: HashKey, call: u64) -> bool {
        self.keys.get(&key).is_none_or(|&(_, last)| last == call)
    }

    /// Call `call` carries a record of `key`.
    pub(super) fn add(&mut self, key: HashKey, call: u64) {
        let slot = self.keys.entry(key).or_insert((0, call));
        slot.0 += 1;
        slot.1 = call;
    }

    /// A record of `key` was answered.
    pub(super) fn remove(&mut self, key: HashKey) {
        if let Some(slot) = self.keys.get_mut(&key) {
            slot.0 -= 1;
            if slot.0 == 0 {
                self.keys.remove(&key);
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// A set of partition keys, by hash.
pub(super) type KeySet = HashSet<HashKey, BuildHasherDefault<HashKeyHasher>>;

/// A hasher for hash keys, which are MD5 digests already: their low bits are the hash.
#[derive(Debug, Default)]
pub(super) struct HashKeyHasher(u64);

impl Hasher for HashKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `HashKey` (it writes one u128); kept correct for any other input.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = (n as u64) ^ ((n >> 64) as u64);
    }
}

impl ShardQueue {
    pub(super) fn new(key: QueueKey) -> Self {
        Self {
            key,
            entries: VecDeque::new(),
            open: None,
            calls: 0,
            aggregate_calls: 0,
            parked: false,
            retries_in_pass: 0,
        }
    }

    /// Whether nothing of the queue may be sent now: an aggregate of it is in flight or parked.
    pub(super) fn held(&self) -> bool {
        self.aggregate_calls > 0 || self.parked
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
