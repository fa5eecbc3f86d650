//! Lease rows serialized by the real Java KCL (3.5.1, `DynamoDBLeaseSerializer` and
//! `DynamoDBMultiStreamLeaseSerializer`), committed under `interop/kcl-lease-rows/` with the
//! program that made them. Each must parse to what the KCL itself reads back, and writing the
//! lease again must give the KCL's item attribute for attribute.

use std::collections::{BTreeSet, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use kinesis_kcl_compat::lease::{
    AttributeValue, Item, Lease, LeaseKey, ParsedRow, PendingCheckpointState, attr,
};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../interop/kcl-lease-rows/vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("the committed KCL vectors");
    serde_json::from_str(&text).expect("valid JSON")
}

/// DynamoDB JSON (`{"S": ..}`, `{"N": ..}`, `{"B": base64}`, `{"SS": [..]}`) to an attribute value.
fn attribute(json: &Value) -> AttributeValue {
    let (kind, value) = json.as_object().unwrap().iter().next().unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    match kind.as_str() {
        "S" => AttributeValue::S(text(value)),
        "N" => AttributeValue::N(text(value)),
        "B" => AttributeValue::B(BASE64.decode(text(value)).unwrap()),
        "SS" => AttributeValue::Ss(value.as_array().unwrap().iter().map(text).collect()),
        other => panic!("unexpected type {other}"),
    }
}

fn item(vector: &Value) -> Item {
    vector["item"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| (name.clone(), attribute(v)))
        .collect()
}

