//! Decodes arbitrary bytes as KPL aggregates.
//!
//! Each input is decoded twice: as it is (mostly plain records), and framed with the magic and
//! the correct MD5 of the input, so that the protobuf parser sees every input (the fuzzer could
//! never forge the checksum itself).
//!
//! Properties: decoding never panics; a plain record is the input itself; a framed input is never
//! taken for anything but an aggregate or a malformed one; user records are numbered 0..n and
//! their payloads lie inside the input (no copy); every user record can be placed against a hash
//! key range; and when every key is valid, re-encoding the user records with `AggregateBuilder`
//! gives an aggregate of exactly the reported size that decodes to the same user records.

#![no_main]

use bytes::Bytes;
use kinesis_client::{HashKey, HashKeyRange, PartitionKey, PutRecordsEntry};
use kinesis_kcl_compat::aggregation::{
    Aggregate, AggregateBuilder, Decoded, MAGIC, PlainReason, decode,
};
use kinesis_kcl_compat::hash::check_aggregate;
use libfuzzer_sys::fuzz_target;
use md5::{Digest, Md5};

fuzz_target!(|data: &[u8]| {
    check(&Bytes::copy_from_slice(data));

    let mut framed = MAGIC.to_vec();
    framed.extend_from_slice(data);
    framed.extend_from_slice(&Md5::digest(data));
    match check(&Bytes::from(framed)) {
        Some(PlainReason::NotAggregated | PlainReason::ChecksumMismatch) => {
            panic!("a framed message was not recognised")
        }
        Some(PlainReason::TooShort) => assert!(data.is_empty()),
        _ => {}
    }
});

/// Decodes `input`, checks the properties, and returns why it was plain, if it was.
fn check(input: &Bytes) -> Option<PlainReason> {
    match decode(input) {
        Ok(Decoded::Plain { data, reason }) => {
            assert_eq!(&data, input);
            let _ = reason.to_string();
            Some(reason)
        }
        Ok(Decoded::Aggregate(aggregate)) => {
            check_aggregate_properties(input, &aggregate);
            None
        }
        Err(e) => {
            let _ = e.to_string();
            None
        }
    }
}

fn check_aggregate_properties(input: &Bytes, aggregate: &Aggregate) {
    let bounds = input.as_ptr_range();
    let mut builder = AggregateBuilder::new();
    let mut reencodable = true;
    for (i, r) in aggregate.iter().enumerate() {
        assert_eq!(r.sub_sequence_number(), i as u64);
        if !r.data().is_empty() {
            let p = r.data().as_ptr_range();
            assert!(
                bounds.start <= p.start && p.end <= bounds.end,
                "payload copied"
            );
        }
        let _ = r.effective_hash_key();
        let pk = PartitionKey::new(r.partition_key());
        let ehk = r.explicit_hash_key().map(str::parse::<HashKey>).transpose();
        match (pk, ehk) {
            (Ok(pk), Ok(ehk)) => {
                let entry = PutRecordsEntry::new(r.data().clone(), pk);
                let entry = match ehk {
                    Some(k) => entry.with_explicit_hash_key(k),
                    None => entry,
                };
                let predicted = builder.size_with(&entry);
                assert_eq!(builder.add(entry), predicted);
            }
            _ => reencodable = false,
        }
    }
    assert_eq!(
        check_aggregate(aggregate, &HashKeyRange::FULL)
            .placements()
            .len(),
        aggregate.len()
    );
    if !reencodable {
        return;
    }
    let size = builder.encoded_size();
    let Some(encoded) = builder.finish() else {
        assert!(aggregate.is_empty());
        return;
    };
    assert_eq!(encoded.data().len(), size);
    let Ok(Decoded::Aggregate(again)) = decode(encoded.data()) else {
        panic!("re-encoded aggregate did not decode")
    };
    assert_eq!(again.len(), aggregate.len());
    for (a, b) in aggregate.iter().zip(again.iter()) {
        assert_eq!(a.partition_key(), b.partition_key());
        assert_eq!(a.explicit_hash_key(), b.explicit_hash_key());
        assert_eq!(a.data(), b.data());
    }
}
