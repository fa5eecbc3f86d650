//! What only the DynamoDB repository has: table creation options, the items on the wire, paging.
//! Runs on the embedded dynoxide, or on the server the standard endpoint variables name.

use std::collections::HashMap;
use std::time::Duration;

use kinesis_client::ClientConfig;
use kinesis_client::sdk::dynamodb::types::{
    AttributeValue, BillingMode, ProjectionType, TableStatus,
};
use kinesis_kcl_compat::lease::{Lease, LeaseKey, attr, table};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::LeaseRepository;
use kinesis_lease::repository::{DynamoDbLeaseRepository, TableBilling, TableOptions};
use kinesis_testkit::TestEnv;

fn key(n: u32) -> LeaseKey {
    format!("shardId-{n:012}").parse().unwrap()
}

async fn config(env: &TestEnv) -> ClientConfig {
    ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap()
}

fn fast() -> TableOptions {
    TableOptions::default().with_poll_interval(Duration::from_millis(20))
}

#[tokio::test]
async fn creates_a_provisioned_table_with_the_lease_owner_index() {
    let env = TestEnv::start().await;
    let name = env.unique_name("leases");
    let options = fast()
        .with_billing(TableBilling::KCL_PROVISIONED)
        .with_lease_owner_index(true)
        .with_deletion_protection(true);
    let repo = DynamoDbLeaseRepository::with_options(&config(&env).await, name.clone(), options);
    assert_eq!(repo.table_name(), name);
    assert!(repo.ensure_table().await.unwrap());
    assert!(!repo.ensure_table().await.unwrap());

    let described = env
        .dynamodb_sdk()
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let t = described.table().unwrap();
    assert_eq!(t.table_status(), Some(&TableStatus::Active));
    let keys = t.key_schema();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].attribute_name(), attr::LEASE_KEY);
    let throughput = t.provisioned_throughput().unwrap();
    assert_eq!(throughput.read_capacity_units(), Some(10));
    assert_eq!(throughput.write_capacity_units(), Some(10));
    if let Some(billing) = t.billing_mode_summary().and_then(|b| b.billing_mode()) {
        assert_eq!(billing, &BillingMode::Provisioned);
    }
    if let Some(protected) = t.deletion_protection_enabled() {
        assert!(protected);
    }
    let gsi = &t.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some(table::LEASE_OWNER_INDEX));
    assert_eq!(
        gsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::KeysOnly)
    );
    let gsi_keys: Vec<_> = gsi
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(gsi_keys, [attr::LEASE_OWNER, attr::LEASE_KEY]);
}