/// String sets are sets: compare them sorted.
fn normalized(item: &Item) -> HashMap<String, AttributeValue> {
    item.iter()
        .map(|(k, v)| {
            let v = match v {
                AttributeValue::Ss(set) => {
                    let mut set = set.clone();
                    set.sort();
                    AttributeValue::Ss(set)
                }
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn opt_str(v: &Value) -> Option<&str> {
    v.as_str()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

fn shard_ids(set: &BTreeSet<kinesis_client::ShardId>) -> BTreeSet<String> {
    set.iter().map(|id| id.as_str().to_owned()).collect()
}

/// Checks the lease against what the KCL read back from the same item.
fn agrees_with_kcl(name: &str, lease: &Lease, kcl: &Value) {
    assert_eq!(
        lease.lease_key.to_string(),
        kcl["leaseKey"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        lease.lease_owner.as_deref(),
        opt_str(&kcl["leaseOwner"]),
        "{name}"
    );
    assert_eq!(
        lease.lease_counter,
        kcl["leaseCounter"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        lease.checkpoint.kcl_checkpoint(),
        kcl["checkpoint"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        lease.checkpoint.sub_sequence_number(),
        kcl["checkpointSubSequenceNumber"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        lease
            .pending_checkpoint
            .as_ref()
            .map(|c| c.kcl_checkpoint()),
        opt_str(&kcl["pendingCheckpoint"]),
        "{name}"
    );
    assert_eq!(
        lease
            .pending_checkpoint
            .as_ref()
            .map(|c| c.sub_sequence_number()),
        kcl["pendingCheckpointSubSequenceNumber"].as_u64(),
        "{name}"
    );
    assert_eq!(
        lease
            .pending_checkpoint_state
            .as_ref()
            .and_then(|s| s.bytes())
            .map(|b| BASE64.encode(b)),
        kcl["pendingCheckpointState"].as_str().map(str::to_owned),
        "{name}"
    );
    assert_eq!(
        lease.owner_switches_since_checkpoint,
        kcl["ownerSwitchesSinceCheckpoint"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        shard_ids(&lease.parent_shard_ids),
        ids(&kcl["parentShardIds"]),
        "{name}"
    );
    assert_eq!(
        shard_ids(&lease.child_shard_ids),
        ids(&kcl["childShardIds"]),
        "{name}"
    );
    assert_eq!(
        lease
            .hash_key_range
            .map(|r| (r.start().to_string(), r.end().to_string())),
        kcl["startingHashKey"].as_str().map(|s| (
            s.to_owned(),
            kcl["endingHashKey"].as_str().unwrap().to_owned()
        )),
        "{name}"
    );
    assert_eq!(
        lease.throughput_kbps.map(|t| t.get()),
        kcl["throughputKBps"].as_f64(),
        "{name}"
    );
    assert_eq!(
        lease.checkpoint_owner.as_deref(),
        opt_str(&kcl["checkpointOwner"]),
        "{name}"
    );
    match &lease.lease_key {
        LeaseKey::MultiStream(key) => {
            assert_eq!(
                Some(key.stream().to_string().as_str()),
                opt_str(&kcl["streamIdentifier"])
            );
            assert_eq!(Some(key.shard_id().as_str()), opt_str(&kcl["shardId"]));
        }
        LeaseKey::Shard(_) => assert!(kcl.get("shardId").is_none(), "{name}"),
    }
}

#[test]
fn kcl_written_rows_parse_as_the_kcl_reads_them() {
    let vectors = vectors();
    assert!(
        vectors.len() >= 10,
        "vectors.json holds {} vectors",
        vectors.len()
    );
    for vector in &vectors {
        let name = vector["name"].as_str().unwrap();
        let item = item(vector);
        let lease = match ParsedRow::from_item(item.clone()) {
            Ok(ParsedRow::Lease(lease)) => lease,
            other => panic!("{name}: {other:?}"),
        };
        assert!(
            lease.entity_type_attribute,
            "{name}: KCL 3.5 writes entityType"
        );
        assert!(
            lease.extra.is_empty(),
            "{name}: every KCL attribute is known: {:?}",
            lease.extra
        );

        let kcl = &vector["kcl_reads"];
        if let Some(error) = kcl.get("error") {
            // The KCL cannot read its own toDynamoRecord output when pendingCheckpointState is
            // set (it writes an N and reads a B); we read it, keeping the number.
            assert_eq!(name, "pending-state-as-number");
            assert_eq!(error, "NullPointerException");
            assert_eq!(
                lease.pending_checkpoint_state,
                Some(PendingCheckpointState::KclNumber(7))
            );
        } else {
            agrees_with_kcl(name, &lease, kcl);
        }

        // Writing the lease again gives the KCL's item.
        assert_eq!(normalized(&lease.to_item()), normalized(&item), "{name}");
    }
}

#[test]
fn kcl_2x_rows_without_entity_type_parse_and_stay_without_it() {
    for vector in vectors() {
        let mut item = item(&vector);
        item.remove(attr::ENTITY_TYPE);
        let lease = ParsedRow::from_item(item.clone())
            .unwrap()
            .into_lease()
            .unwrap();
        assert!(!lease.entity_type_attribute);
        assert_eq!(normalized(&lease.to_item()), normalized(&item));
    }
}

#[test]
fn a_lease_we_build_is_the_item_the_kcl_builds() {
    // Mirrors the "multi-stream" vector, built field by field on our side.
    let vectors = vectors();
    let kcl = vectors
        .iter()
        .find(|v| v["name"] == "multi-stream")
        .unwrap();
    let key: LeaseKey = "123456789012:orders-v2:1700000000:shardId-000000000336"
        .parse()
        .unwrap();
    let mut lease = Lease::new(
        key,
        "49590338271490256608559692538361571095921575989136588898"
            .parse()
            .unwrap(),
    );
    lease.lease_owner = Some("worker-m".into());
    lease.lease_counter = 3;
    lease
        .parent_shard_ids
        .insert("shardId-000000000100".parse().unwrap());
    lease.hash_key_range = Some(
        kinesis_client::HashKeyRange::new(
            kinesis_client::HashKey(1000),
            kinesis_client::HashKey::MAX,
        )
        .unwrap(),
    );
    assert_eq!(normalized(&lease.to_item()), normalized(&item(kcl)));
}
