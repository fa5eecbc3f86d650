//! Reads arbitrary DynamoDB items as rows of a KCL lease table: leases, and the KCL 3.x fleet
//! rows (worker reports, the leader lock, the migration state) that share the table.
//!
//! Properties: reading never panics; a row that reads as a lease (or a fleet row) writes an item
//! that reads back as the same value, and writing it again gives the same item; any text that
//! parses as a lease key prints back as itself.

#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use kinesis_kcl_compat::fleet::{ClientVersionMigration, LeaderLock, WorkerMetricStats};
use kinesis_kcl_compat::lease::{AttributeValue, LeaseKey, ParsedRow, attr};
use libfuzzer_sys::fuzz_target;

/// Strings biased towards what lease attributes hold, so the fuzzer gets past the first checks.
#[derive(Arbitrary, Debug)]
enum Text {
    Raw(String),
    ShardId(u16),
    Sentinel(u8),
    Sequence(u128),
    LongSequence(u8, u64),
    StreamIdentifier(u32, u8, u64),
    MultiStreamKey(u32, u8, u64, u16),
    EntityType(u8),
}

impl Text {
    fn render(&self) -> String {
        const STREAMS: [&str; 3] = ["orders", "s", "a.b-c_d"];
        const ENTITIES: [&str; 7] = [
            "LEASE",
            "WORKER_METRIC_STATS",
            "LEADER",
            "STREAM",
            "CLIENT_VERSION_MIGRATION",
            "TABLE_MIGRATION",
            "lease",
        ];
        match self {
            Text::Raw(s) => s.clone(),
            Text::ShardId(n) => format!("shardId-{n:012}"),
            Text::Sentinel(i) => ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP", "SHARD_END"]
                [usize::from(*i) % 4]
                .to_owned(),
            Text::Sequence(n) => n.to_string(),
            Text::LongSequence(len, n) => format!("{n}{}", "7".repeat(usize::from(*len))),
            Text::StreamIdentifier(account, stream, epoch) => format!(
                "{account}:{}:{epoch}",
                STREAMS[usize::from(*stream) % STREAMS.len()]
            ),
            Text::MultiStreamKey(account, stream, epoch, shard) => format!(
                "{account}:{}:{epoch}:shardId-{shard:012}",
                STREAMS[usize::from(*stream) % STREAMS.len()]
            ),
            Text::EntityType(i) => ENTITIES[usize::from(*i) % ENTITIES.len()].to_owned(),
        }
    }
}

/// Numbers biased towards DynamoDB spellings.
#[derive(Arbitrary, Debug)]
enum Number {
    Raw(String),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Scientific(i64, i32),
    Fraction(u64, u8),
}

impl Number {
    fn render(&self) -> String {
        match self {
            Number::Raw(s) => s.clone(),
            Number::Unsigned(n) => n.to_string(),
            Number::Signed(n) => n.to_string(),
            Number::Float(f) => f.to_string(),
            Number::Scientific(m, e) => format!("{m}E{e}"),
            Number::Fraction(n, zeros) => format!("{n}.{}", "0".repeat(usize::from(*zeros % 40))),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Value {
    S(Text),
    N(Number),
    B(Vec<u8>),
    Ss(Vec<Text>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
    Bool(bool),
    Null,
    L(Vec<Value>),
    M(Vec<(String, Value)>),
}

impl Value {
    fn render(&self) -> AttributeValue {
        match self {
            Value::S(t) => AttributeValue::S(t.render()),
            Value::N(n) => AttributeValue::N(n.render()),
            Value::B(b) => AttributeValue::B(b.clone()),
            Value::Ss(v) => AttributeValue::Ss(v.iter().map(Text::render).collect()),
            Value::Ns(v) => AttributeValue::Ns(v.iter().map(Number::render).collect()),
            Value::Bs(v) => AttributeValue::Bs(v.clone()),
            Value::Bool(b) => AttributeValue::Bool(*b),
            Value::Null => AttributeValue::Null(true),
            Value::L(v) => AttributeValue::L(v.iter().map(Value::render).collect()),
            Value::M(v) => {
                AttributeValue::M(v.iter().map(|(k, v)| (k.clone(), v.render())).collect())
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Name {
    /// One of the KCL attribute names.
    Known(u8),
    /// One of the attribute names of the KCL 3.x fleet rows.
    Fleet(u8),
    Other(String),
}

/// The attributes of the fleet rows (besides `leaseKey` and `entityType`).
const FLEET: [&str; 14] = [
    "lut",
    "sts",
    "opr",
    "properties",
    "sup",
    "slu",
    "ownerName",
    "leaseDuration",
    "recordVersionNumber",
    "isReleased",
    "cv",
    "mb",
    "mts",
    "h",
];

/// `read(write(x)) == x` and `write(read(write(x))) == write(x)` for a value read from an item.
macro_rules! round_trip {
    ($ty:ty, $item:expr) => {
        if let Ok(value) = <$ty>::from_item($item) {
            let written = value.to_item();
            let again = <$ty>::from_item(&written)
                .unwrap_or_else(|e| panic!("a written {} must read back: {e}", stringify!($ty)));
            assert_eq!(again, value, "a written {} must read back as itself", stringify!($ty));
            assert_eq!(again.to_item(), written, "writing is deterministic");
        }
    };
}

#[derive(Arbitrary, Debug)]
struct Input {
    attributes: Vec<(Name, Value)>,
    key_text: String,
}

fuzz_target!(|input: Input| {
    let item: HashMap<String, AttributeValue> = input
        .attributes
        .iter()
        .map(|(name, value)| {
            let name = match name {
                Name::Known(i) => attr::ALL[usize::from(*i) % attr::ALL.len()].to_owned(),
                Name::Fleet(i) => FLEET[usize::from(*i) % FLEET.len()].to_owned(),
                Name::Other(s) => s.clone(),
            };
            (name, value.render())
        })
        .collect();

    round_trip!(WorkerMetricStats, &item);
    round_trip!(LeaderLock, &item);
    round_trip!(ClientVersionMigration, &item);

    if let Ok(ParsedRow::Lease(lease)) = ParsedRow::from_item(item) {
        let written = lease.to_item();
        match ParsedRow::from_item(written.clone()) {
            Ok(ParsedRow::Lease(again)) => {
                assert_eq!(again, lease, "a written lease must read back as itself");
                assert_eq!(again.to_item(), written, "writing is deterministic");
            }
            other => panic!("a written lease must read back as a lease: {other:?}"),
        }
    }

    if let Ok(key) = input.key_text.parse::<LeaseKey>() {
        assert_eq!(key.to_string(), input.key_text);
    }
});
