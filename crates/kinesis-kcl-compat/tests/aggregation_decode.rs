//! Decoding KPL aggregates built by hand, byte by byte: the plain-record fallbacks, malformed
//! messages, unknown fields, index errors and zero-copy payloads.

use bytes::Bytes;
use kinesis_client::{HashKey, HashKeyRange, PartitionKey, PutRecordsEntry};
use kinesis_kcl_compat::aggregation::{
    AggregateBuilder, DecodeError, Decoded, KeyTable, MAGIC, MalformedKind, PlainReason, decode,
    has_magic,
};
use kinesis_kcl_compat::hash::{Placement, check_aggregate};
use md5::{Digest, Md5};

/// A minimal protobuf writer for crafting messages, independent of the crate's encoder.
#[derive(Default, Clone)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(mut self, mut v: u64) -> Self {
        while v >= 0x80 {
            self.0.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }
    fn key(self, field: u64, wire_type: u64) -> Self {
        self.varint(field << 3 | wire_type)
    }
    fn uint(self, field: u64, v: u64) -> Self {
        self.key(field, 0).varint(v)
    }
    fn bytes(self, field: u64, b: &[u8]) -> Self {
        let mut m = self.key(field, 2).varint(b.len() as u64);
        m.0.extend_from_slice(b);
        m
    }
    fn msg(self, field: u64, m: &Msg) -> Self {
        self.bytes(field, &m.0)
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
}

/// Magic + message + MD5(message).
fn wrap(message: &[u8]) -> Bytes {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(message);
    out.extend_from_slice(&Md5::digest(message));
    Bytes::from(out)
}

fn record(pk: u64, ehk: Option<u64>, data: &[u8]) -> Msg {
    let m = Msg::default().uint(1, pk);
    let m = match ehk {
        Some(i) => m.uint(2, i),
        None => m,
    };
    m.bytes(3, data)
}

fn plain_reason(input: &Bytes) -> PlainReason {
    match decode(input).expect("no index error") {
        Decoded::Plain { data, reason } => {
            // The plain record is the input itself, not a copy.
            assert_eq!(data.as_ptr(), input.as_ptr());
            assert_eq!(data.len(), input.len());
            reason
        }
        Decoded::Aggregate(a) => panic!("decoded as an aggregate of {} records", a.len()),
    }
}

fn malformed_kind(message: &Msg) -> MalformedKind {
    match plain_reason(&wrap(&message.0)) {
        PlainReason::Malformed(m) => m.kind().clone(),
        other => panic!("expected a malformed message, got {other:?}"),
    }
}

fn aggregate(input: &Bytes) -> kinesis_kcl_compat::aggregation::Aggregate {
    match decode(input) {
        Ok(Decoded::Aggregate(a)) => a,
        other => panic!("expected an aggregate, got {other:?}"),
    }
}

#[test]
fn records_without_the_magic_are_plain() {
    for input in [
        &b""[..],
        b"\xF3",
        b"\xF3\x89\x9A",
        b"hello world, this is long enough to hold a digest",
        b"\xF3\x89\x9A\xC3 almost the magic, but not quite",
    ] {
        let input = Bytes::copy_from_slice(input);
        assert!(!has_magic(&input));
        let reason = plain_reason(&input);
        assert_eq!(reason, PlainReason::NotAggregated);
        assert!(!reason.is_corrupt());
        assert!(!decode(&input).unwrap().is_corrupt_aggregate());
    }
}

#[test]
fn the_magic_without_room_for_a_message_is_too_short() {
    // As the KCL: more than 16 bytes must follow the magic.
    for extra in [0, 1, 15, 16] {
        let mut input = MAGIC.to_vec();
        input.extend(std::iter::repeat_n(0u8, extra));
        let reason = plain_reason(&Bytes::from(input));
        assert_eq!(
            reason,
            PlainReason::TooShort,
            "{extra} bytes after the magic"
        );
        assert!(reason.is_corrupt());
    }
    // The MD5 of the empty message after the magic: still too short, as the KCL has it.
    assert_eq!(plain_reason(&wrap(b"")), PlainReason::TooShort);
}