#[tokio::test]
async fn creates_an_on_demand_table_by_default() {
    let env = TestEnv::start().await;
    let name = env.unique_name("leases");
    let repo = DynamoDbLeaseRepository::new(&config(&env).await, name.clone());
    assert_eq!(repo.options(), &TableOptions::default());
    assert!(repo.ensure_table().await.unwrap());
    let described = env
        .dynamodb_sdk()
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let t = described.table().unwrap();
    assert_eq!(
        t.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    assert!(t.global_secondary_indexes().is_empty());
}

#[tokio::test]
async fn finds_a_table_created_by_someone_else() {
    let env = TestEnv::start().await;
    let name = env.unique_name("leases");
    env.dynamodb_sdk()
        .create_table()
        .table_name(&name)
        .set_key_schema(Some(table::key_schema().unwrap()))
        .set_attribute_definitions(Some(table::attribute_definitions().unwrap()))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let repo = DynamoDbLeaseRepository::with_options(&config(&env).await, name, fast());
    assert!(!repo.ensure_table().await.unwrap());
}

#[tokio::test]
async fn writes_the_kcl_attribute_names() {
    let env = TestEnv::start().await;
    let name = env.unique_name("leases");
    let repo = DynamoDbLeaseRepository::with_options(&config(&env).await, name.clone(), fast());
    repo.ensure_table().await.unwrap();
    let lease = repo
        .create_lease(&Lease::new(key(1), Checkpoint::TRIM_HORIZON))
        .await
        .unwrap();
    let a = repo.take_lease(&lease, "worker-a").await.unwrap();
    repo.take_lease(&a, "worker-b").await.unwrap();

    let item = env
        .dynamodb_sdk()
        .get_item()
        .table_name(&name)
        .key(
            attr::LEASE_KEY,
            AttributeValue::S("shardId-000000000001".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let s = |v: &str| AttributeValue::S(v.into());
    let n = |v: &str| AttributeValue::N(v.into());
    assert_eq!(item[attr::LEASE_OWNER], s("worker-b"));
    assert_eq!(item[attr::LEASE_COUNTER], n("2"));
    assert_eq!(item[attr::OWNER_SWITCHES_SINCE_CHECKPOINT], n("1"));
    assert_eq!(item[attr::CHECKPOINT], s("TRIM_HORIZON"));
    assert_eq!(item[attr::CHECKPOINT_SUB_SEQUENCE_NUMBER], n("0"));
    assert_eq!(item[attr::ENTITY_TYPE], s("LEASE"));
}

#[tokio::test]
async fn takes_a_row_as_the_java_kcl_2x_wrote_it() {
    let env = TestEnv::start().await;
    let name = env.unique_name("leases");
    let repo = DynamoDbLeaseRepository::with_options(&config(&env).await, name.clone(), fast());
    repo.ensure_table().await.unwrap();
    // KCL 2.x: no entityType; counter and checkpoint as DynamoDBLeaseSerializer writes them.
    let s = |v: &str| AttributeValue::S(v.into());
    let n = |v: &str| AttributeValue::N(v.into());
    let row = HashMap::from([
        (attr::LEASE_KEY.to_owned(), s("shardId-000000000004")),
        (attr::LEASE_OWNER.to_owned(), s("java-worker")),
        (attr::LEASE_COUNTER.to_owned(), n("17")),
        (
            attr::CHECKPOINT.to_owned(),
            s("49590338271490256608559692538361571095921575989136588898"),
        ),
        (attr::CHECKPOINT_SUB_SEQUENCE_NUMBER.to_owned(), n("0")),
        (attr::OWNER_SWITCHES_SINCE_CHECKPOINT.to_owned(), n("2")),
        (
            attr::PARENT_SHARD_ID.to_owned(),
            AttributeValue::Ss(vec!["shardId-000000000001".into()]),
        ),
    ]);
    env.dynamodb_sdk()
        .put_item()
        .table_name(&name)
        .set_item(Some(row))
        .send()
        .await
        .unwrap();
    let lease = repo.get_lease(&key(4)).await.unwrap().unwrap();
    assert!(!lease.entity_type_attribute);
    let stolen = repo.take_lease(&lease, "rust-worker").await.unwrap();
    assert_eq!(stolen.lease_counter, 18);
    assert_eq!(stolen.owner_switches_since_checkpoint, 3);
    assert!(
        !stolen.entity_type_attribute,
        "an update adds no entityType"
    );
    assert_eq!(stolen.parent_shard_ids.len(), 1);
}

#[tokio::test]
async fn lists_every_page_of_a_large_table() {
    let env = TestEnv::start().await;
    let name = env.unique_name("leases");
    let repo = DynamoDbLeaseRepository::with_options(&config(&env).await, name, fast());
    repo.ensure_table().await.unwrap();
    // 14 items of ~100 KB: more than one 1 MB scan page.
    let padding = "x".repeat(100_000);
    for i in 0..14 {
        let mut lease = Lease::new(key(i), Checkpoint::TRIM_HORIZON);
        lease.extra.insert(
            "padding".to_owned(),
            kinesis_kcl_compat::lease::AttributeValue::S(padding.clone()),
        );
        repo.create_lease(&lease).await.unwrap();
    }
    let first_page = env
        .dynamodb_sdk()
        .scan()
        .table_name(repo.table_name())
        .send()
        .await
        .unwrap();
    assert!(
        first_page.last_evaluated_key().is_some(),
        "the scan has more than one page"
    );
    let scan = repo.list_leases().await.unwrap();
    assert_eq!(scan.leases.len(), 14);
    assert!(scan.corrupt.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_checkpoint_against_a_throttling_table_makes_at_most_max_attempts_writes() {
    use kinesis_testkit::scripted::{Answer, Scripted};

    // A table that throttles every write, under virtual time.
    let http = Scripted::default()
        .with_responder(|_| Answer::error(400, "ProvisionedThroughputExceededException"));
    let config = ClientConfig::builder()
        .sdk_config(http.sdk_config())
        .build()
        .await
        .unwrap();
    let repo = DynamoDbLeaseRepository::with_options(&config, "leases", fast());
    let mut lease = Lease::new(key(1), Checkpoint::TRIM_HORIZON);
    lease.lease_owner = Some("w".to_owned());
    lease.lease_counter = 1;
    let err = repo
        .update_checkpoint(
            &lease,
            kinesis_lease::CheckpointUpdate {
                checkpoint: Checkpoint::SHARD_END,
                child_shard_ids: None,
                release: false,
            },
        )
        .await
        .unwrap_err();
    assert!(!err.is_lease_lost(), "{err}");
    // The stack's 10 attempts (the default) and no more: the checkpointer adds no retries.
    assert_eq!(http.seen_for("UpdateItem").len(), 10);
}
