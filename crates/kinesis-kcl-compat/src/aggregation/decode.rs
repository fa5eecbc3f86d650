//! Splitting a Kinesis record into the user records of a KPL aggregate.

use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use kinesis_client::{HashKey, HashKeyRange};
use md5::{Digest, Md5};

use super::wire::{self, Key, Reader};
use super::{DIGEST_LEN, MAGIC};
use crate::hash::{self, InvalidExplicitHashKey};

/// The outcome of [`decode`]: a KPL aggregate split into its user records, or a plain record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The record was a well-formed KPL aggregate.
    Aggregate(Aggregate),
    /// The record is to be delivered as it is, as a single user record with sub-sequence
    /// number 0; `reason` tells why it was not split.
    Plain {
        /// The record's payload, unchanged.
        data: Bytes,
        /// Why the record is not an aggregate.
        reason: PlainReason,
    },
}

impl Decoded {
    /// The aggregate, if the record was one.
    pub fn aggregate(&self) -> Option<&Aggregate> {
        match self {
            Decoded::Aggregate(a) => Some(a),
            Decoded::Plain { .. } => None,
        }
    }

    /// Whether the record started with the KPL magic but could not be read as an aggregate and
    /// so is delivered as a plain record (see [`PlainReason::is_corrupt`]).
    pub fn is_corrupt_aggregate(&self) -> bool {
        matches!(self, Decoded::Plain { reason, .. } if reason.is_corrupt())
    }
}

/// Why [`decode`] treated a record as plain. The KCL treats all of these the same way (the record
/// is delivered whole); the distinction lets a consumer count corrupt aggregates.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlainReason {
    /// The record does not start with the 4-byte KPL magic: an ordinary record.
    NotAggregated,
    /// The record starts with the magic but has no room for a message and its 16-byte MD5
    /// (the KCL needs at least one byte of message).
    TooShort,
    /// The MD5 trailer does not match the message.
    ChecksumMismatch,
    /// The checksum matches but the message is not a valid `AggregatedRecord`.
    Malformed(Malformed),
}

impl PlainReason {
    /// Whether the record looked like an aggregate (it starts with the magic) but was not a valid
    /// one. `false` only for [`PlainReason::NotAggregated`].
    pub fn is_corrupt(&self) -> bool {
        !matches!(self, PlainReason::NotAggregated)
    }
}

impl fmt::Display for PlainReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlainReason::NotAggregated => f.write_str("no KPL aggregation magic"),
            PlainReason::TooShort => f.write_str("KPL magic, but too short for an aggregate"),
            PlainReason::ChecksumMismatch => f.write_str("KPL aggregate with a wrong MD5 checksum"),
            PlainReason::Malformed(m) => write!(f, "malformed KPL aggregate: {m}"),
        }
    }
}

/// Where and how the protobuf message of an aggregate is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    offset: usize,
    kind: MalformedKind,
}

impl Malformed {
    pub(crate) fn new(offset: usize, kind: MalformedKind) -> Self {
        Self { offset, kind }
    }

    /// The offset in the protobuf message (after the 4 magic bytes) where the problem starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong.
    pub fn kind(&self) -> &MalformedKind {
        &self.kind
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at message offset {}", self.kind, self.offset)
    }
}

impl std::error::Error for Malformed {}

/// The ways a protobuf message can be malformed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MalformedKind {
    /// A varint, a length-delimited field or a fixed-size field runs past the end of its message.
    Truncated,
    /// A varint is longer than 10 bytes or does not fit in 64 bits.
    VarintOverflow,
    /// A field key with number 0 or above 2^29 - 1.
    InvalidFieldNumber(u64),
    /// A field key with wire type 6 or 7.
    InvalidWireType(u8),
    /// An end-group key without its start, or for another group.
    UnexpectedEndGroup,
    /// Groups nest more deeply than protobuf parsers allow (100).
    TooDeep,
    /// A `required` field is absent.
    MissingRequiredField {
        /// The message: `Record` or `Tag`.
        message: &'static str,
        /// The field's name.
        field: &'static str,
    },
}

