//! Packing user records into a KPL aggregate.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use bytes::Bytes;
use kinesis_client::{HashKey, PartitionKey, PutRecordsEntry};
use md5::{Digest, Md5};

use super::wire;
use super::{DIGEST_LEN, MAGIC, OVERHEAD};
use crate::hash;

/// A user record to add to an aggregate, borrowed: its payload, partition key and optional
/// explicit hash key. The builder copies what it needs (payloads are copied once, into the
/// encoded message), so a caller that keeps its records elsewhere adds them without cloning.
///
/// ```
/// use kinesis_client::{HashKey, PartitionKey};
/// use kinesis_kcl_compat::aggregation::{AggregateBuilder, UserRecord};
///
/// let key = PartitionKey::new("user-1")?;
/// let mut builder = AggregateBuilder::new();
/// builder.add_record(UserRecord::new(b"first", &key));
/// builder.add_record(UserRecord::new(b"second", &key).with_explicit_hash_key(HashKey(7)));
/// assert_eq!(builder.len(), 2);
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct UserRecord<'a> {
    data: &'a [u8],
    partition_key: &'a PartitionKey,
    explicit_hash_key: Option<HashKey>,
}

impl<'a> UserRecord<'a> {
    /// A record of `data` with `partition_key`.
    pub fn new(data: &'a [u8], partition_key: &'a PartitionKey) -> Self {
        Self {
            data,
            partition_key,
            explicit_hash_key: None,
        }
    }

    /// Sets the explicit hash key.
    #[must_use]
    pub fn with_explicit_hash_key(mut self, explicit_hash_key: HashKey) -> Self {
        self.explicit_hash_key = Some(explicit_hash_key);
        self
    }

    /// Sets or clears the explicit hash key.
    #[must_use]
    pub fn with_optional_explicit_hash_key(mut self, explicit_hash_key: Option<HashKey>) -> Self {
        self.explicit_hash_key = explicit_hash_key;
        self
    }
}

impl<'a> From<&'a PutRecordsEntry> for UserRecord<'a> {
    fn from(entry: &'a PutRecordsEntry) -> Self {
        UserRecord::new(entry.data(), entry.partition_key())
            .with_optional_explicit_hash_key(entry.explicit_hash_key())
    }
}

/// A 64-bit hash of a partition key for the builder's key index (FxHash's mixing, 8 bytes at a
/// time). Not for anything adversarial: a collision only costs a comparison, the keys' bytes
/// decide.
fn key_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h
}

