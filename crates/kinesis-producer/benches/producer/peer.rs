//! Peer runs: one writer of this benchmark as a contender of `cargo xtask bench peers`, in a
//! process of its own, writing to an external Kinesis endpoint (the test kit's instant server
//! over TLS, trusting its CA) next to the KPL and boto3 in processes of theirs.
//!
//! `--peer-child <writer> <endpoint> <ca.pem> <stream> <records>` writes `records` records and
//! prints one line: `{"peer":"<writer>","records":N,"secs":S}`, the time from the first record
//! sent to the last one stored (the process's start and the producer's `build()` are not in it,
//! but its CPU time, counted from outside, includes them).
//!
//! `--peer-child create-stream <endpoint> <ca.pem> <stream> <shards>` makes the stream (on a
//! server that keeps streams, such as kinesis-local) and waits until it is active; a stream of
//! that name already there is used as it is. It prints `{"peer":"create-stream","records":0,"secs":S}`.

use kinesis_client::{AdminClient, ClientConfig, ErrorKind, StreamMode};

use crate::Result;
use crate::workload::{build_producer, plain_loop, produce, producer_settings};

pub(crate) async fn child(
    writer: &str,
    endpoint: &str,
    ca_pem: &str,
    stream: &str,
    records: u64,
) -> Result<()> {
    let ca = std::fs::read(ca_pem).map_err(|e| format!("cannot read {ca_pem}: {e}"))?;
    let config = ClientConfig::builder()
        .region("us-east-1")
        .static_credentials("AKIDPEERBENCH", "peer-bench-secret")
        .kinesis_endpoint(endpoint)
        .trust_ca_pem(ca)
        .build()
        .await?;
    if writer == "create-stream" {
        let started = std::time::Instant::now();
        let shard_count = u32::try_from(records).map_err(|_| "too many shards")?;
        let admin = AdminClient::new(&config);
        match admin
            .create_stream(&stream.parse()?, StreamMode::Provisioned { shard_count })
            .await
        {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ResourceInUse => {
                admin
                    .wait_until_active(stream.parse::<kinesis_client::StreamId>()?)
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
        println!(
            r#"{{"peer":"create-stream","records":0,"secs":{}}}"#,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let written = match writer {
        "plain" => plain_loop(&config.kinesis_sdk(), stream, 0, records).await?,
        "producer" | "aggregated" => {
            let producer = build_producer(
                &config,
                stream,
                producer_settings(writer == "aggregated"),
                false,
            )
            .await?;
            produce(producer, 0, records, |_| {}).await?
        }
        other => return Err(format!("unknown peer writer {other:?}").into()),
    };
    println!(
        r#"{{"peer":"{writer}","records":{},"secs":{}}}"#,
        written.records,
        written.elapsed.as_secs_f64()
    );
    Ok(())
}
