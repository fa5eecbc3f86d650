//! The KPL aggregated record format: many user records packed into one Kinesis record.
//!
//! An aggregate is the 4 magic bytes `F3 89 9A C2`, then a protobuf (proto2) message, then the
//! 16-byte MD5 of that message (of the message only, not of the magic):
//!
//! ```text
//! message AggregatedRecord {
//!   repeated string partition_key_table     = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records                 = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index     = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes  data                    = 3;
//!   repeated Tag    tags                    = 4;
//! }
//! message Tag { required string key = 1; optional string value = 2; }
//! ```
//!
//! User records refer to their keys by index into the two tables. They are numbered from 0 in
//! message order; that number is their sub-sequence number
//! ([`crate::sequence::ExtendedSequenceNumber`]).
//!
//! [`decode`] splits a record (copying no payload) and follows the Java KCL in treating anything
//! that is not a valid aggregate as a plain record, while telling why ([`PlainReason`]).
//! [`AggregateBuilder`] packs records and knows the exact encoded size at every step.
//!
//! ```
//! use kinesis_client::{PartitionKey, PutRecordsEntry};
//! use kinesis_kcl_compat::aggregation::{decode, AggregateBuilder, Decoded};
//!
//! let mut builder = AggregateBuilder::new();
//! for i in 0..3 {
//!     builder.add(PutRecordsEntry::new(format!("event {i}"), PartitionKey::new("device-7")?));
//! }
//! let aggregate = builder.finish().expect("three records");
//!
//! let Decoded::Aggregate(split) = decode(aggregate.data())? else { unreachable!() };
//! let payloads: Vec<_> = split.iter().map(|r| r.data().clone()).collect();
//! assert_eq!(payloads, ["event 0", "event 1", "event 2"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod encode;
mod wire;

pub use decode::{
    Aggregate, DecodeError, Decoded, KeyTable, Malformed, MalformedKind, PlainReason, SubRecord,
    SubRecords, decode,
};
pub use encode::{AggregateBuilder, EncodedAggregate, UserRecord, WouldExceedLimit};

/// The 4 bytes an aggregate starts with.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// The length of the MD5 trailer.
pub const DIGEST_LEN: usize = 16;

/// The bytes an aggregate has besides its protobuf message: magic and MD5.
pub const OVERHEAD: usize = MAGIC.len() + DIGEST_LEN;

/// Whether `data` starts with the aggregate magic (a cheap pre-check; [`decode`] decides).
///
/// ```
/// use kinesis_kcl_compat::aggregation::has_magic;
///
/// assert!(has_magic(&[0xF3, 0x89, 0x9A, 0xC2, 0x00]));
/// assert!(!has_magic(b"{\"json\": true}"));
/// ```
pub fn has_magic(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}
