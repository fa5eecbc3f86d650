//! Corrupt lease rows are typed errors naming the row and the attribute; rows that are not
//! leases are recognised; what the KCL tolerates is tolerated.

use std::collections::HashMap;

use kinesis_kcl_compat::lease::{
    AttributeType, AttributeValue, EntityType, Item, LeaseKey, ParsedRow, PendingCheckpointState,
    Problem, attr,
};
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber};

const KEY: &str = "shardId-000000000042";

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}
fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_owned())
}
fn ss(v: &[&str]) -> AttributeValue {
    AttributeValue::Ss(v.iter().map(|x| x.to_string()).collect())
}

/// A row as KCL 3.5 writes it (see interop/kcl-lease-rows/vectors.json for the real thing).
fn good_row() -> Item {
    HashMap::from([
        (attr::LEASE_KEY.to_owned(), s(KEY)),
        (attr::LEASE_OWNER.to_owned(), s("worker-1")),
        (attr::LEASE_COUNTER.to_owned(), n("17")),
        (
            attr::CHECKPOINT.to_owned(),
            s("49590338271490256608559692538361571095921575989136588898"),
        ),
        (attr::CHECKPOINT_SUB_SEQUENCE_NUMBER.to_owned(), n("3")),
        (attr::OWNER_SWITCHES_SINCE_CHECKPOINT.to_owned(), n("1")),
        (
            attr::PARENT_SHARD_ID.to_owned(),
            ss(&["shardId-000000000040", "shardId-000000000041"]),
        ),
        (attr::STARTING_HASH_KEY.to_owned(), s("0")),
        (
            attr::ENDING_HASH_KEY.to_owned(),
            s("340282366920938463463374607431768211455"),
        ),
        (attr::THROUGHPUT_KBPS.to_owned(), n("12.5")),
        (attr::ENTITY_TYPE.to_owned(), s("LEASE")),
    ])
}

fn with(changes: &[(&str, Option<AttributeValue>)]) -> Item {
    let mut item = good_row();
    for (name, value) in changes {
        match value {
            Some(v) => item.insert(name.to_string(), v.clone()),
            None => item.remove(*name),
        };
    }
    item
}

/// Parses a row that must fail; checks the error names `key` and `attribute`, and returns the
/// problem.
#[track_caller]
fn fails(item: Item, key: Option<&str>, attribute: &str) -> Problem {
    let err = ParsedRow::from_item(item).expect_err("a corrupt row must not parse");
    assert_eq!(err.lease_key(), key, "{err}");
    assert_eq!(err.attribute(), attribute, "{err}");
    let text = err.to_string();
    assert!(text.contains(attribute), "{text}");
    if let Some(key) = key {
        assert!(text.contains(key), "{text}");
    }
    err.problem().clone()
}

#[track_caller]
fn wrong_type(problem: Problem, expected: AttributeType, found: AttributeType) {
    assert_eq!(problem, Problem::WrongType { expected, found });
}

#[track_caller]
fn invalid_number(problem: Problem, reason: &str) {
    match problem {
        Problem::InvalidNumber { reason: r, .. } => assert_eq!(r, reason),
        other => panic!("expected an invalid number, got {other:?}"),
    }
}

#[track_caller]
fn invalid_value(problem: Problem) {
    assert!(
        matches!(problem, Problem::InvalidValue { .. }),
        "{problem:?}"
    );
}

#[test]
fn the_good_row_parses() {
    let lease = ParsedRow::from_item(good_row())
        .unwrap()
        .into_lease()
        .unwrap();
    assert_eq!(lease.lease_key, LeaseKey::Shard(KEY.parse().unwrap()));
    assert_eq!(lease.lease_counter, 17);
    assert_eq!(
        lease.checkpoint,
        Checkpoint::Sequence(ExtendedSequenceNumber::new(
            "49590338271490256608559692538361571095921575989136588898"
                .parse()
                .unwrap(),
            3
        ))
    );
    assert_eq!(lease.parent_shard_ids.len(), 2);
    assert!(lease.entity_type_attribute);
    assert!(lease.extra.is_empty());
    assert_eq!(lease.to_item(), good_row());
}

#[test]
fn lease_key_problems() {
    use AttributeType as T;
    assert_eq!(
        fails(with(&[(attr::LEASE_KEY, None)]), None, attr::LEASE_KEY),
        Problem::Missing
    );
    wrong_type(
        fails(
            with(&[(attr::LEASE_KEY, Some(n("1")))]),
            None,
            attr::LEASE_KEY,
        ),
        T::S,
        T::N,
    );
    invalid_value(fails(
        with(&[(attr::LEASE_KEY, Some(s("not a shard")))]),
        Some("not a shard"),
        attr::LEASE_KEY,
    ));
    invalid_value(fails(
        with(&[(attr::LEASE_KEY, Some(s("")))]),
        Some(""),
        attr::LEASE_KEY,
    ));
    for bad in [
        "1:s:0:shardId-1",
        "1:s:2",
        "x:s:2:shardId-1",
        "1:s:2:shard id",
    ] {
        invalid_value(fails(
            with(&[(attr::LEASE_KEY, Some(s(bad)))]),
            Some(bad),
            attr::LEASE_KEY,
        ));
    }
}