impl fmt::Display for MalformedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MalformedKind::Truncated => f.write_str("truncated field"),
            MalformedKind::VarintOverflow => f.write_str("varint longer than 64 bits"),
            MalformedKind::InvalidFieldNumber(n) => write!(f, "invalid field number {n}"),
            MalformedKind::InvalidWireType(t) => write!(f, "invalid wire type {t}"),
            MalformedKind::UnexpectedEndGroup => f.write_str("unexpected end-group key"),
            MalformedKind::TooDeep => f.write_str("groups nested too deeply"),
            MalformedKind::MissingRequiredField { message, field } => {
                write!(f, "{message} without its required field {field}")
            }
        }
    }
}

/// Which key table of an aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyTable {
    /// `partition_key_table`.
    PartitionKey,
    /// `explicit_hash_key_table`.
    ExplicitHashKey,
}

impl fmt::Display for KeyTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyTable::PartitionKey => "partition key",
            KeyTable::ExplicitHashKey => "explicit hash key",
        })
    }
}

/// A well-formed, checksummed aggregate that cannot be split.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A user record points past the end of a key table.
    ///
    /// The KCL logs this case and delivers the user records before the bad one; this decoder
    /// refuses the whole aggregate so that the caller decides (skip it, or deliver it plain).
    IndexOutOfRange {
        /// The table the index points into.
        table: KeyTable,
        /// The user record's position in the aggregate.
        sub_sequence_number: u64,
        /// The index found.
        index: u64,
        /// The number of entries in the table.
        table_len: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::IndexOutOfRange {
                table,
                sub_sequence_number,
                index,
                table_len,
            } => write!(
                f,
                "user record {sub_sequence_number} of a KPL aggregate has {table} index {index}, \
                 but the table has {table_len} entries"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// One user record of an aggregate, as the protobuf message holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    partition_key_index: usize,
    explicit_hash_key_index: Option<usize>,
    data: Bytes,
}

/// A decoded KPL aggregate: its key tables and its user records, in order.
///
/// The user records' payloads are slices of the decoded input; nothing was copied.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_client::{PartitionKey, PutRecordsEntry};
/// use kinesis_kcl_compat::aggregation::{decode, AggregateBuilder, Decoded};
///
/// let mut builder = AggregateBuilder::new();
/// builder.add(PutRecordsEntry::new("a", PartitionKey::new("k1")?));
/// builder.add(PutRecordsEntry::new("b", PartitionKey::new("k2")?));
/// let input = builder.finish().unwrap().into_data();
///
/// let Decoded::Aggregate(aggregate) = decode(&input)? else { panic!("not an aggregate") };
/// assert_eq!(aggregate.len(), 2);
/// let second = aggregate.get(1).unwrap();
/// assert_eq!(second.sub_sequence_number(), 1);
/// assert_eq!(second.partition_key(), "k2");
/// assert_eq!(second.data().as_ref(), b"b");
/// assert_eq!(aggregate.partition_key_table(), ["k1", "k2"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregate {
    partition_keys: Vec<String>,
    explicit_hash_keys: Vec<String>,
    records: Vec<Entry>,
}