/// A hasher for keys that are hashes already.
#[derive(Clone, Copy, Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with it; fold anything else in anyway.
        for b in bytes {
            self.0 = (self.0.rotate_left(8)) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type PassThroughMap<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

/// The partition key table: the encoded fields, and an index from key to table position.
#[derive(Clone, Debug, Default)]
struct KeyTable {
    /// The table's encoded fields (`partition_key_table` entries), in order of first use.
    encoded: Vec<u8>,
    /// Where each key's bytes are in `encoded`.
    spans: Vec<(u32, u32)>,
    /// Key hash to the first table position with that hash.
    first: PassThroughMap<u32>,
    /// For each table position, the next one with the same hash (`u32::MAX`: none).
    next: Vec<u32>,
}

impl KeyTable {
    fn key(&self, i: usize) -> &[u8] {
        let (start, len) = self.spans[i];
        &self.encoded[start as usize..(start + len) as usize]
    }

    /// The position of `key`, if present.
    fn find(&self, key: &[u8], hash: u64) -> Option<usize> {
        let mut i = *self.first.get(&hash)?;
        loop {
            if self.key(i as usize) == key {
                return Some(i as usize);
            }
            i = self.next[i as usize];
            if i == u32::MAX {
                return None;
            }
        }
    }

    /// Appends `key` (known absent) at position `len()`.
    fn push(&mut self, key: &[u8], hash: u64) {
        let i = self.spans.len() as u32;
        self.encoded.push(wire::tag(1, wire::LEN));
        wire::put_varint(&mut self.encoded, key.len() as u64);
        let start = self.encoded.len() as u32;
        self.encoded.extend_from_slice(key);
        self.spans.push((start, key.len() as u32));
        self.next.push(u32::MAX);
        match self.first.get(&hash) {
            None => {
                self.first.insert(hash, i);
            }
            Some(&head) => {
                // Chain at the end (positions stay in order of first use).
                let mut j = head;
                while self.next[j as usize] != u32::MAX {
                    j = self.next[j as usize];
                }
                self.next[j as usize] = i;
            }
        }
    }

    fn len(&self) -> usize {
        self.spans.len()
    }
}

/// Packs user records into one KPL aggregated record, keeping track of its exact encoded size.
///
/// Partition keys and explicit hash keys are written once each in the aggregate's key tables
/// (in order of first use) and referred to by index. The size of the aggregate —
/// magic + protobuf message + MD5 — is maintained as records are added, counting the varint
/// widths and table entries each record adds, so [`encoded_size`](Self::encoded_size),
/// [`size_with`](Self::size_with) and [`would_fit`](Self::would_fit) cost no encoding; the
/// message is serialized once, by [`finish`](Self::finish).
///
/// # The aggregate's own partition key and explicit hash key
///
/// An aggregate is written to Kinesis as one record, which needs a partition key and is routed
/// to one shard. [`EncodedAggregate`] carries:
///
/// * the **partition key of the first user record**, as the kinesis-aggregation libraries do
///   (the KPL writes the placeholder `"a"` instead, to save bytes, because it always sets an
///   explicit hash key);
/// * an **explicit hash key equal to the first user record's effective hash key** (its explicit
///   hash key, or the MD5 of its partition key), as the KPL does.
///
/// Both route the aggregate exactly where the first user record would have gone on its own. A
/// consumer (the KCL, or [`crate::hash::check_aggregate`]) drops the user records whose own
/// effective hash key falls outside the receiving shard's range, so a producer should only put
/// together user records that map to the same shard.
///
/// The KPL sends a container holding a single user record as that plain record, not as an
/// aggregate; this builder always writes an aggregate, and leaves that choice to the caller.
///
/// ```
/// use kinesis_client::{HashKey, PartitionKey, PutRecordsEntry};
/// use kinesis_kcl_compat::aggregation::AggregateBuilder;
///
/// let mut builder = AggregateBuilder::new();
/// let limit = 1024 * 1024;
/// builder.try_add(PutRecordsEntry::new("first", PartitionKey::new("user-1")?), limit)?;
/// builder.try_add(PutRecordsEntry::new("second", PartitionKey::new("user-1")?), limit)?;
/// let size = builder.encoded_size();
///
/// let aggregate = builder.finish().expect("not empty");
/// assert_eq!(aggregate.data().len(), size);
/// assert_eq!(aggregate.record_count(), 2);
/// assert_eq!(aggregate.partition_key().as_str(), "user-1");
/// let entry = aggregate.into_entry(); // ready for PutRecords
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct AggregateBuilder {
    partition_keys: KeyTable,
    /// The `explicit_hash_key_table` fields, encoded.
    explicit_hash_key_table: Vec<u8>,
    explicit_hash_key_index: HashMap<HashKey, usize>,
    /// The `records` fields, encoded as they are added.
    records: Vec<u8>,
    record_count: usize,
    /// The exact length of the protobuf message so far.
    message_len: usize,
    /// The first record's partition key and effective hash key.
    first: Option<(PartitionKey, HashKey)>,
}

/// What adding one record would add to the message.
#[derive(Clone, Copy, Debug)]
struct Growth {
    /// Bytes added to the message.
    bytes: usize,
    partition_key_index: usize,
    new_partition_key: bool,
    /// The index and whether it is new.
    explicit_hash_key: Option<(usize, bool)>,
}

impl AggregateBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of user records added.
    pub fn len(&self) -> usize {
        self.record_count
    }

    /// Whether no user record was added.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// The exact length in bytes that [`finish`](Self::finish) would produce now: 4 bytes of
    /// magic, the protobuf message and the 16-byte MD5. For an empty builder this is the bare
    /// overhead, 20 (though an empty builder finishes to nothing).
    pub fn encoded_size(&self) -> usize {
        OVERHEAD + self.message_len
    }

    /// The exact encoded size after adding `entry`, without adding it.
    ///
    /// ```
    /// use kinesis_client::{PartitionKey, PutRecordsEntry};
    /// use kinesis_kcl_compat::aggregation::AggregateBuilder;
    ///
    /// let mut builder = AggregateBuilder::new();
    /// let entry = PutRecordsEntry::new(vec![0u8; 100], PartitionKey::new("key")?);
    /// let predicted = builder.size_with(&entry);
    /// builder.add(entry);
    /// assert_eq!(builder.encoded_size(), predicted);
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn size_with(&self, entry: &PutRecordsEntry) -> usize {
        self.size_with_record(entry.into())
    }

    /// The exact encoded size after adding `record`, without adding it.
    pub fn size_with_record(&self, record: UserRecord<'_>) -> usize {
        self.encoded_size()
            + self
                .growth(&record, key_hash(record.partition_key.as_str().as_bytes()))
                .bytes
    }

    /// Whether adding `entry` keeps the encoded aggregate within `limit` bytes.
    pub fn would_fit(&self, entry: &PutRecordsEntry, limit: usize) -> bool {
        self.size_with(entry) <= limit
    }

    /// Adds `entry` if the encoded aggregate stays within `limit` bytes, and returns the new
    /// encoded size.
    ///
    /// The limit applies to the aggregate's bytes. Kinesis also counts the partition key the
    /// aggregate is sent with (the first record's; see [`EncodedAggregate::size`]) against its
    /// per-record limit.
    ///
    /// # Errors
    ///
    /// [`WouldExceedLimit`], which hands the entry back, when the aggregate would grow past
    /// `limit`. The builder is unchanged then.
    ///
    /// ```
    /// use kinesis_client::{PartitionKey, PutRecordsEntry};
    /// use kinesis_kcl_compat::aggregation::AggregateBuilder;
    ///
    /// let mut builder = AggregateBuilder::new();
    /// let key = PartitionKey::new("k")?;
    /// builder.try_add(PutRecordsEntry::new(vec![1u8; 30], key.clone()), 64)?;
    /// let refused = builder
    ///     .try_add(PutRecordsEntry::new(vec![2u8; 30], key), 64)
    ///     .unwrap_err();
    /// assert_eq!(refused.limit(), 64);
    /// assert!(refused.size() > 64);
    /// assert_eq!(builder.len(), 1);
    /// let entry = refused.into_entry(); // goes into the next aggregate
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_add(
        &mut self,
        entry: PutRecordsEntry,
        limit: usize,
    ) -> Result<usize, WouldExceedLimit> {
        let record = UserRecord::from(&entry);
        let hash = key_hash(record.partition_key.as_str().as_bytes());
        let growth = self.growth(&record, hash);
        let size = self.encoded_size() + growth.bytes;
        if size > limit {
            return Err(WouldExceedLimit { entry, size, limit });
        }
        self.apply(record, growth, hash);
        Ok(size)
    }

    /// Adds `entry` whatever the resulting size, and returns the new encoded size.
    pub fn add(&mut self, entry: PutRecordsEntry) -> usize {
        self.add_record((&entry).into())
    }

    /// Adds `record` whatever the resulting size (check with
    /// [`size_with_record`](Self::size_with_record) first), and returns the new encoded size.
    /// Its payload is copied into the message being encoded; its keys into the key tables the
    /// first time they are seen.
    pub fn add_record(&mut self, record: UserRecord<'_>) -> usize {
        let hash = key_hash(record.partition_key.as_str().as_bytes());
        let growth = self.growth(&record, hash);
        self.apply(record, growth, hash);
        self.encoded_size()
    }

    /// Adds `record` if the encoded aggregate stays within `limit` bytes and returns the new
    /// encoded size; `None` (the builder unchanged) when it would grow past `limit`. One look-up
    /// of the record's keys serves both the check and the addition.
    ///
    /// ```
    /// use kinesis_client::PartitionKey;
    /// use kinesis_kcl_compat::aggregation::{AggregateBuilder, UserRecord};
    ///
    /// let key = PartitionKey::new("k")?;
    /// let mut builder = AggregateBuilder::new();
    /// assert!(builder.try_add_record(UserRecord::new(&[1; 30], &key), 64).is_some());
    /// assert!(builder.try_add_record(UserRecord::new(&[2; 30], &key), 64).is_none());
    /// assert_eq!(builder.len(), 1);
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn try_add_record(&mut self, record: UserRecord<'_>, limit: usize) -> Option<usize> {
        let hash = key_hash(record.partition_key.as_str().as_bytes());
        let growth = self.growth(&record, hash);
        if self.encoded_size() + growth.bytes > limit {
            return None;
        }
        self.apply(record, growth, hash);
        Some(self.encoded_size())
    }

    /// The encoded size of an aggregate of `record` alone, without a builder.
    ///
    /// ```
    /// use kinesis_client::PartitionKey;
    /// use kinesis_kcl_compat::aggregation::{AggregateBuilder, UserRecord};
    ///
    /// let key = PartitionKey::new("k")?;
    /// let record = UserRecord::new(b"payload", &key);
    /// assert_eq!(
    ///     AggregateBuilder::size_alone(record),
    ///     AggregateBuilder::new().size_with_record(record)
    /// );
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn size_alone(record: UserRecord<'_>) -> usize {
        let key = wire::len_field_size(record.partition_key.byte_len());
        let ehk = record
            .explicit_hash_key
            .map_or(0, |k| wire::len_field_size(decimal_len(k.get())));
        let body = record_message_len(0, record.explicit_hash_key.map(|_| 0), record.data.len());
        OVERHEAD + key + ehk + wire::len_field_size(body)
    }

    /// Computes what adding `record` would add, using the same rules the encoder follows.
    fn growth(&self, record: &UserRecord<'_>, key_hash: u64) -> Growth {
        let mut bytes = 0;
        let key = record.partition_key.as_str().as_bytes();
        let (partition_key_index, new_partition_key) = match self.partition_keys.find(key, key_hash)
        {
            Some(i) => (i, false),
            None => {
                bytes += wire::len_field_size(key.len());
                (self.partition_keys.len(), true)
            }
        };
        let explicit_hash_key =
            record
                .explicit_hash_key
                .map(|ehk| match self.explicit_hash_key_index.get(&ehk) {
                    Some(&i) => (i, false),
                    None => {
                        bytes += wire::len_field_size(decimal_len(ehk.get()));
                        (self.explicit_hash_key_index.len(), true)
                    }
                });
        let record_len = record_message_len(
            partition_key_index,
            explicit_hash_key.map(|(i, _)| i),
            record.data.len(),
        );
        bytes += wire::len_field_size(record_len);
        Growth {
            bytes,
            partition_key_index,
            new_partition_key,
            explicit_hash_key,
        }
    }

    fn apply(&mut self, record: UserRecord<'_>, growth: Growth, key_hash: u64) {
        if self.first.is_none() {
            let hash =
                hash::effective_hash_key(record.partition_key.as_str(), record.explicit_hash_key);
            self.first = Some((record.partition_key.clone(), hash));
        }
        if growth.new_partition_key {
            self.partition_keys
                .push(record.partition_key.as_str().as_bytes(), key_hash);
        }
        let explicit_hash_key_index = match (growth.explicit_hash_key, record.explicit_hash_key) {
            (Some((i, true)), Some(ehk)) => {
                self.explicit_hash_key_index.insert(ehk, i);
                wire::put_len_field(
                    &mut self.explicit_hash_key_table,
                    2,
                    ehk.to_string().as_bytes(),
                );
                Some(i)
            }
            (Some((i, _)), _) => Some(i),
            (None, _) => None,
        };
        let len = record_message_len(
            growth.partition_key_index,
            explicit_hash_key_index,
            record.data.len(),
        );
        let out = &mut self.records;
        out.push(wire::tag(3, wire::LEN));
        wire::put_varint(out, len as u64);
        wire::put_varint_field(out, 1, growth.partition_key_index as u64);
        if let Some(i) = explicit_hash_key_index {
            wire::put_varint_field(out, 2, i as u64);
        }
        wire::put_len_field(out, 3, record.data);
        self.record_count += 1;
        self.message_len += growth.bytes;
    }

    /// Serializes the aggregate: magic, protobuf message, MD5 of the message. `None` when no
    /// record was added.
    ///
    /// To reuse the builder, finish a taken one: `std::mem::take(&mut builder).finish()`.
    pub fn finish(mut self) -> Option<EncodedAggregate> {
        self.finish_and_clear()
    }

    /// Serializes the aggregate like [`finish`](Self::finish) and empties the builder, keeping
    /// its buffers for the next aggregate. `None` (and nothing changed) when empty.
    ///
    /// ```
    /// use kinesis_client::PartitionKey;
    /// use kinesis_kcl_compat::aggregation::{AggregateBuilder, UserRecord};
    ///
    /// let key = PartitionKey::new("k")?;
    /// let mut builder = AggregateBuilder::new();
    /// builder.add_record(UserRecord::new(b"one", &key));
    /// let first = builder.finish_and_clear().expect("one record");
    /// assert!(builder.is_empty());
    /// builder.add_record(UserRecord::new(b"one", &key));
    /// assert_eq!(builder.finish_and_clear(), Some(first));
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn finish_and_clear(&mut self) -> Option<EncodedAggregate> {
        let (partition_key, explicit_hash_key) = self.first.take()?;
        let total = OVERHEAD + self.message_len;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.partition_keys.encoded);
        out.extend_from_slice(&self.explicit_hash_key_table);
        out.extend_from_slice(&self.records);
        let digest = Md5::digest(&out[MAGIC.len()..]);
        out.extend_from_slice(&digest);
        debug_assert_eq!(out.len(), total, "size accounting drifted from the encoder");
        debug_assert_eq!(digest.len(), DIGEST_LEN);
        let record_count = self.record_count;
        self.clear();
        Some(EncodedAggregate {
            data: Bytes::from(out),
            partition_key,
            explicit_hash_key,
            record_count,
        })
    }

    /// Empties the builder without encoding what it holds, keeping its buffers.
    ///
    /// ```
    /// use kinesis_client::PartitionKey;
    /// use kinesis_kcl_compat::aggregation::{AggregateBuilder, UserRecord};
    ///
    /// let key = PartitionKey::new("k")?;
    /// let mut builder = AggregateBuilder::new();
    /// builder.add_record(UserRecord::new(b"one", &key));
    /// builder.clear();
    /// assert!(builder.is_empty());
    /// assert_eq!(builder.finish_and_clear(), None);
    /// # Ok::<(), kinesis_client::Error>(())
    /// ```
    pub fn clear(&mut self) {
        let KeyTable {
            encoded,
            spans,
            first,
            next,
        } = &mut self.partition_keys;
        encoded.clear();
        spans.clear();
        first.clear();
        next.clear();
        self.explicit_hash_key_table.clear();
        self.explicit_hash_key_index.clear();
        self.records.clear();
        self.record_count = 0;
        self.message_len = 0;
        self.first = None;
    }
}

