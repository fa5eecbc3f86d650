//! Property tests of the aggregate encoder: what is encoded decodes to the same user records,
//! and the size the builder reports is always the size it produces.

use std::collections::HashSet;

use bytes::Bytes;
use kinesis_client::{HashKey, PartitionKey, PutRecordsEntry};
use kinesis_kcl_compat::aggregation::{
    AggregateBuilder, Decoded, EncodedAggregate, OVERHEAD, decode,
};
use kinesis_kcl_compat::hash::entry_hash_key;
use proptest::prelude::*;

fn partition_key() -> impl Strategy<Value = PartitionKey> {
    prop_oneof![
        // A small pool, so that keys repeat and the tables deduplicate.
        3 => prop::sample::select(vec!["a", "b", "user-1", "日本", "é"]).prop_map(String::from),
        // Any Unicode, 1 to 256 characters.
        1 => "\\PC{1,256}",
        // Long ASCII keys, whose length needs a two-byte varint.
        1 => "[a-z]{100,256}",
    ]
    .prop_map(|s| PartitionKey::new(s).expect("1 to 256 characters"))
}

fn explicit_hash_key() -> impl Strategy<Value = Option<HashKey>> {
    prop_oneof![
        2 => Just(None),
        1 => prop::sample::select(vec![0u128, 1, 127, 1 << 127, u128::MAX]).prop_map(|k| Some(HashKey(k))),
        1 => any::<u128>().prop_map(|k| Some(HashKey(k))),
    ]
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..64),
        1 => prop::collection::vec(any::<u8>(), 100..300),
        // Around the one- to two-byte varint boundary of the data length and the record length.
        1 => (120usize..140).prop_map(|n| vec![7u8; n]),
        // (Generated from a seed: 16 KiB of independent bytes would make the test slow.)
        1 => (16_370usize..16_400, any::<u8>())
            .prop_map(|(n, seed)| (0..n).map(|i| seed.wrapping_add(i as u8)).collect()),
    ]
}

fn entry() -> impl Strategy<Value = PutRecordsEntry> {
    (data(), partition_key(), explicit_hash_key()).prop_map(|(data, key, ehk)| {
        let e = PutRecordsEntry::new(data, key);
        match ehk {
            Some(k) => e.with_explicit_hash_key(k),
            None => e,
        }
    })
}