impl Aggregate {
    /// The number of user records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the aggregate holds no user record (a valid but useless message; the KCL then
    /// delivers nothing for the Kinesis record).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The user record with sub-sequence number `index`.
    pub fn get(&self, index: usize) -> Option<SubRecord<'_>> {
        self.records.get(index).map(|e| self.view(index, e))
    }

    /// The user records in order, numbered from 0.
    pub fn iter(&self) -> SubRecords<'_> {
        SubRecords {
            aggregate: self,
            inner: self.records.iter().enumerate(),
        }
    }

    /// The `partition_key_table` of the message.
    pub fn partition_key_table(&self) -> &[String] {
        &self.partition_keys
    }

    /// The `explicit_hash_key_table` of the message, as written (not checked to be numbers).
    pub fn explicit_hash_key_table(&self) -> &[String] {
        &self.explicit_hash_keys
    }

    fn view<'a>(&'a self, index: usize, e: &'a Entry) -> SubRecord<'a> {
        SubRecord {
            sub_sequence_number: index as u64,
            // Indices were checked against the tables when the aggregate was decoded.
            partition_key: &self.partition_keys[e.partition_key_index],
            explicit_hash_key: e
                .explicit_hash_key_index
                .map(|i| self.explicit_hash_keys[i].as_str()),
            data: &e.data,
        }
    }
}

impl<'a> IntoIterator for &'a Aggregate {
    type Item = SubRecord<'a>;
    type IntoIter = SubRecords<'a>;
    fn into_iter(self) -> SubRecords<'a> {
        self.iter()
    }
}

/// The user records of an [`Aggregate`], in order ([`Aggregate::iter`]).
#[derive(Clone, Debug)]
pub struct SubRecords<'a> {
    aggregate: &'a Aggregate,
    inner: std::iter::Enumerate<std::slice::Iter<'a, Entry>>,
}

impl<'a> Iterator for SubRecords<'a> {
    type Item = SubRecord<'a>;
    fn next(&mut self) -> Option<SubRecord<'a>> {
        self.inner.next().map(|(i, e)| self.aggregate.view(i, e))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for SubRecords<'_> {}

impl DoubleEndedIterator for SubRecords<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner
            .next_back()
            .map(|(i, e)| self.aggregate.view(i, e))
    }
}

impl std::iter::FusedIterator for SubRecords<'_> {}

/// A user record inside an [`Aggregate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubRecord<'a> {
    sub_sequence_number: u64,
    partition_key: &'a str,
    explicit_hash_key: Option<&'a str>,
    data: &'a Bytes,
}

impl<'a> SubRecord<'a> {
    /// Its position in the aggregate, from 0: the sub-sequence number the KCL gives it.
    pub fn sub_sequence_number(&self) -> u64 {
        self.sub_sequence_number
    }

    /// Its partition key. Bytes that are not UTF-8 were replaced by U+FFFD, as the Java KCL
    /// does.
    pub fn partition_key(&self) -> &'a str {
        self.partition_key
    }

    /// Its explicit hash key exactly as written in the aggregate, if it has one.
    pub fn explicit_hash_key(&self) -> Option<&'a str> {
        self.explicit_hash_key
    }

    /// Its payload: a slice of the decoded input (clone it to keep it; that copies nothing).
    pub fn data(&self) -> &'a Bytes {
        self.data
    }

    /// The hash key that routes it: its explicit hash key, or the MD5 of its partition key (see
    /// [`hash::effective_hash_key`]).
    ///
    /// # Errors
    ///
    /// When its explicit hash key is not a decimal integer in `[0, 2^128 - 1]`.
    pub fn effective_hash_key(&self) -> Result<HashKey, InvalidExplicitHashKey> {
        match self.explicit_hash_key {
            Some(ehk) => hash::parse_explicit_hash_key(ehk),
            None => Ok(hash::partition_key_hash(self.partition_key)),
        }
    }

    /// Whether it belongs to a shard owning `range`. A record whose explicit hash key is not a
    /// valid hash key belongs to no shard.
    pub fn is_in(&self, range: &HashKeyRange) -> bool {
        self.effective_hash_key()
            .is_ok_and(|key| range.contains(key))
    }
}

