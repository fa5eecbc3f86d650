//! `kinesis stream`: the whole life of a stream, and the errors of a missing one.

use kinesis_testkit::TestEnv;

use crate::support::{consumer_gone, run, sh, stream};

/// The shards of a `-o json` answer that are in `state`.
fn in_state<'a>(answer: &'a serde_json::Value, state: &str) -> Vec<&'a serde_json::Value> {
    answer["shards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == state)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_is_created_described_resharded_and_deleted() {
    let env = TestEnv::start().await;
    let name = env.unique_name("cli-life");

    let created = sh(&env, &format!("-o json stream create {name} --shards 2")).json();
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["open_shard_count"], 2);

    let listed = sh(&env, "stream list");
    assert!(listed.ok().contains(&name), "{listed:#?}");

    let described = sh(&env, &format!("-o json stream describe {name}")).json();
    let shards = described["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[0]["starting_hash_key"], "0");
    assert_eq!(
        shards[1]["ending_hash_key"],
        "340282366920938463463374607431768211455"
    );
    let first = shards[0]["shard_id"].as_str().unwrap().to_owned();
    let second = shards[1]["shard_id"].as_str().unwrap().to_owned();

    // The text table shows ranges, parents and states.
    let table = sh(&env, &format!("stream describe {name}"));
    assert!(table.ok().contains("STARTING HASH KEY"), "{table:#?}");
    assert!(table.ok().contains("OPEN"), "{table:#?}");

    // Split the first shard in the middle: it closes, two children take its range.
    let split = sh(
        &env,
        &format!("-o json stream reshard split {name} {first}"),
    )
    .json();
    let closed = in_state(&split, "CLOSED");
    assert_eq!(closed.len(), 1, "{split:#}");
    assert_eq!(closed[0]["shard_id"], first.as_str());
    let children: Vec<_> = in_state(&split, "OPEN")
        .into_iter()
        .filter(|s| {
            s["parents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == first.as_str())
        })
        .collect();
    assert_eq!(children.len(), 2, "{split:#}");
    assert_eq!(
        children[1]["starting_hash_key"], "85070591730234615865843651857942052864",
        "split at the middle of the parent's range"
    );

    // Merge the second child with the old second shard (adjacent ranges).
    let child = children[1]["shard_id"].as_str().unwrap();
    let merged = sh(
        &env,
        &format!("-o json stream reshard merge {name} {child} {second}"),
    )
    .json();
    assert_eq!(in_state(&merged, "OPEN").len(), 2, "{merged:#}");

    let scaled = sh(&env, &format!("-o json stream reshard scale {name} 4")).json();
    assert_eq!(in_state(&scaled, "OPEN").len(), 4, "{scaled:#}");

    let retention = sh(&env, &format!("-o json stream retention {name} 48")).json();
    assert_eq!(retention["retention_hours"], 48);
    assert_eq!(retention["previous_retention_hours"], 24);
    let described = sh(&env, &format!("-o json stream describe {name}")).json();
    assert_eq!(described["retention_hours"], 48);

    // Without a terminal and without --yes, nothing is deleted.
    sh(&env, &format!("stream delete {name}")).fails(5, "pass --yes");
    sh(&env, &format!("stream describe {name}")).ok();

    let deleted = sh(&env, &format!("stream delete {name} --yes"));
    assert!(deleted.ok().contains("Deleted stream"), "{deleted:#?}");
    sh(&env, &format!("stream describe {name}")).fails(3, &name);
}

#[tokio::test(flavor = "multi_thread")]
async fn fan_out_consumers_are_registered_listed_and_deregistered() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-efo", 1).await;
    let listed = sh(
        &env,
        &format!("-o json stream consumers {name} --register audit"),
    )
    .json();
    let names: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, ["audit"], "{listed:#}");
    assert_eq!(listed[0]["status"], "ACTIVE");
    let after = sh(
        &env,
        &format!("-o json stream consumers {name} --deregister audit"),
    )
    .json();
    assert!(consumer_gone(&after, "audit"), "{after:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_its_cause() {
    let env = TestEnv::start().await;
    let name = stream(&env, "cli-bad", 1).await;
    let missing = env.unique_name("cli-missing");
    let shard = "shardId-000000000000";
    sh(&env, &format!("stream describe {missing}")).fails(3, &missing);
    sh(&env, &format!("stream delete {missing} --yes")).fails(3, &missing);
    sh(
        &env,
        &format!("stream reshard split {name} {shard} --at 12x"),
    )
    .fails(2, "bad hash key \"12x\"");
    sh(&env, &format!("stream reshard split {name} {shard} --at 0"))
        .fails(2, "not inside shard shardId-000000000000's range");
    sh(
        &env,
        &format!("stream reshard split {name} shardId-000000000009"),
    )
    .fails(3, "has no shard shardId-000000000009");
    run(&env, &["stream", "create", "bad name!"]).fails(2, "bad name!");
}