#[test]
fn counter_problems() {
    use AttributeType as T;
    let k = Some(KEY);
    assert_eq!(
        fails(with(&[(attr::LEASE_COUNTER, None)]), k, attr::LEASE_COUNTER),
        Problem::Missing
    );
    wrong_type(
        fails(
            with(&[(attr::LEASE_COUNTER, Some(s("17")))]),
            k,
            attr::LEASE_COUNTER,
        ),
        T::N,
        T::S,
    );
    wrong_type(
        fails(
            with(&[(attr::LEASE_COUNTER, Some(AttributeValue::Null(true)))]),
            k,
            attr::LEASE_COUNTER,
        ),
        T::N,
        T::Null,
    );
    invalid_number(
        fails(
            with(&[(attr::LEASE_COUNTER, Some(n("abc")))]),
            k,
            attr::LEASE_COUNTER,
        ),
        "not a number",
    );
    invalid_number(
        fails(
            with(&[(attr::LEASE_COUNTER, Some(n("-1")))]),
            k,
            attr::LEASE_COUNTER,
        ),
        "negative",
    );
    invalid_number(
        fails(
            with(&[(attr::LEASE_COUNTER, Some(n("1.5")))]),
            k,
            attr::LEASE_COUNTER,
        ),
        "not an integer",
    );
    invalid_number(
        fails(
            with(&[(attr::LEASE_COUNTER, Some(n("18446744073709551616")))]),
            k,
            attr::LEASE_COUNTER,
        ),
        "too large",
    );
    invalid_number(
        fails(
            with(&[(attr::OWNER_SWITCHES_SINCE_CHECKPOINT, Some(n("-3")))]),
            k,
            attr::OWNER_SWITCHES_SINCE_CHECKPOINT,
        ),
        "negative",
    );
}

#[test]
fn checkpoint_problems() {
    use AttributeType as T;
    let k = Some(KEY);
    assert_eq!(
        fails(with(&[(attr::CHECKPOINT, None)]), k, attr::CHECKPOINT),
        Problem::Missing
    );
    wrong_type(
        fails(
            with(&[(attr::CHECKPOINT, Some(n("12")))]),
            k,
            attr::CHECKPOINT,
        ),
        T::S,
        T::N,
    );
    for bad in ["latest", "12a", "", "007", "-5", "1:2"] {
        invalid_value(fails(
            with(&[(attr::CHECKPOINT, Some(s(bad)))]),
            k,
            attr::CHECKPOINT,
        ));
    }
    invalid_number(
        fails(
            with(&[(attr::CHECKPOINT_SUB_SEQUENCE_NUMBER, Some(n("x")))]),
            k,
            attr::CHECKPOINT_SUB_SEQUENCE_NUMBER,
        ),
        "not a number",
    );
    wrong_type(
        fails(
            with(&[(attr::CHECKPOINT_SUB_SEQUENCE_NUMBER, Some(s("3")))]),
            k,
            attr::CHECKPOINT_SUB_SEQUENCE_NUMBER,
        ),
        T::N,
        T::S,
    );
    invalid_value(fails(
        with(&[(attr::PENDING_CHECKPOINT, Some(s("TRIM")))]),
        k,
        attr::PENDING_CHECKPOINT,
    ));
    invalid_number(
        fails(
            with(&[
                (attr::PENDING_CHECKPOINT, Some(s("5"))),
                (
                    attr::PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER,
                    Some(n("1e-3")),
                ),
            ]),
            k,
            attr::PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER,
        ),
        "not an integer",
    );
    wrong_type(
        fails(
            with(&[(attr::PENDING_CHECKPOINT_STATE, Some(s("state")))]),
            k,
            attr::PENDING_CHECKPOINT_STATE,
        ),
        T::B,
        T::S,
    );
    invalid_number(
        fails(
            with(&[(attr::PENDING_CHECKPOINT_STATE, Some(n("x1")))]),
            k,
            attr::PENDING_CHECKPOINT_STATE,
        ),
        "not a number",
    );
}