/// Splits a Kinesis record's payload into the user records of a KPL aggregate, or says why it is
/// a plain record.
///
/// The rules are the Java KCL's (`AggregatorUtil.deaggregate`): a payload is an aggregate when
/// it starts with the magic `F3 89 9A C2`, has more than 16 bytes after it, its last 16 bytes are
/// the MD5 of the bytes between, and those bytes parse as an `AggregatedRecord`. Otherwise it is
/// delivered as a single plain record; [`PlainReason`] tells an ordinary record from a corrupt
/// aggregate.
///
/// User record payloads are [`Bytes::slice`]s of `data`: decoding copies no payload.
///
/// Decoding never panics, whatever the input.
///
/// # Errors
///
/// [`DecodeError::IndexOutOfRange`] when the message is valid but a user record points outside a
/// key table.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_kcl_compat::aggregation::{decode, Decoded, PlainReason};
///
/// let plain = Bytes::from_static(b"just a record");
/// match decode(&plain)? {
///     Decoded::Plain { data, reason } => {
///         assert_eq!(data, plain);
///         assert_eq!(reason, PlainReason::NotAggregated);
///     }
///     Decoded::Aggregate(_) => unreachable!(),
/// }
///
/// // The magic and a wrong checksum: a corrupt aggregate, delivered plain.
/// let mut bad = vec![0xF3, 0x89, 0x9A, 0xC2, 0x0A, 0x01, b'k'];
/// bad.extend_from_slice(&[0; 16]);
/// let decoded = decode(&Bytes::from(bad))?;
/// assert!(decoded.is_corrupt_aggregate());
/// # Ok::<(), kinesis_kcl_compat::aggregation::DecodeError>(())
/// ```
pub fn decode(data: &Bytes) -> Result<Decoded, DecodeError> {
    let plain = |reason| {
        Ok(Decoded::Plain {
            data: data.clone(),
            reason,
        })
    };
    if !super::has_magic(data) {
        return plain(PlainReason::NotAggregated);
    }
    if data.len() <= MAGIC.len() + DIGEST_LEN {
        return plain(PlainReason::TooShort);
    }
    let message_end = data.len() - DIGEST_LEN;
    let message = &data[MAGIC.len()..message_end];
    let digest = Md5::digest(message);
    if digest.as_slice() != &data[message_end..] {
        return plain(PlainReason::ChecksumMismatch);
    }
    let parsed = match parse_aggregated_record(message) {
        Ok(parsed) => parsed,
        Err(malformed) => return plain(PlainReason::Malformed(malformed)),
    };
    let partition_keys = parsed
        .partition_keys
        .iter()
        .map(|r| String::from_utf8_lossy(&message[r.clone()]).into_owned())
        .collect::<Vec<_>>();
    let explicit_hash_keys = parsed
        .explicit_hash_keys
        .iter()
        .map(|r| String::from_utf8_lossy(&message[r.clone()]).into_owned())
        .collect::<Vec<_>>();
    let mut records = Vec::with_capacity(parsed.records.len());
    for (i, r) in parsed.records.into_iter().enumerate() {
        let check = |table, index: u64, table_len: usize| {
            usize::try_from(index)
                .ok()
                .filter(|&idx| idx < table_len)
                .ok_or(DecodeError::IndexOutOfRange {
                    table,
                    sub_sequence_number: i as u64,
                    index,
                    table_len,
                })
        };
        let partition_key_index = check(
            KeyTable::PartitionKey,
            r.partition_key_index,
            partition_keys.len(),
        )?;
        let explicit_hash_key_index = r
            .explicit_hash_key_index
            .map(|idx| check(KeyTable::ExplicitHashKey, idx, explicit_hash_keys.len()))
            .transpose()?;
        let data_range = (r.data.start + MAGIC.len())..(r.data.end + MAGIC.len());
        records.push(Entry {
            partition_key_index,
            explicit_hash_key_index,
            data: data.slice(data_range),
        });
    }
    Ok(Decoded::Aggregate(Aggregate {
        partition_keys,
        explicit_hash_keys,
        records,
    }))
}

/// A user record as parsed, before its indices are checked.
#[derive(Debug)]
struct RawRecord {
    partition_key_index: u64,
    explicit_hash_key_index: Option<u64>,
    /// Range in the message.
    data: Range<usize>,
}