#[test]
fn a_wrong_checksum_makes_a_plain_record() {
    let good = wrap(
        &Msg::default()
            .bytes(1, b"k")
            .msg(3, &record(0, None, b"x"))
            .0,
    );
    aggregate(&good);
    for flip in [4, good.len() / 2, good.len() - 1] {
        let mut bad = good.to_vec();
        bad[flip] ^= 0x01;
        let bad = Bytes::from(bad);
        let decoded = decode(&bad).unwrap();
        assert!(decoded.is_corrupt_aggregate());
        assert!(decoded.aggregate().is_none());
        assert_eq!(plain_reason(&bad), PlainReason::ChecksumMismatch);
    }
}

#[test]
fn malformed_messages_make_plain_records() {
    let ok_record = record(0, None, b"x");
    // A length running past the end.
    assert_eq!(
        malformed_kind(&Msg::default().key(1, 2).varint(10).raw(b"abc")),
        MalformedKind::Truncated
    );
    // A varint cut short.
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 0).raw(&[0x80])),
        MalformedKind::Truncated
    );
    // Fixed-width unknown fields cut short.
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 1).raw(&[0; 7])),
        MalformedKind::Truncated
    );
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 5).raw(&[0; 3])),
        MalformedKind::Truncated
    );
    // An 11-byte varint.
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 0).raw(&[0xff; 10]).raw(&[0x01])),
        MalformedKind::VarintOverflow
    );
    // Field number 0.
    assert_eq!(
        malformed_kind(&Msg::default().key(0, 0).varint(1)),
        MalformedKind::InvalidFieldNumber(0)
    );
    // Wire types 6 and 7.
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 6)),
        MalformedKind::InvalidWireType(6)
    );
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 7)),
        MalformedKind::InvalidWireType(7)
    );
    // An end-group key with no group open.
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 4)),
        MalformedKind::UnexpectedEndGroup
    );
    // A group closed by the end key of another field.
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 3).key(6, 4)),
        MalformedKind::UnexpectedEndGroup
    );
    // A group never closed.
    assert_eq!(
        malformed_kind(&Msg::default().key(5, 3).uint(1, 1)),
        MalformedKind::Truncated
    );
    // Groups nested past protobuf's recursion limit.
    let mut deep = Msg::default();
    for _ in 0..200 {
        deep = deep.key(5, 3);
    }
    assert_eq!(malformed_kind(&deep), MalformedKind::TooDeep);
    // Required fields of Record.
    assert_eq!(
        malformed_kind(
            &Msg::default()
                .bytes(1, b"k")
                .msg(3, &Msg::default().bytes(3, b"x"))
        ),
        MalformedKind::MissingRequiredField {
            message: "Record",
            field: "partition_key_index"
        }
    );
    assert_eq!(
        malformed_kind(
            &Msg::default()
                .bytes(1, b"k")
                .msg(3, &Msg::default().uint(1, 0))
        ),
        MalformedKind::MissingRequiredField {
            message: "Record",
            field: "data"
        }
    );
    // Tag without its key.
    let tagged = ok_record.clone().msg(4, &Msg::default().bytes(2, b"value"));
    assert_eq!(
        malformed_kind(&Msg::default().bytes(1, b"k").msg(3, &tagged)),
        MalformedKind::MissingRequiredField {
            message: "Tag",
            field: "key"
        }
    );
    // A malformed record inside a well-formed outer message.
    let broken = Msg::default().uint(1, 0).key(3, 2).varint(50).raw(b"short");
    assert_eq!(
        malformed_kind(&Msg::default().bytes(1, b"k").msg(3, &broken)),
        MalformedKind::Truncated
    );
}

