//! Lease rows survive lease → item → lease and item → lease → item, unknown attributes included;
//! lease keys survive print → parse.

use std::collections::{BTreeMap, HashMap};

use kinesis_client::{HashKey, HashKeyRange, SequenceNumber, ShardId, StreamName};
use kinesis_kcl_compat::lease::{
    AttributeValue, Lease, LeaseKey, MultiStreamIdentifier, MultiStreamLeaseKey, ParsedRow,
    PendingCheckpointState, ThroughputKbps, attr,
};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber, Sentinel};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

fn shard_id() -> impl Strategy<Value = ShardId> {
    prop_oneof![
        (0u64..1_000_000).prop_map(|n| format!("shardId-{n:012}")),
        "[a-zA-Z0-9_.-]{1,128}",
    ]
    .prop_map(|s| ShardId::new(s).unwrap())
}

fn stream_identifier() -> impl Strategy<Value = MultiStreamIdentifier> {
    ("[0-9]{1,12}", "[a-zA-Z0-9_.-]{1,128}", 1..=i64::MAX as u64).prop_map(
        |(account, name, epoch)| {
            MultiStreamIdentifier::new(account, StreamName::new(name).unwrap(), epoch).unwrap()
        },
    )
}

fn lease_key() -> impl Strategy<Value = LeaseKey> {
    prop_oneof![
        shard_id().prop_map(LeaseKey::Shard),
        (stream_identifier(), shard_id())
            .prop_map(|(s, id)| LeaseKey::MultiStream(MultiStreamLeaseKey::new(s, id))),
    ]
}

fn sequence_number() -> impl Strategy<Value = SequenceNumber> {
    prop_oneof![
        any::<u128>().prop_map(|n| n.to_string()),
        "[1-9][0-9]{0,128}",
        Just("0".to_owned()),
    ]
    .prop_map(|s| SequenceNumber::new(s).unwrap())
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    prop_oneof![
        proptest::sample::select(Sentinel::ALL.to_vec()).prop_map(Checkpoint::Sentinel),
        (sequence_number(), any::<u64>())
            .prop_map(|(seq, sub)| Checkpoint::Sequence(ExtendedSequenceNumber::new(seq, sub))),
    ]
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
    ]
}

/// Any attribute value, nested a little.
fn attribute_value() -> impl Strategy<Value = AttributeValue> {
    let leaf = prop_oneof![
        any::<String>().prop_map(AttributeValue::S),
        number_text().prop_map(AttributeValue::N),
        vec(any::<u8>(), 0..16).prop_map(AttributeValue::B),
        btree_set(any::<String>(), 1..4).prop_map(|s| AttributeValue::Ss(s.into_iter().collect())),
        btree_set(number_text(), 1..4).prop_map(|s| AttributeValue::Ns(s.into_iter().collect())),
        vec(vec(any::<u8>(), 0..8), 1..3).prop_map(AttributeValue::Bs),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null(true)),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
            proptest::collection::hash_map("[a-z]{1,6}", inner, 0..4).prop_map(AttributeValue::M),
        ]
    })
}

/// Names no KCL attribute uses.
fn unknown_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{0,20}"
        .prop_filter("not a KCL attribute", |n| !attr::ALL.contains(&n.as_str()))
}