#[test]
fn shard_set_problems() {
    use AttributeType as T;
    let k = Some(KEY);
    // A writer that stored the parent as a plain string instead of a string set.
    wrong_type(
        fails(
            with(&[(attr::PARENT_SHARD_ID, Some(s("shardId-000000000040")))]),
            k,
            attr::PARENT_SHARD_ID,
        ),
        T::Ss,
        T::S,
    );
    invalid_value(fails(
        with(&[(attr::PARENT_SHARD_ID, Some(ss(&["bad id"])))]),
        k,
        attr::PARENT_SHARD_ID,
    ));
    wrong_type(
        fails(
            with(&[(attr::CHILD_SHARD_IDS, Some(AttributeValue::L(vec![])))]),
            k,
            attr::CHILD_SHARD_IDS,
        ),
        T::Ss,
        T::L,
    );
}

#[test]
fn hash_key_problems() {
    let k = Some(KEY);
    assert_eq!(
        fails(
            with(&[(attr::ENDING_HASH_KEY, None)]),
            k,
            attr::STARTING_HASH_KEY
        ),
        Problem::Unpaired {
            missing: attr::ENDING_HASH_KEY
        }
    );
    assert_eq!(
        fails(
            with(&[(attr::STARTING_HASH_KEY, None)]),
            k,
            attr::ENDING_HASH_KEY
        ),
        Problem::Unpaired {
            missing: attr::STARTING_HASH_KEY
        }
    );
    for bad in [
        "-1",
        "01",
        "340282366920938463463374607431768211456",
        "1e3",
        "x",
    ] {
        invalid_value(fails(
            with(&[(attr::STARTING_HASH_KEY, Some(s(bad)))]),
            k,
            attr::STARTING_HASH_KEY,
        ));
    }
    invalid_value(fails(
        with(&[
            (attr::STARTING_HASH_KEY, Some(s("10"))),
            (attr::ENDING_HASH_KEY, Some(s("9"))),
        ]),
        k,
        attr::ENDING_HASH_KEY,
    ));
}

#[test]
fn kcl3_attribute_problems() {
    use AttributeType as T;
    let k = Some(KEY);
    for bad in ["NaN", "inf", "x"] {
        invalid_number(
            fails(
                with(&[(attr::THROUGHPUT_KBPS, Some(n(bad)))]),
                k,
                attr::THROUGHPUT_KBPS,
            ),
            "not a number",
        );
    }
    invalid_number(
        fails(
            with(&[(attr::THROUGHPUT_KBPS, Some(n("1e400")))]),
            k,
            attr::THROUGHPUT_KBPS,
        ),
        "out of the range of a double",
    );
    wrong_type(
        fails(
            with(&[(attr::THROUGHPUT_KBPS, Some(s("1")))]),
            k,
            attr::THROUGHPUT_KBPS,
        ),
        T::N,
        T::S,
    );
    wrong_type(
        fails(
            with(&[(attr::CHECKPOINT_OWNER, Some(n("1")))]),
            k,
            attr::CHECKPOINT_OWNER,
        ),
        T::S,
        T::N,
    );
    wrong_type(
        fails(
            with(&[(attr::LEASE_OWNER, Some(AttributeValue::Bool(true)))]),
            k,
            attr::LEASE_OWNER,
        ),
        T::S,
        T::Bool,
    );
    wrong_type(
        fails(
            with(&[(attr::ENTITY_TYPE, Some(n("1")))]),
            k,
            attr::ENTITY_TYPE,
        ),
        T::S,
        T::N,
    );
}

#[test]
fn multi_stream_attributes_must_match_the_key() {
    let key = "123456789012:orders:1700000000:shardId-000000000001";
    let base = [(attr::LEASE_KEY, Some(s(key)))];
    let ok = with(&[
        base[0].clone(),
        (attr::STREAM_NAME, Some(s("123456789012:orders:1700000000"))),
        (attr::SHARD_ID, Some(s("shardId-000000000001"))),
    ]);
    let lease = ParsedRow::from_item(ok.clone())
        .unwrap()
        .into_lease()
        .unwrap();
    assert!(lease.extra.is_empty());
    assert_eq!(lease.to_item(), ok);

    let problem = fails(
        with(&[
            base[0].clone(),
            (attr::STREAM_NAME, Some(s("123456789012:orders:1"))),
        ]),
        Some(key),
        attr::STREAM_NAME,
    );
    assert_eq!(
        problem,
        Problem::Inconsistent {
            expected: "123456789012:orders:1700000000".into(),
            found: "123456789012:orders:1".into()
        }
    );
    fails(
        with(&[
            base[0].clone(),
            (attr::SHARD_ID, Some(s("shardId-000000000002"))),
        ]),
        Some(key),
        attr::SHARD_ID,
    );
    // Absent, they are taken from the key (and written on the way back).
    let lease = ParsedRow::from_item(with(&base))
        .unwrap()
        .into_lease()
        .unwrap();
    assert_eq!(lease.to_item(), ok);
}