#[test]
fn malformed_reports_carry_an_offset_and_a_message() {
    let message = Msg::default().bytes(1, b"key").key(5, 7);
    let PlainReason::Malformed(m) = plain_reason(&wrap(&message.0)) else {
        panic!("expected a malformed message")
    };
    assert_eq!(m.offset(), 5);
    assert_eq!(m.to_string(), "invalid wire type 7 at message offset 5");
    assert!(
        PlainReason::Malformed(m)
            .to_string()
            .starts_with("malformed KPL aggregate")
    );
    assert_eq!(
        PlainReason::ChecksumMismatch.to_string(),
        "KPL aggregate with a wrong MD5 checksum"
    );
}

#[test]
fn unknown_fields_and_unexpected_wire_types_are_skipped() {
    let group = Msg::default()
        .key(9, 3)
        .uint(1, 5)
        .key(10, 3)
        .key(10, 4)
        .key(9, 4);
    let record = Msg::default()
        .key(7, 1)
        .raw(&[1; 8]) // unknown fixed64
        .uint(1, 1)
        .bytes(1, b"partition_key_index as bytes: skipped")
        .key(2, 5)
        .raw(&[0; 4]) // explicit_hash_key_index as fixed32: skipped
        .raw(&group.0)
        .bytes(3, b"payload")
        .msg(
            4,
            &Msg::default()
                .bytes(1, b"tag")
                .bytes(2, b"value")
                .uint(3, 1),
        )
        .uint(15, 99);
    let message = Msg::default()
        .uint(1, 3) // partition_key_table as a varint: skipped
        .bytes(1, b"k0")
        .bytes(1, b"k1")
        .raw(&group.0)
        .key(1000, 5)
        .raw(&[0; 4])
        .msg(3, &record)
        .bytes(2, b"17")
        .key(3, 0)
        .varint(1); // records as a varint: skipped
    let a = aggregate(&wrap(&message.0));
    assert_eq!(a.partition_key_table(), ["k0", "k1"]);
    assert_eq!(a.explicit_hash_key_table(), ["17"]);
    assert_eq!(a.len(), 1);
    let r = a.get(0).unwrap();
    assert_eq!(r.partition_key(), "k1");
    assert_eq!(r.explicit_hash_key(), None);
    assert_eq!(r.data().as_ref(), b"payload");
}

#[test]
fn tables_may_follow_the_records_and_the_last_value_of_a_field_wins() {
    let message = Msg::default()
        .msg(
            3,
            &Msg::default()
                .uint(1, 5)
                .uint(1, 1)
                .bytes(3, b"old")
                .uint(2, 0)
                .bytes(3, b"new"),
        )
        .msg(3, &record(0, None, b""))
        .bytes(2, b"340282366920938463463374607431768211455")
        .bytes(1, b"first")
        .bytes(1, b"second");
    let a = aggregate(&wrap(&message.0));
    let records: Vec<_> = a.iter().collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].partition_key(), "second");
    assert_eq!(
        records[0].explicit_hash_key(),
        Some("340282366920938463463374607431768211455")
    );
    assert_eq!(records[0].effective_hash_key().unwrap(), HashKey::MAX);
    assert_eq!(records[0].data().as_ref(), b"new");
    assert_eq!(records[1].partition_key(), "first");
    assert_eq!(records[1].data().len(), 0);
    assert_eq!(records[1].sub_sequence_number(), 1);
    // Reverse iteration and IntoIterator give the same records.
    let back: Vec<_> = a.iter().rev().map(|r| r.sub_sequence_number()).collect();
    assert_eq!(back, [1, 0]);
    assert_eq!((&a).into_iter().len(), 2);
}

#[test]
fn an_aggregate_without_records_splits_into_nothing() {
    let a = aggregate(&wrap(&Msg::default().bytes(1, b"unused").0));
    assert!(a.is_empty());
    assert_eq!(a.iter().count(), 0);
    assert!(a.get(0).is_none());
}

