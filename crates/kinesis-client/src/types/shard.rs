//! Shards, hash keys and sequence numbers.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::Error;
use crate::types::stream::is_name_char;

/// The id of a shard, such as `shardId-000000000001`: 1 to 128 characters of `a-z A-Z 0-9 _ . -`.
///
/// ```
/// use kinesis_client::ShardId;
///
/// let shard: ShardId = "shardId-000000000001".parse()?;
/// assert_eq!(shard.as_str(), "shardId-000000000001");
/// # Ok::<(), kinesis_client::Error>(())
/// ```
///
/// Cloning is cheap (a reference count): ids travel with every record read or written.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardId(Arc<str>);

impl ShardId {
    /// Validates and wraps a shard id.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the id is empty, longer
    /// than 128 characters or contains a character outside `a-z A-Z 0-9 _ . -`.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if id.is_empty() || id.len() > 128 || !id.chars().all(is_name_char) {
            return Err(Error::invalid_input(format!(
                "invalid shard id {id:?}: expected 1 to 128 characters of a-z A-Z 0-9 _ . -"
            )));
        }
        Ok(Self(id.into()))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps an id that came from the service, which is trusted to be well formed.
    #[cfg(feature = "sdk")]
    pub(crate) fn from_service(id: impl Into<String>) -> Self {
        Self(id.into().into())
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for ShardId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

/// A position in the 128-bit hash-key space that maps records to shards.
///
/// Kinesis maps a record to the shard whose [`HashKeyRange`] contains the MD5 of its partition key,
/// read as an unsigned 128-bit integer, or its explicit hash key. On the wire a hash key is a
/// decimal string of at most 39 digits.
///
/// ```
/// use kinesis_client::HashKey;
///
/// let key: HashKey = "340282366920938463463374607431768211455".parse()?;
/// assert_eq!(key, HashKey::MAX);
/// assert!("340282366920938463463374607431768211456".parse::<HashKey>().is_err());
/// assert!("01".parse::<HashKey>().is_err());
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct HashKey(pub u128);

impl HashKey {
    /// The lowest hash key, 0.
    pub const MIN: HashKey = HashKey(0);
    /// The highest hash key, 2^128 - 1.
    pub const MAX: HashKey = HashKey(u128::MAX);

    /// The key as an integer.
    pub fn get(self) -> u128 {
        self.0
    }
}

impl fmt::Display for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for HashKey {
    type Err = Error;
    /// Parses the decimal form Kinesis uses, `0|[1-9][0-9]{0,38}`, up to 2^128 - 1.
    fn from_str(s: &str) -> Result<Self, Error> {
        let well_formed = !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        if !well_formed {
            return Err(Error::invalid_input(format!(
                "invalid hash key {s:?}: expected a decimal integer without leading zeros"
            )));
        }
        s.parse::<u128>().map(HashKey).map_err(|_| {
            Error::invalid_input(format!("invalid hash key {s:?}: larger than 2^128 - 1"))
        })
    }
}

impl From<u128> for HashKey {
    fn from(v: u128) -> Self {
        HashKey(v)
    }
}

/// An inclusive range of hash keys, `[start, end]`, as owned by one shard.
///
/// ```
/// use kinesis_client::{HashKey, HashKeyRange};
///
/// let whole = HashKeyRange::FULL;
/// let (low, high) = whole.split_at(HashKey(1 << 127))?;
/// assert!(low.contains(HashKey(0)) && !low.contains(HashKey(1 << 127)));
/// assert!(high.contains(HashKey::MAX));
/// # Ok::<(), kinesis_client::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct HashKeyRange {
    start: HashKey,
    end: HashKey,
}

impl HashKeyRange {
    /// The whole key space, `[0, 2^128 - 1]`.
    pub const FULL: HashKeyRange = HashKeyRange {
        start: HashKey::MIN,
        end: HashKey::MAX,
    };

    /// A range from `start` to `end`, both included.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `start > end`.
    pub fn new(start: HashKey, end: HashKey) -> Result<Self, Error> {
        if start > end {
            return Err(Error::invalid_input(format!(
                "hash key range start {start} is after its end {end}"
            )));
        }
        Ok(Self { start, end })
    }

    /// The first key of the range.
    pub fn start(&self) -> HashKey {
        self.start
    }

    /// The last key of the range (included).
    pub fn end(&self) -> HashKey {
        self.end
    }

