//! Creating, describing, configuring and deleting streams, on every backend.

mod support;

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use kinesis_client::{ErrorKind, StreamId, StreamMode, StreamName, StreamStatus};
use kinesis_testkit::{Capability, TestEnv};

#[tokio::test]
async fn a_stream_lives_from_creation_to_deletion() {
    let env = TestEnv::start().await;
    let (client, admin) = support::clients(&env).await;
    let name: StreamName = env.unique_name("lifecycle").parse().unwrap();

    let summary = admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 2 })
        .await
        .unwrap();
    assert_eq!(summary.status, StreamStatus::Active);
    assert_eq!(summary.open_shard_count, 2);
    assert_eq!(summary.retention_period_hours, 24);
    let arn = summary.arn.clone().expect("the summary carries the ARN");
    assert_eq!(arn.stream_name(), &name);

    let listed: Vec<_> = admin.list_streams().try_collect().await.unwrap();
    assert!(listed.iter().any(|s| s.name == name), "{listed:?}");

    // A second creation is refused, typed.
    let again = admin
        .create_stream(&name, StreamMode::Provisioned { shard_count: 1 })
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::ResourceInUse, "{again:?}");

    admin.increase_retention_period(&name, 48).await.unwrap();
    assert_eq!(
        client
            .describe_stream_summary(&name)
            .await
            .unwrap()
            .retention_period_hours,
        48
    );
    admin.decrease_retention_period(&name, 24).await.unwrap();
    assert_eq!(
        client
            .describe_stream_summary(&name)
            .await
            .unwrap()
            .retention_period_hours,
        24
    );

    let tags = BTreeMap::from([
        ("team".to_owned(), "payments".to_owned()),
        ("env".to_owned(), "test".to_owned()),
    ]);
    admin.add_tags(&name, tags.clone()).await.unwrap();
    assert_eq!(admin.list_tags(&name).await.unwrap(), tags);
    admin
        .remove_tags(&name, vec!["env".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        admin.list_tags(&name).await.unwrap(),
        BTreeMap::from([("team".to_owned(), "payments".to_owned())])
    );

    let scaled = admin.update_shard_count(&name, 4).await.unwrap();
    assert_eq!(scaled.open_shard_count, 4);

    admin.delete_stream(&name).await.unwrap();
    let gone = client.describe_stream_summary(&name).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
}

#[tokio::test]
async fn an_on_demand_stream_reports_its_mode() {
    let env = TestEnv::start().await;
    if !env.require(Capability::OnDemandStreams) {
        return;
    }
    let (_client, admin) = support::clients(&env).await;
    let name: StreamName = env.unique_name("ondemand").parse().unwrap();
    let summary = admin
        .create_stream(&name, StreamMode::OnDemand)
        .await
        .unwrap();
    assert_eq!(summary.on_demand, Some(true));
    admin.delete_stream(&name).await.unwrap();
}

#[tokio::test]
async fn limits_are_described() {
    let env = TestEnv::start().await;
    let (_client, admin) = support::clients(&env).await;
    let limits = admin.describe_limits().await.unwrap();
    assert!(limits.shard_limit > 0, "{limits:?}");
}

#[tokio::test]
async fn bad_admin_input_is_refused_before_sending() {
    let env = TestEnv::start().await;
    let (_client, admin) = support::clients(&env).await;
    let name: StreamName = env.unique_name("bad").parse().unwrap();
    let s = StreamId::from(&name);
    for err in [
        admin
            .create_stream(&name, StreamMode::Provisioned { shard_count: 0 })
            .await
            .unwrap_err(),
        admin.update_shard_count(&s, 0).await.unwrap_err(),
        admin.increase_retention_period(&s, 9000).await.unwrap_err(),
        admin.add_tags(&s, BTreeMap::new()).await.unwrap_err(),
        admin
            .register_stream_consumer(&s, "no spaces")
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
    }
}
