//! Peer runs: this consumer as a contender of `cargo xtask bench peers`, in a process of its
//! own, next to Java KCL workers in processes of theirs, all reading one pre-filled stream of an
//! external Kinesis endpoint (the test kit's instant server) with their leases in an external
//! DynamoDB.
//!
//! `--peer-child <kinesis-endpoint> <dynamodb-endpoint> <stream> <application> <records>`
//! starts a new application (its lease table made by this process, as the KCL makes its own),
//! reads from TRIM_HORIZON with the default settings (polling) and a handler that only counts,
//! and exits once `records` user records arrived, printing one line:
//! `{"peer":"consumer","records":N,"first_ms":T1,"last_ms":T2}` (milliseconds since the epoch
//! of the first and the last record).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use kinesis_client::{ClientConfig, StreamName};
use kinesis_consumer::{Consumer, ConsumerSettings};
use kinesis_lease::lineage::InitialPosition;
use kinesis_lease::{DynamoDbLeaseRepository, LeaseRepository};
use tokio::sync::Notify;

use crate::{PATIENCE, Result};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) async fn child(
    kinesis: &str,
    dynamodb: &str,
    stream: &str,
    application: &str,
    records: usize,
) -> Result<()> {
    let config = ClientConfig::builder()
        .region("us-east-1")
        .static_credentials("AKIDPEERBENCH", "peer-bench-secret")
        .kinesis_endpoint(kinesis)
        .dynamodb_endpoint(dynamodb)
        .build()
        .await?;
    let stream: StreamName = stream.parse()?;
    DynamoDbLeaseRepository::new(&config, application.to_owned())
        .ensure_table()
        .await?;
    let consumer = Consumer::builder(&config, &stream, application.to_owned())
        .worker_id("peer-consumer")
        .settings(ConsumerSettings::default().with_initial_position(InitialPosition::TrimHorizon))
        .build()
        .await?;
    let delivered = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let all_read = Arc::new(Notify::new());
    let mut shards = consumer.shards()?;
    let times = (Arc::clone(&first), Arc::clone(&last));
    let (count, done) = (Arc::clone(&delivered), Arc::clone(&all_read));
    let readers = tokio::spawn(async move {
        while let Some(mut shard) = shards.next().await {
            let (count, done) = (Arc::clone(&count), Arc::clone(&done));
            let (first, last) = (Arc::clone(&times.0), Arc::clone(&times.1));
            tokio::spawn(async move {
                while let Some(record) = shard.next().await {
                    let record = record.expect("a readable record");
                    std::hint::black_box(record.data().len());
                    let seen = count.fetch_add(1, Ordering::AcqRel) + 1;
                    if seen == 1 {
                        first.store(now_ms(), Ordering::Release);
                    }
                    if seen == records {
                        last.store(now_ms(), Ordering::Release);
                        done.notify_one();
                    }
                }
            });
        }
    });
    let waited = tokio::time::timeout(PATIENCE, async {
        while delivered.load(Ordering::Acquire) < records {
            let _ = tokio::time::timeout(Duration::from_millis(100), all_read.notified()).await;
        }
    })
    .await;
    readers.abort();
    if waited.is_err() {
        return Err(format!(
            "{} of {records} records in {PATIENCE:?}",
            delivered.load(Ordering::Acquire)
        )
        .into());
    }
    println!(
        r#"{{"peer":"consumer","records":{},"first_ms":{},"last_ms":{}}}"#,
        delivered.load(Ordering::Acquire),
        first.load(Ordering::Acquire),
        last.load(Ordering::Acquire)
    );
    // Leases are left to expire: the process's work is done, as a killed KCL worker's is.
    std::mem::forget(consumer);
    Ok(())
}