/// The length of a `Record` message (without its own key and length prefix).
fn record_message_len(
    partition_key_index: usize,
    explicit_hash_key_index: Option<usize>,
    data_len: usize,
) -> usize {
    wire::varint_field_size(partition_key_index as u64)
        + explicit_hash_key_index.map_or(0, |i| wire::varint_field_size(i as u64))
        + wire::len_field_size(data_len)
}

/// The number of decimal digits of `v`.
fn decimal_len(v: u128) -> usize {
    v.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// A finished aggregate and the partition key and explicit hash key to write it with.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedAggregate {
    data: Bytes,
    partition_key: PartitionKey,
    explicit_hash_key: HashKey,
    record_count: usize,
}

impl EncodedAggregate {
    /// The aggregate's bytes: magic, protobuf message, MD5.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The partition key to write the aggregate with: the first user record's.
    pub fn partition_key(&self) -> &PartitionKey {
        &self.partition_key
    }

    /// The explicit hash key to write the aggregate with: the first user record's effective hash
    /// key.
    pub fn explicit_hash_key(&self) -> HashKey {
        self.explicit_hash_key
    }

    /// The number of user records inside.
    pub fn record_count(&self) -> usize {
        self.record_count
    }

    /// The size Kinesis counts against its limits: the aggregate's bytes plus its partition
    /// key's.
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.byte_len()
    }

    /// Consumes the aggregate into its bytes.
    pub fn into_data(self) -> Bytes {
        self.data
    }

    /// The `PutRecords` entry that writes the aggregate: its bytes, partition key and explicit
    /// hash key.
    pub fn into_entry(self) -> PutRecordsEntry {
        PutRecordsEntry::new(self.data, self.partition_key)
            .with_explicit_hash_key(self.explicit_hash_key)
    }
}