/// Checks that `encoded` decodes to exactly `entries`, with deduplicated tables in first-use
/// order and the routing of the first entry.
fn assert_round_trip(encoded: &EncodedAggregate, entries: &[PutRecordsEntry]) {
    let Ok(Decoded::Aggregate(aggregate)) = decode(encoded.data()) else {
        panic!("the encoder's output did not decode as an aggregate")
    };
    assert_eq!(aggregate.len(), entries.len());
    assert_eq!(encoded.record_count(), entries.len());
    for (i, (r, e)) in aggregate.iter().zip(entries).enumerate() {
        assert_eq!(r.sub_sequence_number(), i as u64);
        assert_eq!(r.partition_key(), e.partition_key().as_str());
        assert_eq!(
            r.explicit_hash_key().map(str::to_owned),
            e.explicit_hash_key().map(|k| k.to_string())
        );
        assert_eq!(r.data(), e.data());
        assert_eq!(r.effective_hash_key().unwrap(), entry_hash_key(e));
    }
    let mut seen = HashSet::new();
    let first_use: Vec<&str> = entries
        .iter()
        .map(|e| e.partition_key().as_str())
        .filter(|k| seen.insert(*k))
        .collect();
    assert_eq!(aggregate.partition_key_table(), first_use.as_slice());
    let mut seen = HashSet::new();
    let first_use: Vec<String> = entries
        .iter()
        .filter_map(|e| e.explicit_hash_key())
        .filter(|k| seen.insert(*k))
        .map(|k| k.to_string())
        .collect();
    assert_eq!(aggregate.explicit_hash_key_table(), first_use.as_slice());
    assert_eq!(encoded.partition_key(), entries[0].partition_key());
    assert_eq!(encoded.explicit_hash_key(), entry_hash_key(&entries[0]));
    assert_eq!(
        encoded.size(),
        encoded.data().len() + entries[0].partition_key().byte_len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_gives_back_every_record(
        entries in prop::collection::vec(entry(), 1..40),
    ) {
        let mut builder = AggregateBuilder::new();
        for e in &entries {
            builder.add(e.clone());
        }
        let encoded = builder.finish().expect("not empty");
        assert_round_trip(&encoded, &entries);
    }

    #[test]
    fn the_reported_size_is_the_encoded_size(
        entries in prop::collection::vec(entry(), 1..40),
    ) {
        let mut builder = AggregateBuilder::new();
        prop_assert_eq!(builder.encoded_size(), OVERHEAD);
        for e in &entries {
            let predicted = builder.size_with(e);
            let reported = builder.add(e.clone());
            prop_assert_eq!(reported, predicted);
            prop_assert_eq!(builder.encoded_size(), predicted);
            // The size after every step is what finishing at that step produces.
            let finished = builder.clone().finish().expect("not empty");
            prop_assert_eq!(finished.data().len(), predicted);
        }
    }

    #[test]
    fn try_add_keeps_the_aggregate_within_its_limit(
        entries in prop::collection::vec(entry(), 1..40),
        limit in 20usize..20_000,
    ) {
        let mut builder = AggregateBuilder::new();
        let mut accepted = Vec::new();
        for e in entries {
            let fits = builder.would_fit(&e, limit);
            let predicted = builder.size_with(&e);
            prop_assert_eq!(fits, predicted <= limit);
            let before = builder.encoded_size();
            match builder.try_add(e.clone(), limit) {
                Ok(size) => {
                    prop_assert!(fits);
                    prop_assert_eq!(size, predicted);
                    accepted.push(e);
                }
                Err(refused) => {
                    prop_assert!(!fits);
                    prop_assert_eq!(refused.size(), predicted);
                    prop_assert_eq!(refused.limit(), limit);
                    prop_assert_eq!(refused.entry(), &e);
                    prop_assert_eq!(builder.encoded_size(), before);
                    prop_assert_eq!(refused.into_entry(), e);
                }
            }
            prop_assert!(builder.encoded_size() <= limit.max(OVERHEAD));
            prop_assert_eq!(builder.len(), accepted.len());
        }
        match builder.finish() {
            Some(encoded) => {
                prop_assert!(encoded.data().len() <= limit);
                assert_round_trip(&encoded, &accepted);
            }
            None => prop_assert!(accepted.is_empty()),
        }
    }
}

#[test]
fn an_empty_builder_finishes_to_nothing() {
    let builder = AggregateBuilder::new();
    assert!(builder.is_empty());
    assert_eq!(builder.encoded_size(), OVERHEAD);
    assert!(builder.finish().is_none());
}

#[test]
fn a_taken_builder_starts_again_empty() {
    let mut builder = AggregateBuilder::new();
    builder.add(PutRecordsEntry::new("x", PartitionKey::new("k").unwrap()));
    let first = std::mem::take(&mut builder).finish().unwrap();
    assert_eq!(first.record_count(), 1);
    assert!(builder.is_empty());
    builder.add(PutRecordsEntry::new("y", PartitionKey::new("j").unwrap()));
    let second = builder.finish().unwrap();
    assert_eq!(second.partition_key().as_str(), "j");
}

#[test]
fn sizes_stay_exact_across_varint_boundaries_of_table_indices() {
    // 20,000 distinct partition keys and explicit hash keys: indices cross 128 and 16,384, where
    // their varints grow to two and three bytes.
    let mut builder = AggregateBuilder::new();
    let mut entries = Vec::new();
    for i in 0..20_000u32 {
        let e = PutRecordsEntry::new(Bytes::new(), PartitionKey::new(format!("k{i}")).unwrap())
            .with_explicit_hash_key(HashKey(u128::from(i) * 1_000_003));
        let predicted = builder.size_with(&e);
        assert_eq!(builder.add(e.clone()), predicted);
        entries.push(e);
    }
    let size = builder.encoded_size();
    let encoded = builder.finish().unwrap();
    assert_eq!(encoded.data().len(), size);
    assert_round_trip(&encoded, &entries);
}

#[test]
fn sizes_stay_exact_across_varint_boundaries_of_payload_lengths() {
    for len in [
        0usize, 1, 105, 106, 107, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152,
    ] {
        let mut builder = AggregateBuilder::new();
        let e = PutRecordsEntry::new(vec![0xAB; len], PartitionKey::new("p").unwrap());
        let predicted = builder.size_with(&e);
        builder.add(e.clone());
        let encoded = builder.finish().unwrap();
        assert_eq!(encoded.data().len(), predicted, "payload of {len} bytes");
        assert_round_trip(&encoded, &[e]);
    }
}

#[test]
fn the_limit_is_inclusive() {
    let e = PutRecordsEntry::new(vec![1u8; 10], PartitionKey::new("k").unwrap());
    let exact = AggregateBuilder::new().size_with(&e);
    assert!(AggregateBuilder::new().would_fit(&e, exact));
    assert!(!AggregateBuilder::new().would_fit(&e, exact - 1));
    let mut builder = AggregateBuilder::new();
    assert_eq!(builder.try_add(e.clone(), exact).unwrap(), exact);
    let refused = AggregateBuilder::new().try_add(e, exact - 1).unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "adding the record would grow the aggregate to {exact} bytes, over the limit of {}",
            exact - 1
        )
    );
}

#[test]
fn the_aggregate_is_written_as_the_first_record() {
    let mut builder = AggregateBuilder::new();
    builder.add(
        PutRecordsEntry::new("1", PartitionKey::new("first").unwrap())
            .with_explicit_hash_key(HashKey(42)),
    );
    builder.add(PutRecordsEntry::new(
        "2",
        PartitionKey::new("second").unwrap(),
    ));
    let encoded = builder.finish().unwrap();
    let entry = encoded.clone().into_entry();
    assert_eq!(entry.partition_key().as_str(), "first");
    assert_eq!(entry.explicit_hash_key(), Some(HashKey(42)));
    assert_eq!(entry.data(), encoded.data());
    assert_eq!(entry.size(), encoded.size());
    assert!(format!("{encoded:?}").contains("record_count: 2"));
}
