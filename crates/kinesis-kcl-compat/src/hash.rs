//! Effective hash keys: which shard a record belongs to.
//!
//! Kinesis routes a record by its *effective hash key*: its explicit hash key when it has one,
//! otherwise the MD5 digest of its partition key's UTF-8 bytes read as a big-endian unsigned
//! 128-bit integer. The record goes to the shard whose [`HashKeyRange`] contains that key.
//!
//! A KPL aggregate is routed as one record, but each user record inside keeps its own effective
//! hash key. After a reshard, or when records were aggregated without regard to shards, an
//! aggregate can hold user records that belong to another shard. The Java KCL drops them when it
//! splits the aggregate (KCL 2.x/3.x `AggregatorUtil.deaggregate`: when it meets the first user
//! record outside the shard's range it discards that record, the rest of the aggregate **and the
//! user records of that aggregate already split**, so the whole aggregate is lost; the KPL, for
//! its part, sends every record of an aggregate stored on another shard than predicted again).
//! This module flags each user record ([`check_aggregate`]), so that a reader can tell which
//! records belong elsewhere and whether the KCL would have dropped the aggregate.
//!
//! ```
//! use kinesis_client::{HashKey, HashKeyRange};
//! use kinesis_kcl_compat::hash::{effective_hash_key, partition_key_hash};
//!
//! // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
//! assert_eq!(partition_key_hash("a"), HashKey(0x0cc175b9c0f1b6a831c399e269772661));
//! assert_eq!(effective_hash_key("a", Some(HashKey(7))), HashKey(7));
//!
//! let (low, _high) = HashKeyRange::FULL.split_at(HashKey(1 << 127))?;
//! assert!(low.contains(partition_key_hash("a")));
//! # Ok::<(), kinesis_client::Error>(())
//! ```

use std::fmt;

use kinesis_client::{HashKey, HashKeyRange, PutRecordsEntry};
use md5::{Digest, Md5};

use crate::aggregation::Aggregate;

/// The hash key of a partition key: the MD5 digest of its UTF-8 bytes, read as a big-endian
/// unsigned 128-bit integer.
///
/// ```
/// use kinesis_client::HashKey;
/// use kinesis_kcl_compat::hash::partition_key_hash;
///
/// // MD5("") = d41d8cd98f00b204e9800998ecf8427e
/// assert_eq!(partition_key_hash(""), HashKey(0xd41d8cd98f00b204e9800998ecf8427e));
/// ```
pub fn partition_key_hash(partition_key: &str) -> HashKey {
    let digest: [u8; 16] = Md5::digest(partition_key.as_bytes()).into();
    HashKey(u128::from_be_bytes(digest))
}

/// The hash key that routes a record: `explicit_hash_key` if set, else the
/// [`partition_key_hash`].
///
/// ```
/// use kinesis_client::HashKey;
/// use kinesis_kcl_compat::hash::{effective_hash_key, partition_key_hash};
///
/// assert_eq!(effective_hash_key("k", None), partition_key_hash("k"));
/// assert_eq!(effective_hash_key("k", Some(HashKey::MAX)), HashKey::MAX);
/// ```
pub fn effective_hash_key(partition_key: &str, explicit_hash_key: Option<HashKey>) -> HashKey {
    explicit_hash_key.unwrap_or_else(|| partition_key_hash(partition_key))
}

/// The hash key that routes a `PutRecords` entry.
///
/// ```
/// use kinesis_client::{PartitionKey, PutRecordsEntry};
/// use kinesis_kcl_compat::hash::{entry_hash_key, partition_key_hash};
///
/// let entry = PutRecordsEntry::new("payload", PartitionKey::new("user-9")?);
/// assert_eq!(entry_hash_key(&entry), partition_key_hash("user-9"));
/// # Ok::<(), kinesis_client::Error>(())
/// ```
pub fn entry_hash_key(entry: &PutRecordsEntry) -> HashKey {
    effective_hash_key(entry.partition_key().as_str(), entry.explicit_hash_key())
}

/// Whether a record with this partition key and explicit hash key belongs to the shard owning
/// `range`.
///
/// ```
/// use kinesis_client::{HashKey, HashKeyRange};
/// use kinesis_kcl_compat::hash::belongs_to;
///
/// let range = HashKeyRange::new(HashKey(0), HashKey(100))?;
/// assert!(belongs_to("any", Some(HashKey(100)), &range));
/// assert!(!belongs_to("any", Some(HashKey(101)), &range));
/// # Ok::<(), kinesis_client::Error>(())
/// ```
pub fn belongs_to(
    partition_key: &str,
    explicit_hash_key: Option<HashKey>,
    range: &HashKeyRange,
) -> bool {
    range.contains(effective_hash_key(partition_key, explicit_hash_key))
}