impl fmt::Debug for EncodedAggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedAggregate")
            .field("data_len", &self.data.len())
            .field("partition_key", &self.partition_key)
            .field("explicit_hash_key", &self.explicit_hash_key)
            .field("record_count", &self.record_count)
            .finish()
    }
}

/// [`AggregateBuilder::try_add`] refused a record because the aggregate would grow past its
/// limit. The record is handed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WouldExceedLimit {
    entry: PutRecordsEntry,
    size: usize,
    limit: usize,
}

impl WouldExceedLimit {
    /// The encoded size the aggregate would have had with the record.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The limit it would have exceeded.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The refused record.
    pub fn entry(&self) -> &PutRecordsEntry {
        &self.entry
    }

    /// Takes the refused record back.
    pub fn into_entry(self) -> PutRecordsEntry {
        self.entry
    }
}

impl fmt::Display for WouldExceedLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "adding the record would grow the aggregate to {} bytes, over the limit of {}",
            self.size, self.limit
        )
    }
}

impl std::error::Error for WouldExceedLimit {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_table_tells_keys_with_the_same_hash_apart() {
        let mut table = KeyTable::default();
        // Forced collisions: every key under the same hash.
        for key in ["a", "b", "c"] {
            assert_eq!(table.find(key.as_bytes(), 42), None);
            table.push(key.as_bytes(), 42);
        }
        table.push(b"d", 7);
        assert_eq!(table.find(b"a", 42), Some(0));
        assert_eq!(table.find(b"b", 42), Some(1));
        assert_eq!(table.find(b"c", 42), Some(2));
        assert_eq!(table.find(b"d", 7), Some(3));
        assert_eq!(table.find(b"d", 42), None);
        assert_eq!(table.find(b"e", 42), None);
        assert_eq!(table.key(1), b"b");
    }