    /// Whether `key` lies in the range.
    pub fn contains(&self, key: HashKey) -> bool {
        self.start <= key && key <= self.end
    }

    /// The key halfway through the range, where an even split starts its upper child.
    pub fn midpoint(&self) -> HashKey {
        HashKey(self.start.0 + (self.end.0 - self.start.0) / 2 + 1)
    }

    /// Splits the range into `[start, at - 1]` and `[at, end]`, as `SplitShard` with
    /// `NewStartingHashKey = at` does.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless `start < at <= end`.
    pub fn split_at(&self, at: HashKey) -> Result<(HashKeyRange, HashKeyRange), Error> {
        if at <= self.start || at > self.end {
            return Err(Error::invalid_input(format!(
                "split point {at} is not inside ({}, {}]",
                self.start, self.end
            )));
        }
        Ok((
            HashKeyRange {
                start: self.start,
                end: HashKey(at.0 - 1),
            },
            HashKeyRange {
                start: at,
                end: self.end,
            },
        ))
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn from_sdk(r: &aws_sdk_kinesis::types::HashKeyRange) -> Result<Self, Error> {
        let start: HashKey = r.starting_hash_key().parse()?;
        let end: HashKey = r.ending_hash_key().parse()?;
        Self::new(start, end)
    }
}

/// A record's sequence number: a decimal integer of up to 129 digits, unique within a shard.
///
/// Sequence numbers grow within a shard but are too large for any machine integer, so they are
/// kept as text and compared numerically (a longer number is larger; equal lengths compare
/// digit by digit), never as strings.
///
/// ```
/// use kinesis_client::SequenceNumber;
///
/// let a: SequenceNumber = "9".parse()?;
/// let b: SequenceNumber = "10".parse()?;
/// assert!(a < b); // as strings, "9" > "10"
/// # Ok::<(), kinesis_client::Error>(())
/// ```
///
/// Cloning is cheap (a reference count).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SequenceNumber(Arc<str>);

impl SequenceNumber {
    /// Validates and wraps a sequence number.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless the text matches
    /// `0|[1-9][0-9]{0,128}`.
    pub fn new(s: impl Into<String>) -> Result<Self, Error> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= 129
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        if ok {
            Ok(Self(s.into()))
        } else {
            Err(Error::invalid_input(format!(
                "invalid sequence number {s:?}: expected up to 129 decimal digits without leading zeros"
            )))
        }
    }

    /// The decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a sequence number that came from the service; malformed ones are rejected.
    #[cfg(feature = "sdk")]
    pub(crate) fn from_service(s: &str) -> Result<Self, Error> {
        Self::new(s).map_err(|e| Error::malformed_response(e.message().to_owned()))
    }
}

impl Ord for SequenceNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.as_bytes().cmp(other.0.as_bytes()))
    }
}

impl PartialOrd for SequenceNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for SequenceNumber {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

/// A shard as listed by `ListShards`.
///
/// ```
/// use kinesis_client::{HashKeyRange, Shard, ShardId};
///
/// fn is_root(shard: &Shard) -> bool {
///     shard.parent_shard_id().is_none() && shard.adjacent_parent_shard_id().is_none()
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    id: ShardId,
    parent: Option<ShardId>,
    adjacent_parent: Option<ShardId>,
    hash_key_range: HashKeyRange,
    starting_sequence_number: SequenceNumber,
    ending_sequence_number: Option<SequenceNumber>,
}

