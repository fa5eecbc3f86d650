//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use kinesis_client::ClientConfig;

/// Clients of this crate pointed at a test kit's emulators (embedded, or the external servers
/// the standard endpoint variables name).
pub async fn clients(
    env: &kinesis_testkit::TestEnv,
) -> (kinesis_client::Client, kinesis_client::AdminClient) {
    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .wait(kinesis_client::WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
        .build()
        .await
        .unwrap();
    (
        kinesis_client::Client::new(&config),
        kinesis_client::AdminClient::new(&config),
    )
}

/// Reads a shard from `position` until a read comes back empty (or the shard ends), at most
/// `max_reads` reads.
pub async fn read_all(
    client: &kinesis_client::Client,
    stream: &kinesis_client::StreamId,
    shard: &kinesis_client::ShardId,
    position: kinesis_client::StartingPosition,
) -> Vec<kinesis_client::Record> {
    let mut it = client
        .get_shard_iterator(stream, shard, position)
        .await
        .unwrap();
    let mut all = Vec::new();
    for _ in 0..50 {
        let mut out = client.get_records(&it, None).await.unwrap();
        let records = out.take_records();
        let empty = records.is_empty();
        all.extend(records);
        match out.next_shard_iterator() {
            Some(next) if !empty => it = next.clone(),
            _ => break,
        }
    }
    all
}