/// The message as parsed: ranges in the message, not yet checked.
#[derive(Debug)]
struct RawAggregate {
    partition_keys: Vec<Range<usize>>,
    explicit_hash_keys: Vec<Range<usize>>,
    records: Vec<RawRecord>,
}

/// Field numbers of `AggregatedRecord`.
const AGG_PARTITION_KEY_TABLE: u32 = 1;
const AGG_EXPLICIT_HASH_KEY_TABLE: u32 = 2;
const AGG_RECORDS: u32 = 3;
/// Field numbers of `Record`.
const REC_PARTITION_KEY_INDEX: u32 = 1;
const REC_EXPLICIT_HASH_KEY_INDEX: u32 = 2;
const REC_DATA: u32 = 3;
const REC_TAGS: u32 = 4;
/// Field numbers of `Tag`.
const TAG_KEY: u32 = 1;

/// Parses `AggregatedRecord`. Fields come in any order; a known field number with an unexpected
/// wire type is skipped as an unknown field, as the generated protobuf parsers do.
fn parse_aggregated_record(message: &[u8]) -> Result<RawAggregate, Malformed> {
    let mut r = Reader::new(message);
    let mut out = RawAggregate {
        partition_keys: Vec::new(),
        explicit_hash_keys: Vec::new(),
        records: Vec::new(),
    };
    while !r.is_done() {
        let key = r.key()?;
        match (key.field, key.wire_type) {
            (AGG_PARTITION_KEY_TABLE, wire::LEN) => out.partition_keys.push(r.len_delimited()?),
            (AGG_EXPLICIT_HASH_KEY_TABLE, wire::LEN) => {
                out.explicit_hash_keys.push(r.len_delimited()?);
            }
            (AGG_RECORDS, wire::LEN) => {
                let range = r.len_delimited()?;
                out.records.push(parse_record(r.sub(range))?);
            }
            _ => r.skip(key, 1)?,
        }
    }
    Ok(out)
}

/// Parses one `Record`; `r` reads exactly its bytes.
fn parse_record(mut r: Reader<'_>) -> Result<RawRecord, Malformed> {
    let start = r.pos();
    let mut partition_key_index = None;
    let mut explicit_hash_key_index = None;
    let mut data = None;
    while !r.is_done() {
        let key = r.key()?;
        match (key.field, key.wire_type) {
            (REC_PARTITION_KEY_INDEX, wire::VARINT) => partition_key_index = Some(r.varint()?),
            (REC_EXPLICIT_HASH_KEY_INDEX, wire::VARINT) => {
                explicit_hash_key_index = Some(r.varint()?);
            }
            (REC_DATA, wire::LEN) => data = Some(r.len_delimited()?),
            (REC_TAGS, wire::LEN) => {
                let range = r.len_delimited()?;
                check_tag(r.sub(range))?;
            }
            _ => r.skip(key, 2)?,
        }
    }
    let missing = |field| {
        Malformed::new(
            start,
            MalformedKind::MissingRequiredField {
                message: "Record",
                field,
            },
        )
    };
    Ok(RawRecord {
        partition_key_index: partition_key_index.ok_or_else(|| missing("partition_key_index"))?,
        explicit_hash_key_index,
        data: data.ok_or_else(|| missing("data"))?,
    })
}

/// Checks that a `Tag` is well formed and has its required `key`; tags are otherwise unused.
fn check_tag(mut r: Reader<'_>) -> Result<(), Malformed> {
    let start = r.pos();
    let mut has_key = false;
    while !r.is_done() {
        let key: Key = r.key()?;
        if (key.field, key.wire_type) == (TAG_KEY, wire::LEN) {
            has_key = true;
        }
        r.skip(key, 3)?;
    }
    if has_key {
        Ok(())
    } else {
        Err(Malformed::new(
            start,
            MalformedKind::MissingRequiredField {
                message: "Tag",
                field: "key",
            },
        ))
    }
}