#[test]
fn rows_that_are_not_leases_are_skipped() {
    for (text, entity_type) in [
        ("WORKER_METRIC_STATS", EntityType::WorkerMetricStats),
        ("LEADER", EntityType::Leader),
        ("STREAM", EntityType::Stream),
        (
            "CLIENT_VERSION_MIGRATION",
            EntityType::ClientVersionMigration,
        ),
        ("TABLE_MIGRATION", EntityType::TableMigration),
        ("lease", EntityType::Other("lease".into())),
        (
            "SOMETHING_NEWER",
            EntityType::Other("SOMETHING_NEWER".into()),
        ),
    ] {
        // A worker-metrics row: leaseKey = worker id (any text), no leaseCounter, no checkpoint.
        let item = HashMap::from([
            (attr::LEASE_KEY.to_owned(), s("worker:with:colons")),
            (attr::ENTITY_TYPE.to_owned(), s(text)),
            ("lut".to_owned(), n("1700000000")),
            ("sts".to_owned(), AttributeValue::M(HashMap::new())),
        ]);
        assert_eq!(
            ParsedRow::from_item(item),
            Ok(ParsedRow::NotALease {
                entity_type: entity_type.clone(),
                lease_key: Some("worker:with:colons".into())
            })
        );
        assert_eq!(entity_type.as_str(), text);
        // Even without a readable leaseKey.
        let item = HashMap::from([
            (attr::LEASE_KEY.to_owned(), n("1")),
            (attr::ENTITY_TYPE.to_owned(), s(text)),
        ]);
        assert_eq!(
            ParsedRow::from_item(item),
            Ok(ParsedRow::NotALease {
                entity_type,
                lease_key: None
            })
        );
    }
}

#[test]
fn what_the_kcl_tolerates_is_tolerated() {
    // KCL 2.x rows carry no entityType; NULL optional attributes count as absent; DynamoDB
    // number spellings vary; the sub-sequence number defaults to 0.
    let item = with(&[
        (attr::ENTITY_TYPE, None),
        (attr::LEASE_OWNER, Some(AttributeValue::Null(true))),
        (attr::LEASE_COUNTER, Some(n("1.7E1"))),
        (attr::CHECKPOINT_SUB_SEQUENCE_NUMBER, None),
        (attr::OWNER_SWITCHES_SINCE_CHECKPOINT, None),
        (attr::PENDING_CHECKPOINT, Some(s(""))),
        (attr::PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER, Some(n("4"))),
        (attr::CHECKPOINT_OWNER, Some(AttributeValue::Null(true))),
        (attr::THROUGHPUT_KBPS, Some(n("1.0E-5"))),
    ]);
    let lease = ParsedRow::from_item(item).unwrap().into_lease().unwrap();
    assert!(!lease.entity_type_attribute);
    assert_eq!(lease.lease_owner, None);
    assert_eq!(lease.lease_counter, 17);
    assert_eq!(lease.checkpoint.sub_sequence_number(), 0);
    assert_eq!(lease.owner_switches_since_checkpoint, 0);
    assert_eq!(lease.pending_checkpoint, None);
    assert_eq!(lease.checkpoint_owner, None);
    assert_eq!(lease.throughput_kbps.map(|t| t.get()), Some(1e-5));
    assert!(lease.extra.is_empty());
    let written = lease.to_item();
    assert!(!written.contains_key(attr::ENTITY_TYPE));
    assert!(!written.contains_key(attr::PENDING_CHECKPOINT_SUB_SEQUENCE_NUMBER));
    assert_eq!(written[attr::LEASE_COUNTER], n("17"));

    // Both spellings of pendingCheckpointState.
    let lease = ParsedRow::from_item(with(&[(attr::PENDING_CHECKPOINT_STATE, Some(n("3")))]))
        .unwrap()
        .into_lease()
        .unwrap();
    assert_eq!(
        lease.pending_checkpoint_state,
        Some(PendingCheckpointState::KclNumber(3))
    );
    let bytes = AttributeValue::B(b"state".to_vec());
    let lease = ParsedRow::from_item(with(&[(attr::PENDING_CHECKPOINT_STATE, Some(bytes))]))
        .unwrap()
        .into_lease()
        .unwrap();
    assert_eq!(
        lease.pending_checkpoint_state,
        Some(PendingCheckpointState::Bytes(b"state".to_vec()))
    );
}

#[test]
fn zio_kinesis_parent_attribute_is_not_kcls() {
    // zio-kinesis writes `parentShardIds` (plural): not the KCL's attribute, so it is kept as an
    // unknown attribute and the lease has no parents.
    let item = with(&[
        (attr::PARENT_SHARD_ID, None),
        ("parentShardIds", Some(ss(&["shardId-000000000040"]))),
    ]);
    let lease = ParsedRow::from_item(item.clone())
        .unwrap()
        .into_lease()
        .unwrap();
    assert!(lease.parent_shard_ids.is_empty());
    assert!(lease.extra.contains_key("parentShardIds"));
    assert_eq!(lease.to_item(), item);
}