#[test]
fn out_of_range_indices_are_errors() {
    let message = Msg::default()
        .bytes(1, b"k")
        .msg(3, &record(0, None, b"fine"))
        .msg(3, &record(1, None, b"bad"));
    let err = decode(&wrap(&message.0)).unwrap_err();
    assert_eq!(
        err,
        DecodeError::IndexOutOfRange {
            table: KeyTable::PartitionKey,
            sub_sequence_number: 1,
            index: 1,
            table_len: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "user record 1 of a KPL aggregate has partition key index 1, but the table has 1 entries"
    );

    let message = Msg::default()
        .bytes(1, b"k")
        .msg(3, &record(0, Some(0), b"no ehk table"));
    assert_eq!(
        decode(&wrap(&message.0)).unwrap_err(),
        DecodeError::IndexOutOfRange {
            table: KeyTable::ExplicitHashKey,
            sub_sequence_number: 0,
            index: 0,
            table_len: 0
        }
    );

    let message = Msg::default()
        .bytes(1, b"k")
        .msg(3, &record(u64::MAX, None, b"huge"));
    assert!(matches!(
        decode(&wrap(&message.0)),
        Err(DecodeError::IndexOutOfRange {
            index: u64::MAX,
            ..
        })
    ));
}

#[test]
fn partition_keys_that_are_not_utf8_are_replaced_as_java_does() {
    let message = Msg::default()
        .bytes(1, b"ab\xffcd")
        .msg(3, &record(0, None, b"x"));
    let a = aggregate(&wrap(&message.0));
    assert_eq!(a.get(0).unwrap().partition_key(), "ab\u{FFFD}cd");
}

#[test]
fn invalid_explicit_hash_keys_make_unroutable_records() {
    let message = Msg::default()
        .bytes(1, b"k")
        .bytes(2, b"not a number")
        .bytes(2, b"-1")
        .bytes(2, b"007")
        .msg(3, &record(0, Some(0), b"a"))
        .msg(3, &record(0, Some(1), b"b"))
        .msg(3, &record(0, Some(2), b"c"));
    let a = aggregate(&wrap(&message.0));
    let check = check_aggregate(&a, &HashKeyRange::FULL);
    assert_eq!(
        check.placements(),
        [
            Placement::Unroutable,
            Placement::Unroutable,
            Placement::Inside(HashKey(7))
        ]
    );
    assert_eq!(check.dropped_count(), 2);
    let err = a.get(0).unwrap().effective_hash_key().unwrap_err();
    assert_eq!(err.key(), "not a number");
    assert!(!a.get(0).unwrap().is_in(&HashKeyRange::FULL));
}

#[test]
fn payloads_are_slices_of_the_input() {
    let mut builder = AggregateBuilder::new();
    let payloads: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; usize::from(i) * 7]).collect();
    for (i, p) in payloads.iter().enumerate() {
        builder.add(PutRecordsEntry::new(
            p.clone(),
            PartitionKey::new(format!("key-{}", i % 5)).unwrap(),
        ));
    }
    let input = builder.finish().unwrap().into_data();
    let start = input.as_ptr() as usize;
    let end = start + input.len();
    let a = aggregate(&input);
    assert_eq!(a.len(), payloads.len());
    let mut previous_end = start;
    for (r, expected) in a.iter().zip(&payloads) {
        assert_eq!(r.data().as_ref(), expected.as_slice());
        let p = r.data().as_ptr() as usize;
        assert!(
            p >= start && p + r.data().len() <= end,
            "payload {} is not inside the input buffer",
            r.sub_sequence_number()
        );
        // Payloads come in order, one after the other, in the input.
        assert!(p >= previous_end);
        previous_end = p + r.data().len();
        // And the slice is where the bytes are in the input.
        assert_eq!(
            &input[p - start..p - start + r.data().len()],
            expected.as_slice()
        );
    }
    // The slices keep the input alive after it is dropped.
    let kept = a.get(49).unwrap().data().clone();
    drop(a);
    drop(input);
    assert_eq!(kept.as_ref(), payloads[49].as_slice());
}

#[test]
fn tags_are_accepted_and_ignored() {
    let tagged = record(0, None, b"x").msg(4, &Msg::default().bytes(1, b"name"));
    let message = Msg::default().bytes(1, b"k").msg(3, &tagged);
    let a = aggregate(&wrap(&message.0));
    assert_eq!(a.get(0).unwrap().data().as_ref(), b"x");
}
