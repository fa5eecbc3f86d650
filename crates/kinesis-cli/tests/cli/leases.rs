//! `kinesis leases`: the lease table of an application, read and repaired, and a consumer that
//! really restarts where a rewind put it.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::StreamExt;
use kinesis_client::ClientConfig;
use kinesis_consumer::Consumer;
use kinesis_lease::lineage::InitialPosition;
use kinesis_testkit::TestEnv;

use crate::support::{sh, stream};

/// Reads `n` records of `stream` as a worker of `app` (with the lease table of that name) and
/// checkpoints them; returns their data in order of arrival.
fn read_as_app(env: &TestEnv, stream: &str, app: &str, n: usize) -> Vec<String> {
    let out = sh(
        env,
        &format!("tail {stream} --app {app} --from trim-horizon --raw -n {n} --timeout 60s"),
    );
    out.ok().lines().map(str::to_owned).collect()
}

/// `leases show` of one lease, as JSON.
fn show(env: &TestEnv, app: &str, lease: &str) -> serde_json::Value {
    sh(env, &format!("-o json leases show -a {app} {lease}")).json()
}

/// The data of the next `n` records a library consumer of `app` reads.
async fn consume(env: &TestEnv, stream: &str, app: &str, n: usize) -> Vec<String> {
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .build()
        .await
        .unwrap();
    let consumer = Consumer::builder(
        &config,
        stream.parse::<kinesis_client::StreamId>().unwrap(),
        app,
    )
    .initial_position(InitialPosition::TrimHorizon)
    .build()
    .await
    .unwrap();
    let mut shards = consumer.shards().unwrap();
    let mut shard = tokio::time::timeout(Duration::from_secs(60), shards.next())
        .await
        .expect("a shard within 60 s")
        .unwrap();
    let mut read = Vec::new();
    while read.len() < n {
        let record = tokio::time::timeout(Duration::from_secs(60), shard.next())
            .await
            .expect("records within 60 s")
            .unwrap()
            .unwrap();
        read.push(String::from_utf8(record.data().to_vec()).unwrap());
    }
    drop(shard);
    consumer.shutdown().await;
    read
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_restarts_where_the_rewind_put_it() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-rewind", 1).await;
    let app = env.unique_name("cli-app");
    sh(&env, &format!("put {name} --no-aggregation -k k a b c d e")).ok();
    assert_eq!(read_as_app(&env, &name, &app, 5), ["a", "b", "c", "d", "e"]);

    let list = sh(
        &env,
        &format!("-o json leases list --app {app} --stream {name}"),
    )
    .json();
    let leases = list["leases"].as_array().unwrap();
    assert_eq!(leases.len(), 1, "{list:#}");
    assert_eq!(
        leases[0]["lease_owner"],
        serde_json::Value::Null,
        "released at shutdown"
    );
    assert!(
        leases[0]["millis_behind_latest"].is_i64(),
        "the lag of a checkpoint is measured: {list:#}"
    );
    let table = sh(&env, &format!("leases list --app {app} --stream {name}"));
    assert!(table.ok().contains("LAG"), "{table:#?}");
    let shard = leases[0]["lease_key"].as_str().unwrap().to_owned();
    let all = sh(
        &env,
        &format!("-o json tail {name} --from trim-horizon -n 5 --timeout 60s"),
    )
    .json_lines();
    assert_eq!(
        leases[0]["checkpoint"], all[4]["sequence_number"],
        "checkpointed up to e"
    );

    // Rewind to c: the next worker of the application starts there, really: a library
    // consumer, not the CLI.
    let c = all[2]["sequence_number"].as_str().unwrap();
    let rewound = sh(
        &env,
        &format!(
            "leases rewind --app {app} --stream {name} --lease {shard} --to-sequence {c} --yes"
        ),
    );
    assert!(
        rewound
            .ok()
            .contains(&format!("Changed {shard}: checkpoint")),
        "{rewound:#?}"
    );
    assert_eq!(
        show(&env, &app, &shard)["checkpoint"],
        all[1]["sequence_number"],
        "the record before c"
    );
    assert_eq!(consume(&env, &name, &app, 3).await, ["c", "d", "e"]);

    // Rewind every lease to an hour ago, then reset to LATEST.
    sh(
        &env,
        &format!("leases rewind -a {app} -s {name} --all --to-time 1h -y"),
    )
    .ok();
    assert_eq!(
        show(&env, &app, &shard)["checkpoint"],
        "TRIM_HORIZON",
        "nothing before the first record"
    );
    assert_eq!(
        consume(&env, &name, &app, 5).await,
        ["a", "b", "c", "d", "e"]
    );
    sh(&env, &format!("leases reset -a {app} --all --to latest -y")).ok();
    assert_eq!(show(&env, &app, &shard)["checkpoint"], "LATEST");
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_are_released_transferred_and_deleted_with_conditional_writes() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-lease-ops", 2).await;
    let app = env.unique_name("cli-ops");
    sh(&env, &format!("put {name} x")).ok();
    read_as_app(&env, &name, &app, 1);

    let shard = "shardId-000000000000";
    let counter = show(&env, &app, shard)["lease_counter"].as_u64().unwrap();

    let moved = sh(
        &env,
        &format!("leases transfer -a {app} {shard} --to worker-9 -y"),
    );
    assert!(moved.ok().contains("owner - -> worker-9"), "{moved:#?}");
    let after = show(&env, &app, shard);
    assert_eq!(after["lease_owner"], "worker-9");
    assert_eq!(after["lease_counter"].as_u64().unwrap(), counter + 1);

    let table = sh(&env, &format!("leases list -a {app}"));
    assert!(table.ok().contains("worker-9"), "{table:#?}");
    assert!(
        table.ok().contains("2 leases, 1 owned by 1 workers"),
        "{table:#?}"
    );

    let released = sh(&env, &format!("-o json leases release -a {app} {shard} -y")).json();
    assert_eq!(
        released["changed"].as_array().unwrap().len(),
        1,
        "{released:#}"
    );
    assert_eq!(
        show(&env, &app, shard)["lease_owner"],
        serde_json::Value::Null
    );

    // Declined without a terminal: nothing changes.
    sh(&env, &format!("leases delete -a {app} {shard}")).fails(5, "pass --yes");
    sh(&env, &format!("leases show -a {app} {shard}")).ok();
    sh(&env, &format!("leases delete -a {app} {shard} -y")).ok();
    sh(&env, &format!("leases show -a {app} {shard}"))
        .fails(3, "has no lease shardId-000000000000");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_table_and_a_corrupt_row_are_reported_with_their_exit_codes() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-corrupt", 1).await;
    let missing = env.unique_name("cli-no-app");
    sh(&env, &format!("leases list -a {missing}"))
        .fails(3, &format!("the lease table {missing} does not exist"));
    sh(
        &env,
        &format!("leases show -a {missing} shardId-000000000000"),
    )
    .fails(3, "does not exist");

    let app = env.unique_name("cli-bad-rows");
    sh(&env, &format!("put {name} x")).ok();
    read_as_app(&env, &name, &app, 1);
    let item: HashMap<String, AttributeValue> = [
        ("leaseKey", "shardId-000000000042"),
        ("leaseCounter", "not a number"),
        ("checkpoint", "TRIM_HORIZON"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
    .collect();
    env.dynamodb_sdk()
        .put_item()
        .table_name(&app)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let listed = sh(&env, &format!("leases list -a {app}"));
    listed.fails(6, "shardId-000000000042");
    assert!(
        listed.stdout.contains("shardId-000000000000"),
        "the readable lease is still listed: {listed:#?}"
    );
    sh(&env, &format!("leases reset -a {app} --all -y")).fails(6, "not readable leases");
    // One readable lease can still be repaired by name.
    sh(
        &env,
        &format!("leases reset -a {app} --lease shardId-000000000000 -y"),
    )
    .ok();
}