impl Shard {
    /// The shard id.
    pub fn id(&self) -> &ShardId {
        &self.id
    }
    /// The shard this one was split from, or the first of the two it was merged from.
    pub fn parent_shard_id(&self) -> Option<&ShardId> {
        self.parent.as_ref()
    }
    /// The second parent of a merged shard.
    pub fn adjacent_parent_shard_id(&self) -> Option<&ShardId> {
        self.adjacent_parent.as_ref()
    }
    /// Every parent of the shard (zero, one or two).
    pub fn parents(&self) -> impl Iterator<Item = &ShardId> {
        self.parent.iter().chain(self.adjacent_parent.iter())
    }
    /// The hash keys the shard owns.
    pub fn hash_key_range(&self) -> HashKeyRange {
        self.hash_key_range
    }
    /// The sequence number of the shard's first record.
    pub fn starting_sequence_number(&self) -> &SequenceNumber {
        &self.starting_sequence_number
    }
    /// The last sequence number of a closed shard; `None` while the shard is open.
    pub fn ending_sequence_number(&self) -> Option<&SequenceNumber> {
        self.ending_sequence_number.as_ref()
    }
    /// Whether the shard still takes writes.
    pub fn is_open(&self) -> bool {
        self.ending_sequence_number.is_none()
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn from_sdk(s: &aws_sdk_kinesis::types::Shard) -> Result<Self, Error> {
        let range = s
            .hash_key_range()
            .ok_or_else(|| Error::malformed_response("shard without HashKeyRange"))?;
        let seq = s
            .sequence_number_range()
            .ok_or_else(|| Error::malformed_response("shard without SequenceNumberRange"))?;
        Ok(Self {
            id: ShardId::from_service(s.shard_id()),
            parent: s.parent_shard_id().map(ShardId::from_service),
            adjacent_parent: s.adjacent_parent_shard_id().map(ShardId::from_service),
            hash_key_range: HashKeyRange::from_sdk(range)?,
            starting_sequence_number: SequenceNumber::from_service(seq.starting_sequence_number())?,
            ending_sequence_number: seq
                .ending_sequence_number()
                .map(SequenceNumber::from_service)
                .transpose()?,
        })
    }
}

/// A child of a closed shard, as reported at shard end by `GetRecords` and `SubscribeToShard`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildShard {
    id: ShardId,
    parents: Vec<ShardId>,
    hash_key_range: HashKeyRange,
}

impl ChildShard {
    /// The child's shard id.
    pub fn id(&self) -> &ShardId {
        &self.id
    }
    /// The child's parents: one after a split, two after a merge.
    pub fn parents(&self) -> &[ShardId] {
        &self.parents
    }
    /// The hash keys the child owns.
    pub fn hash_key_range(&self) -> HashKeyRange {
        self.hash_key_range
    }

    #[cfg(feature = "sdk")]
    pub(crate) fn from_sdk(c: &aws_sdk_kinesis::types::ChildShard) -> Result<Self, Error> {
        let range = c
            .hash_key_range()
            .ok_or_else(|| Error::malformed_response("child shard without HashKeyRange"))?;
        Ok(Self {
            id: ShardId::from_service(c.shard_id()),
            parents: c
                .parent_shards()
                .iter()
                .map(ShardId::from_service)
                .collect(),
            hash_key_range: HashKeyRange::from_sdk(range)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sequence_numbers_compare_numerically() {
        let n = |s: &str| SequenceNumber::new(s).unwrap();
        assert!(n("9") < n("10"));
        assert!(
            n("49590338271490256608559692538361571095921575989136588898")
                > n("4959033827149025660855969253836157109592157598913658889")
        );
        assert!(n("100") > n("099".trim_start_matches('0')));
        assert_eq!(n("0"), n("0"));
        assert!(SequenceNumber::new("007").is_err());
        assert!(SequenceNumber::new("").is_err());
        assert!(SequenceNumber::new("1".repeat(130)).is_err());
        assert!(SequenceNumber::new("12a").is_err());
    }

    proptest! {
        #[test]
        fn sequence_order_matches_integer_order(a in any::<u128>(), b in any::<u128>()) {
            let sa = SequenceNumber::new(a.to_string()).unwrap();
            let sb = SequenceNumber::new(b.to_string()).unwrap();
            prop_assert_eq!(sa.cmp(&sb), a.cmp(&b));
        }

        #[test]
        fn hash_keys_round_trip(k in any::<u128>()) {
            let text = HashKey(k).to_string();
            prop_assert_eq!(text.parse::<HashKey>().unwrap(), HashKey(k));
        }

        #[test]
        fn split_covers_the_range_exactly(at in 1..=u128::MAX) {
            let (low, high) = HashKeyRange::FULL.split_at(HashKey(at)).unwrap();
            prop_assert_eq!(low.end().0 + 1, high.start().0);
            prop_assert!(low.contains(HashKey(at - 1)) && high.contains(HashKey(at)));
        }
    }

    #[test]
    fn hash_key_ranges_are_checked() {
        assert!(HashKeyRange::new(HashKey(5), HashKey(4)).is_err());
        assert!(HashKeyRange::FULL.split_at(HashKey(0)).is_err());
        assert_eq!(HashKeyRange::FULL.midpoint(), HashKey(1 << 127));
        assert!("-1".parse::<HashKey>().is_err());
        assert!("".parse::<HashKey>().is_err());
    }
}