prop_compose! {
    fn lease()(
        lease_key in lease_key(),
        lease_owner in proptest::option::of(any::<String>()),
        lease_counter in any::<u64>(),
        checkpoint in checkpoint(),
        pending_checkpoint in proptest::option::of(checkpoint()),
        pending_checkpoint_state in proptest::option::of(prop_oneof![
            vec(any::<u8>(), 0..32).prop_map(PendingCheckpointState::Bytes),
            any::<u64>().prop_map(PendingCheckpointState::KclNumber),
        ]),
        owner_switches_since_checkpoint in any::<u64>(),
        parent_shard_ids in btree_set(shard_id(), 0..3),
        child_shard_ids in btree_set(shard_id(), 0..3),
        hash_key_range in proptest::option::of((any::<u128>(), any::<u128>())),
        throughput in proptest::option::of(any::<f64>()),
        checkpoint_owner in proptest::option::of(any::<String>()),
        entity_type_attribute in any::<bool>(),
        extra in btree_map(unknown_name(), attribute_value(), 0..4),
    ) -> Lease {
        Lease {
            lease_key,
            lease_owner,
            lease_counter,
            checkpoint,
            pending_checkpoint,
            pending_checkpoint_state,
            owner_switches_since_checkpoint,
            parent_shard_ids,
            child_shard_ids,
            hash_key_range: hash_key_range.map(|(a, b)| {
                HashKeyRange::new(HashKey(a.min(b)), HashKey(a.max(b))).unwrap()
            }),
            throughput_kbps: throughput.and_then(ThroughputKbps::new),
            checkpoint_owner,
            entity_type_attribute,
            extra,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lease_item_lease(lease in lease()) {
        let item = lease.to_item();
        let parsed = ParsedRow::from_item(item.clone());
        prop_assert_eq!(parsed, Ok(ParsedRow::Lease(lease.clone())));
        // And the item the lease writes is the item it was read from.
        let again = ParsedRow::from_item(item.clone()).unwrap().into_lease().unwrap().to_item();
        prop_assert_eq!(again, item);
    }

    #[test]
    fn unknown_attributes_are_written_back_unchanged(
        lease in lease(),
        extra in btree_map(unknown_name(), attribute_value(), 1..6),
    ) {
        let mut item = lease.to_item();
        for (name, value) in &extra {
            item.insert(name.clone(), value.clone());
        }
        let read = ParsedRow::from_item(item.clone()).unwrap().into_lease().unwrap();
        for (name, value) in &extra {
            prop_assert_eq!(read.extra.get(name), Some(value));
        }
        prop_assert_eq!(read.to_item(), item);
    }

    #[test]
    fn lease_keys_print_and_parse(key in lease_key()) {
        let text = key.to_string();
        prop_assert_eq!(text.parse::<LeaseKey>().unwrap(), key.clone());
        if let LeaseKey::MultiStream(k) = &key {
            prop_assert_eq!(text.parse::<MultiStreamLeaseKey>().unwrap(), k.clone());
            let stream = k.stream().to_string();
            prop_assert_eq!(stream.parse::<MultiStreamIdentifier>().unwrap(), k.stream().clone());
            prop_assert_eq!(text, format!("{}:{}", stream, k.shard_id()));
        }
    }

    #[test]
    fn parsing_arbitrary_key_text_never_panics(text in any::<String>()) {
        if let Ok(key) = text.parse::<LeaseKey>() {
            prop_assert_eq!(key.to_string(), text);
        }
    }
}

#[test]
fn a_multi_stream_lease_writes_its_stream_and_shard() {
    let key: LeaseKey = "123456789012:orders:1700000000:shardId-000000000009"
        .parse()
        .unwrap();
    let lease = Lease::new(key, Checkpoint::TRIM_HORIZON);
    let item = lease.to_item();
    let s = |name: &str| item[name].as_s().unwrap().as_str();
    assert_eq!(s(attr::STREAM_NAME), "123456789012:orders:1700000000");
    assert_eq!(s(attr::SHARD_ID), "shardId-000000000009");
    assert_eq!(s(attr::ENTITY_TYPE), "LEASE");
    assert_eq!(s(attr::CHECKPOINT), "TRIM_HORIZON");
}

#[test]
fn known_names_in_extra_do_not_override_the_fields() {
    let mut lease = Lease::new("shardId-1".parse().unwrap(), Checkpoint::LATEST);
    lease.extra.insert(
        attr::LEASE_OWNER.to_owned(),
        AttributeValue::S("ghost".into()),
    );
    lease.extra.insert(
        attr::LEASE_COUNTER.to_owned(),
        AttributeValue::N("99".into()),
    );
    lease
        .extra
        .insert("custom".to_owned(), AttributeValue::Bool(true));
    let item = lease.to_item();
    assert!(!item.contains_key(attr::LEASE_OWNER));
    assert_eq!(item[attr::LEASE_COUNTER], AttributeValue::N("0".into()));
    assert_eq!(item["custom"], AttributeValue::Bool(true));
}

#[test]
fn single_stream_rows_keep_stray_stream_attributes() {
    let mut item: HashMap<String, AttributeValue> =
        Lease::new("shardId-1".parse().unwrap(), Checkpoint::LATEST).to_item();
    item.insert(attr::STREAM_NAME.to_owned(), AttributeValue::S("x".into()));
    item.insert(attr::SHARD_ID.to_owned(), AttributeValue::S("y".into()));
    let lease = ParsedRow::from_item(item.clone())
        .unwrap()
        .into_lease()
        .unwrap();
    assert_eq!(
        lease.extra,
        BTreeMap::from([
            (attr::STREAM_NAME.to_owned(), AttributeValue::S("x".into())),
            (attr::SHARD_ID.to_owned(), AttributeValue::S("y".into())),
        ])
    );
    assert_eq!(lease.to_item(), item);
}
