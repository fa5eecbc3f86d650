//! Aggregates made by the `aws_kinesis_agg` Python package (awslabs/kinesis-aggregation),
//! committed under `interop/kpl-aggregation/vectors/` by `generate_vectors.py`: we decode every
//! one to the user records the package was given, and our encoder, given the same records,
//! produces the same bytes.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use kinesis_client::{HashKey, PartitionKey, PutRecordsEntry};
use kinesis_kcl_compat::aggregation::{AggregateBuilder, Decoded, decode};
use kinesis_kcl_compat::hash::partition_key_hash;
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/kpl-aggregation/vectors")
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn opt_str(v: &Value) -> Option<&str> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => panic!("expected a string or null, got {other}"),
    }
}

struct Expected {
    partition_key: String,
    explicit_hash_key: Option<String>,
    data: Vec<u8>,
}

fn check_vector(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let name = v["name"].as_str().unwrap();
    let input = Bytes::from(hex(v["aggregate_hex"].as_str().unwrap()));
    let expected: Vec<Expected> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Expected {
            partition_key: r["partition_key"].as_str().unwrap().to_owned(),
            explicit_hash_key: opt_str(&r["explicit_hash_key"]).map(str::to_owned),
            data: hex(r["data_hex"].as_str().unwrap()),
        })
        .collect();

    // Decode the package's bytes.
    let Decoded::Aggregate(aggregate) = decode(&input).unwrap() else {
        panic!("{name}: not decoded as an aggregate")
    };
    assert_eq!(aggregate.len(), expected.len(), "{name}");
    for (i, (r, e)) in aggregate.iter().zip(&expected).enumerate() {
        assert_eq!(r.sub_sequence_number(), i as u64, "{name}");
        assert_eq!(r.partition_key(), e.partition_key, "{name} record {i}");
        assert_eq!(
            r.explicit_hash_key(),
            e.explicit_hash_key.as_deref(),
            "{name} record {i}"
        );
        assert_eq!(r.data().as_ref(), e.data.as_slice(), "{name} record {i}");
    }

    // Encode the same records: the same bytes.
    let mut builder = AggregateBuilder::new();
    for e in &expected {
        let entry = PutRecordsEntry::new(
            e.data.clone(),
            PartitionKey::new(e.partition_key.clone()).unwrap(),
        );
        let entry = match &e.explicit_hash_key {
            Some(k) => entry.with_explicit_hash_key(k.parse::<HashKey>().unwrap()),
            None => entry,
        };
        builder.add(entry);
    }
    let ours = builder.finish().unwrap();
    assert_eq!(
        ours.data(),
        &input,
        "{name}: our encoding differs from aws_kinesis_agg's"
    );

    // Both send the aggregate with the first record's partition key; the package sets the first
    // record's explicit hash key if it has one, we always set its effective hash key.
    assert_eq!(
        ours.partition_key().as_str(),
        v["partition_key"].as_str().unwrap()
    );
    let first = &expected[0];
    let routed_by = match opt_str(&v["explicit_hash_key"]) {
        Some(k) => k.parse::<HashKey>().unwrap(),
        None => partition_key_hash(&first.partition_key),
    };
    assert_eq!(ours.explicit_hash_key(), routed_by, "{name}");
    expected.len()
}

#[test]
fn aggregates_from_aws_kinesis_agg_decode_and_reencode_identically() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("interop/kpl-aggregation/vectors")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 9, "expected the committed vectors");
    let records: usize = paths.iter().map(|p| check_vector(p)).sum();
    assert!(records > 400);
}