    #[test]
    fn user_records_and_entries_encode_alike() {
        let key = PartitionKey::new("k").expect("valid");
        let other = PartitionKey::new("other").expect("valid");
        let mut by_entry = AggregateBuilder::new();
        let mut by_record = AggregateBuilder::new();
        for (i, k) in [&key, &other, &key].into_iter().enumerate() {
            let data = vec![i as u8; 10 + i];
            let ehk = (i == 1).then_some(HashKey(99));
            let mut entry = PutRecordsEntry::new(data.clone(), k.clone());
            if let Some(h) = ehk {
                entry = entry.with_explicit_hash_key(h);
            }
            let record = UserRecord::new(&data, k).with_optional_explicit_hash_key(ehk);
            assert_eq!(
                AggregateBuilder::size_alone(record),
                AggregateBuilder::new().size_with_record(record)
            );
            assert_eq!(
                by_entry.size_with(&entry),
                by_record.size_with_record(record)
            );
            by_entry.add(entry);
            by_record.add_record(record);
        }
        assert_eq!(by_entry.finish(), by_record.finish());
    }

    #[test]
    fn decimal_lengths() {
        assert_eq!(decimal_len(0), 1);
        assert_eq!(decimal_len(9), 1);
        assert_eq!(decimal_len(10), 2);
        assert_eq!(decimal_len(u128::MAX), 39);
        for v in [0u128, 1, 99, 100, 12345, 1 << 100, u128::MAX - 1] {
            assert_eq!(decimal_len(v), v.to_string().len());
        }
    }
}
