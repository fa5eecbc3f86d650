//! Known-answer tests for effective hash keys.
//!
//! The expected values were computed independently of this crate, with Python's hashlib:
//!
//! ```text
//! python3 -c 'import hashlib; h = hashlib.md5(KEY.encode()).digest(); print(h.hex(), int.from_bytes(h, "big"))'
//! ```
//!
//! (the UTF-8 bytes of the key, MD5, read as a big-endian unsigned integer).

use kinesis_client::{HashKey, HashKeyRange, PartitionKey, PutRecordsEntry};
use kinesis_kcl_compat::aggregation::{AggregateBuilder, Decoded, decode};
use kinesis_kcl_compat::hash::{
    Placement, belongs_to, check_aggregate, effective_hash_key, entry_hash_key,
    parse_explicit_hash_key, partition_key_hash,
};

/// (partition key, MD5 hex, MD5 as a decimal integer), from Python's hashlib.
const VECTORS: &[(&str, &str, &str)] = &[
    (
        "",
        "d41d8cd98f00b204e9800998ecf8427e",
        "281949768489412648962353822266799178366",
    ),
    (
        "a",
        "0cc175b9c0f1b6a831c399e269772661",
        "16955237001963240173058271559858726497",
    ),
    (
        "partition-key",
        "815704732fbc84217234bb5e45533daa",
        "171922231538597478840392253176536055210",
    ),
    (
        "shardId-000000000000",
        "affe12c3d58e5c8df288b495fef25faa",
        "233934123263385091621941975700200382378",
    ),
    (
        "customer-42",
        "cd8e59ee8a860085890d6eac45cd29b0",
        "273230869323448032740578469245923174832",
    ),
    // One non-ASCII character: two UTF-8 bytes (C3 A9).
    (
        "é",
        "66ddcd97cfdeabb2f6fb8a999b4bc76f",
        "136732923097551493579404309126273812335",
    ),
    (
        "日本語キー",
        "6d9b0f6d380f08a587eaad1a4bd8218b",
        "145690970442991832528534362480216383883",
    ),
];

#[test]
fn partition_key_hashes_match_python_hashlib() {
    for &(key, hex, decimal) in VECTORS {
        let expected_hex = u128::from_str_radix(hex, 16).unwrap();
        let expected: HashKey = decimal.parse().unwrap();
        assert_eq!(
            expected.get(),
            expected_hex,
            "vector for {key:?} is inconsistent"
        );
        assert_eq!(partition_key_hash(key), expected, "MD5 of {key:?}");
        assert_eq!(effective_hash_key(key, None), expected);
    }
}

#[test]
fn longest_partition_key() {
    // 256 times "x": python3 -c 'import hashlib; print(int.from_bytes(hashlib.md5(b"x"*256).digest(), "big"))'
    let key = "x".repeat(256);
    assert_eq!(
        partition_key_hash(&key),
        "265353499944959180620795534685136097465".parse().unwrap()
    );
}

#[test]
fn explicit_hash_key_wins() {
    for &(key, _, _) in VECTORS {
        assert_eq!(effective_hash_key(key, Some(HashKey(12))), HashKey(12));
    }
    let entry = PutRecordsEntry::new("x", PartitionKey::new("a").unwrap())
        .with_explicit_hash_key(HashKey::MAX);
    assert_eq!(entry_hash_key(&entry), HashKey::MAX);
    let entry = PutRecordsEntry::new("x", PartitionKey::new("a").unwrap());
    assert_eq!(
        entry_hash_key(&entry),
        "16955237001963240173058271559858726497".parse().unwrap()
    );
}

#[test]
fn containment_in_an_even_two_shard_split() {
    // A two-shard stream splits the key space at 2^127.
    let (low, high) = HashKeyRange::FULL.split_at(HashKey(1 << 127)).unwrap();
    // MD5("a") starts with 0x0c: low half. MD5("partition-key") starts with 0x81: high half.
    assert!(belongs_to("a", None, &low));
    assert!(!belongs_to("a", None, &high));
    assert!(belongs_to("partition-key", None, &high));
    assert!(!belongs_to("partition-key", None, &low));
    // Boundaries are inclusive.
    assert!(belongs_to("a", Some(HashKey((1 << 127) - 1)), &low));
    assert!(belongs_to("a", Some(HashKey(1 << 127)), &high));
}

#[test]
fn explicit_hash_keys_inside_aggregates_are_read_leniently() {
    assert_eq!(parse_explicit_hash_key("0").unwrap(), HashKey(0));
    assert_eq!(parse_explicit_hash_key("000").unwrap(), HashKey(0));
    assert_eq!(parse_explicit_hash_key("+7").unwrap(), HashKey(7));
    assert_eq!(
        parse_explicit_hash_key("0340282366920938463463374607431768211455").unwrap(),
        HashKey::MAX
    );
    for bad in [
        "",
        "+",
        "-0",
        "-5",
        " 5",
        "5 ",
        "0x10",
        "1e3",
        "١٢",
        "340282366920938463463374607431768211456",
        "99999999999999999999999999999999999999999999",
    ] {
        let err = parse_explicit_hash_key(bad).unwrap_err();
        assert!(err.to_string().contains("explicit hash key"), "{bad:?}");
    }
}

#[test]
fn aggregate_sub_records_outside_the_shard_are_flagged() {
    let (low, high) = HashKeyRange::FULL.split_at(HashKey(1 << 127)).unwrap();
    let mut builder = AggregateBuilder::new();
    // 0: MD5("a") in low. 1: MD5("partition-key") in high. 2: EHK in high. 3: EHK in low.
    builder.add(PutRecordsEntry::new("0", PartitionKey::new("a").unwrap()));
    builder.add(PutRecordsEntry::new(
        "1",
        PartitionKey::new("partition-key").unwrap(),
    ));
    builder.add(
        PutRecordsEntry::new("2", PartitionKey::new("a").unwrap())
            .with_explicit_hash_key(HashKey::MAX),
    );
    builder.add(
        PutRecordsEntry::new("3", PartitionKey::new("partition-key").unwrap())
            .with_explicit_hash_key(HashKey(0)),
    );
    let aggregate = builder.finish().unwrap();
    // The aggregate is routed by its first record's effective hash key.
    assert_eq!(
        aggregate.explicit_hash_key(),
        partition_key_hash("a"),
        "routed as the first user record"
    );
    let Decoded::Aggregate(decoded) = decode(aggregate.data()).unwrap() else {
        panic!("not an aggregate")
    };

    let on_low = check_aggregate(&decoded, &low);
    assert_eq!(
        on_low.placements(),
        [
            Placement::Inside(partition_key_hash("a")),
            Placement::Outside(partition_key_hash("partition-key")),
            Placement::Outside(HashKey::MAX),
            Placement::Inside(HashKey(0)),
        ]
    );
    assert_eq!(on_low.dropped().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(on_low.dropped_count(), 2);
    assert!(!on_low.all_inside());
    assert!(on_low.is_inside(0) && on_low.is_inside(3));
    assert!(!on_low.is_inside(4));
    assert_eq!(on_low.placement(4), None);

    let on_high = check_aggregate(&decoded, &high);
    assert_eq!(on_high.dropped().collect::<Vec<_>>(), [0, 3]);

    let everywhere = check_aggregate(&decoded, &HashKeyRange::FULL);
    assert!(everywhere.all_inside());
    assert_eq!(everywhere.dropped_count(), 0);

    for r in decoded.iter() {
        assert_eq!(r.is_in(&low), on_low.is_inside(r.sub_sequence_number()));
    }
}
