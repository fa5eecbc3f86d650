//! Writes KPL aggregates made by this crate's encoder, with the user records inside each, for
//! another implementation to decode and check.
//!
//! ```text
//! cargo run -p kinesis-kcl-compat --example write_aggregates -- <dir>
//! python3 interop/kpl-aggregation/decode_ours.py <dir>
//! ```
//!
//! Writes `<dir>/aggregates.json`:
//!
//! ```text
//! {"generator": "kinesis-kcl-compat", "aggregates": [
//!   {"name": "...", "aggregate_hex": "f3899ac2...", "partition_key": "...",
//!    "explicit_hash_key": "decimal",
//!    "records": [{"partition_key": "...", "explicit_hash_key": null | "decimal", "data_hex": "..."}]}
//! ]}
//! ```
//!
//! The cases are fixed (a seeded generator), so two runs write the same file.

use std::fmt::Write as _;
use std::path::PathBuf;

use kinesis_client::{HashKey, PartitionKey, PutRecordsEntry};
use kinesis_kcl_compat::aggregation::{AggregateBuilder, Decoded, decode};
use serde_json::{Value, json};

/// SplitMix64: a tiny seeded generator, so the cases need no dependency and never change.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Between `min` and `min + spread - 1` random bytes.
    fn some_bytes(&mut self, min: usize, spread: u64) -> Vec<u8> {
        let n = min + self.below(spread) as usize;
        self.bytes(n)
    }
    fn hash_key(&mut self) -> HashKey {
        HashKey(u128::from(self.next()) << 64 | u128::from(self.next()))
    }
}

fn entry(pk: &str, ehk: Option<HashKey>, data: Vec<u8>) -> PutRecordsEntry {
    let e = PutRecordsEntry::new(data, PartitionKey::new(pk).expect("valid partition key"));
    match ehk {
        Some(k) => e.with_explicit_hash_key(k),
        None => e,
    }
}

fn to_hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        write!(s, "{x:02x}").expect("writing to a String");
    }
    s
}

fn cases() -> Vec<(String, Vec<PutRecordsEntry>)> {
    let mut rng = Rng(0x4b50_4c5f_6167_6721);
    let mut cases = Vec::new();
    cases.push((
        "single-record".to_owned(),
        vec![entry("only", None, b"one user record".to_vec())],
    ));
    cases.push((
        "mixed-explicit-hash-keys".to_owned(),
        (0..60)
            .map(|i| {
                let ehk = match i % 4 {
                    0 => Some(HashKey(0)),
                    1 => Some(HashKey::MAX),
                    2 => Some(HashKey(1 << 127)),
                    _ => None,
                };
                let pk = ["a", "b", "c"][i % 3];
                entry(pk, ehk, rng.some_bytes(0, 300))
            })
            .collect(),
    ));
    cases.push((
        "records-without-explicit-hash-key-after-ones-with".to_owned(),
        vec![
            entry("x", Some(HashKey(5)), b"has one".to_vec()),
            entry("y", None, b"has none".to_vec()),
            entry("z", None, b"has none either".to_vec()),
        ],
    ));
    cases.push((
        "unicode-and-longest-keys".to_owned(),
        vec![
            entry("é", None, "é".as_bytes().to_vec()),
            entry("日本語キー", None, "こんにちは".as_bytes().to_vec()),
            entry(&"🦀".repeat(256), None, b"256 crabs, 1024 bytes".to_vec()),
            entry(&"k".repeat(256), None, Vec::new()),
        ],
    ));
    cases.push((
        "empty-payloads".to_owned(),
        (0..10)
            .map(|i| entry(&format!("e{i}"), None, Vec::new()))
            .collect(),
    ));
    cases.push((
        "random-explicit-hash-keys".to_owned(),
        (0..50)
            .map(|i| {
                let k = rng.hash_key();
                entry(&format!("pk{}", i % 7), Some(k), rng.some_bytes(0, 64))
            })
            .collect(),
    ));
    cases.push((
        "twenty-thousand-distinct-keys".to_owned(),
        (0..20_000u32)
            .map(|i| {
                let ehk = (i % 5 == 0).then(|| HashKey(u128::from(i) * 7_919));
                entry(&format!("key-{i}"), ehk, i.to_be_bytes().to_vec())
            })
            .collect(),
    ));
    cases.push((
        "payload-length-boundaries".to_owned(),
        [0usize, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]
            .into_iter()
            .map(|n| entry("p", None, rng.bytes(n)))
            .collect(),
    ));
    // Filled with try_add up to the 1 MiB aggregate limit of kinesis-aggregation.
    let limit = 1024 * 1024;
    let mut builder = AggregateBuilder::new();
    let mut filled = Vec::new();
    loop {
        let e = entry(
            &format!("fill-{}", rng.below(50)),
            None,
            rng.some_bytes(1000, 9000),
        );
        if builder.try_add(e.clone(), limit).is_err() {
            break;
        }
        filled.push(e);
    }
    cases.push(("filled-to-one-mebibyte".to_owned(), filled));
    cases
}

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: write_aggregates <dir>");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir).expect("create the output directory");
    let mut aggregates = Vec::new();
    let mut user_records = 0;
    for (name, entries) in cases() {
        let mut builder = AggregateBuilder::new();
        for e in &entries {
            builder.add(e.clone());
        }
        let size = builder.encoded_size();
        let encoded = builder.finish().expect("every case has records");
        assert_eq!(encoded.data().len(), size, "{name}: size accounting");
        // Our own decoder agrees before anyone else looks.
        match decode(encoded.data()) {
            Ok(Decoded::Aggregate(a)) => assert_eq!(a.len(), entries.len(), "{name}"),
            other => panic!("{name}: our decoder refused our aggregate: {other:?}"),
        }
        user_records += entries.len();
        let records: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "partition_key": e.partition_key().as_str(),
                    "explicit_hash_key": e.explicit_hash_key().map(|k| k.to_string()),
                    "data_hex": to_hex(e.data()),
                })
            })
            .collect();
        aggregates.push(json!({
            "name": name,
            "aggregate_hex": to_hex(encoded.data()),
            "partition_key": encoded.partition_key().as_str(),
            "explicit_hash_key": encoded.explicit_hash_key().to_string(),
            "records": records,
        }));
    }
    let count = aggregates.len();
    let out = json!({ "generator": "kinesis-kcl-compat", "aggregates": aggregates });
    let path = dir.join("aggregates.json");
    std::fs::write(&path, serde_json::to_string(&out).expect("serialize")).expect("write");
    println!(
        "wrote {count} aggregates with {user_records} user records to {}",
        path.display()
    );
}
