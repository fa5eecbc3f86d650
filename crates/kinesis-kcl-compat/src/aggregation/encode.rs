//! Packing user records into a KPL aggregate.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use kinesis_client::{HashKey, PartitionKey, PutRecordsEntry};
use md5::{Digest, Md5};

use super::wire;
use super::{DIGEST_LEN, MAGIC, OVERHEAD};
use crate::hash;

/// A user record as the builder keeps it until [`AggregateBuilder::finish`].
#[derive(Clone, Debug)]
struct Pending {
    partition_key_index: usize,
    explicit_hash_key_index: Option<usize>,
    data: Bytes,
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
    partition_keys: Vec<PartitionKey>,
    partition_key_index: HashMap<PartitionKey, usize>,
    explicit_hash_keys: Vec<String>,
    explicit_hash_key_index: HashMap<HashKey, usize>,
    records: Vec<Pending>,
    /// The exact length of the protobuf message so far.
    message_len: usize,
    /// The effective hash key of the first record.
    first_hash_key: Option<HashKey>,
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
        self.records.len()
    }

    /// Whether no user record was added.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
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
        self.encoded_size() + self.growth(entry).bytes
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
        let growth = self.growth(&entry);
        let size = self.encoded_size() + growth.bytes;
        if size > limit {
            return Err(WouldExceedLimit { entry, size, limit });
        }
        self.apply(entry, growth);
        Ok(size)
    }

    /// Adds `entry` whatever the resulting size, and returns the new encoded size.
    pub fn add(&mut self, entry: PutRecordsEntry) -> usize {
        let growth = self.growth(&entry);
        self.apply(entry, growth);
        self.encoded_size()
    }

    /// Computes what adding `entry` would add, using the same rules the encoder follows in
    /// [`finish`](Self::finish).
    fn growth(&self, entry: &PutRecordsEntry) -> Growth {
        let mut bytes = 0;
        let (partition_key_index, new_partition_key) =
            match self.partition_key_index.get(entry.partition_key()) {
                Some(&i) => (i, false),
                None => {
                    bytes += wire::len_field_size(entry.partition_key().byte_len());
                    (self.partition_keys.len(), true)
                }
            };
        let explicit_hash_key =
            entry
                .explicit_hash_key()
                .map(|ehk| match self.explicit_hash_key_index.get(&ehk) {
                    Some(&i) => (i, false),
                    None => {
                        bytes += wire::len_field_size(decimal_len(ehk.get()));
                        (self.explicit_hash_keys.len(), true)
                    }
                });
        let record_len = record_message_len(
            partition_key_index,
            explicit_hash_key.map(|(i, _)| i),
            entry.data().len(),
        );
        bytes += wire::len_field_size(record_len);
        Growth {
            bytes,
            partition_key_index,
            new_partition_key,
            explicit_hash_key,
        }
    }

    fn apply(&mut self, entry: PutRecordsEntry, growth: Growth) {
        if self.first_hash_key.is_none() {
            self.first_hash_key = Some(hash::entry_hash_key(&entry));
        }
        if growth.new_partition_key {
            let key = entry.partition_key().clone();
            self.partition_key_index
                .insert(key.clone(), growth.partition_key_index);
            self.partition_keys.push(key);
        }
        let explicit_hash_key_index = match (growth.explicit_hash_key, entry.explicit_hash_key()) {
            (Some((i, true)), Some(ehk)) => {
                self.explicit_hash_key_index.insert(ehk, i);
                self.explicit_hash_keys.push(ehk.to_string());
                Some(i)
            }
            (Some((i, _)), _) => Some(i),
            (None, _) => None,
        };
        self.records.push(Pending {
            partition_key_index: growth.partition_key_index,
            explicit_hash_key_index,
            data: entry.data().clone(),
        });
        self.message_len += growth.bytes;
    }

    /// Serializes the aggregate: magic, protobuf message, MD5 of the message. `None` when no
    /// record was added.
    ///
    /// To reuse the builder, finish a taken one: `std::mem::take(&mut builder).finish()`.
    pub fn finish(self) -> Option<EncodedAggregate> {
        let explicit_hash_key = self.first_hash_key?;
        let partition_key = self.partition_keys.first()?.clone();
        let total = self.encoded_size();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&MAGIC);
        for key in &self.partition_keys {
            wire::put_len_field(&mut out, 1, key.as_str().as_bytes());
        }
        for key in &self.explicit_hash_keys {
            wire::put_len_field(&mut out, 2, key.as_bytes());
        }
        for r in &self.records {
            let len = record_message_len(
                r.partition_key_index,
                r.explicit_hash_key_index,
                r.data.len(),
            );
            out.push(wire::tag(3, wire::LEN));
            wire::put_varint(&mut out, len as u64);
            wire::put_varint_field(&mut out, 1, r.partition_key_index as u64);
            if let Some(i) = r.explicit_hash_key_index {
                wire::put_varint_field(&mut out, 2, i as u64);
            }
            wire::put_len_field(&mut out, 3, &r.data);
        }
        let digest = Md5::digest(&out[MAGIC.len()..]);
        out.extend_from_slice(&digest);
        debug_assert_eq!(out.len(), total, "size accounting drifted from the encoder");
        debug_assert_eq!(digest.len(), DIGEST_LEN);
        Some(EncodedAggregate {
            data: Bytes::from(out),
            partition_key,
            explicit_hash_key,
            record_count: self.records.len(),
        })
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