/// Reads an explicit hash key as found inside an aggregate.
///
/// Inside an aggregate nothing checked the key (the KPL copies the string the user gave), so
/// this is as lenient as the KCL's `new BigInteger(key)` wherever that still yields a valid
/// hash key: an optional `+`, then decimal digits, leading zeros allowed, at most 2^128 - 1.
///
/// # Errors
///
/// [`InvalidExplicitHashKey`] for anything else (empty, not decimal, negative, too large): such
/// a user record belongs to no shard.
///
/// ```
/// use kinesis_client::HashKey;
/// use kinesis_kcl_compat::hash::parse_explicit_hash_key;
///
/// assert_eq!(parse_explicit_hash_key("42")?, HashKey(42));
/// assert_eq!(parse_explicit_hash_key("+0042")?, HashKey(42));
/// assert!(parse_explicit_hash_key("-1").is_err());
/// assert!(parse_explicit_hash_key("340282366920938463463374607431768211456").is_err());
/// # Ok::<(), kinesis_kcl_compat::hash::InvalidExplicitHashKey>(())
/// ```
pub fn parse_explicit_hash_key(s: &str) -> Result<HashKey, InvalidExplicitHashKey> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidExplicitHashKey::new(s));
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(HashKey(0));
    }
    significant
        .parse::<u128>()
        .map(HashKey)
        .map_err(|_| InvalidExplicitHashKey::new(s))
}

/// An explicit hash key inside an aggregate that is not a hash key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidExplicitHashKey {
    key: String,
}

impl InvalidExplicitHashKey {
    fn new(key: &str) -> Self {
        // Keep error messages bounded whatever the input.
        let key = key.chars().take(64).collect();
        Self { key }
    }

    /// The offending key (its first 64 characters).
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for InvalidExplicitHashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "explicit hash key {:?} is not a decimal integer in [0, 2^128 - 1]",
            self.key
        )
    }
}

impl std::error::Error for InvalidExplicitHashKey {}

/// Where one user record of an aggregate belongs, relative to a shard's hash key range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Its effective hash key lies in the range: deliver it.
    Inside(HashKey),
    /// Its effective hash key lies outside the range: it belongs to another shard (the KCL drops
    /// it).
    Outside(HashKey),
    /// Its explicit hash key is not a valid hash key, so it belongs to no shard.
    Unroutable,
}

impl Placement {
    /// Whether the record should be delivered by the shard that was checked.
    pub fn is_inside(self) -> bool {
        matches!(self, Placement::Inside(_))
    }
}

/// The placement of every user record of an aggregate, from [`check_aggregate`].
///
/// ```
/// use kinesis_client::{HashKey, HashKeyRange, PartitionKey, PutRecordsEntry};
/// use kinesis_kcl_compat::aggregation::{decode, AggregateBuilder, Decoded};
/// use kinesis_kcl_compat::hash::{check_aggregate, Placement};
///
/// let range = HashKeyRange::new(HashKey(0), HashKey(999))?;
/// let key = PartitionKey::new("k")?;
/// let mut builder = AggregateBuilder::new();
/// builder.add(PutRecordsEntry::new("in", key.clone()).with_explicit_hash_key(HashKey(5)));
/// builder.add(PutRecordsEntry::new("out", key).with_explicit_hash_key(HashKey(1000)));
/// let bytes = builder.finish().unwrap().into_data();
/// let Decoded::Aggregate(aggregate) = decode(&bytes)? else { unreachable!() };
///
/// let check = check_aggregate(&aggregate, &range);
/// assert!(!check.all_inside());
/// assert_eq!(check.placement(1), Some(Placement::Outside(HashKey(1000))));
/// let kept: Vec<_> = aggregate.iter().filter(|r| check.is_inside(r.sub_sequence_number())).collect();
/// assert_eq!(kept.len(), 1);
/// assert_eq!(check.dropped_count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeCheck {
    placements: Vec<Placement>,
}

impl RangeCheck {
    /// The placement of the user record with this sub-sequence number.
    pub fn placement(&self, sub_sequence_number: u64) -> Option<Placement> {
        usize::try_from(sub_sequence_number)
            .ok()
            .and_then(|i| self.placements.get(i).copied())
    }

    /// Whether the user record with this sub-sequence number belongs to the shard (`false` for a
    /// number past the end).
    pub fn is_inside(&self, sub_sequence_number: u64) -> bool {
        self.placement(sub_sequence_number)
            .is_some_and(Placement::is_inside)
    }

    /// Every placement, by sub-sequence number.
    pub fn placements(&self) -> &[Placement] {
        &self.placements
    }

    /// Whether every user record belongs to the shard. When this is `false` the Java KCL would
    /// have delivered none of the aggregate.
    pub fn all_inside(&self) -> bool {
        self.placements.iter().all(|p| p.is_inside())
    }

    /// The sub-sequence numbers of the user records that do not belong to the shard (outside or
    /// unroutable).
    pub fn dropped(&self) -> impl Iterator<Item = u64> + '_ {
        self.placements
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_inside())
            .map(|(i, _)| i as u64)
    }

    /// How many user records do not belong to the shard.
    pub fn dropped_count(&self) -> usize {
        self.placements.iter().filter(|p| !p.is_inside()).count()
    }
}

/// Places every user record of `aggregate` relative to `range`, the hash key range of the shard
/// the aggregate was read from.
pub fn check_aggregate(aggregate: &Aggregate, range: &HashKeyRange) -> RangeCheck {
    let placements = aggregate
        .iter()
        .map(|r| match r.effective_hash_key() {
            Ok(key) if range.contains(key) => Placement::Inside(key),
            Ok(key) => Placement::Outside(key),
            Err(_) => Placement::Unroutable,
        })
        .collect();
    RangeCheck { placements }
}
