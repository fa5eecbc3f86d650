//! The emulator environment, a pre-filled stream, and the two ways of reading it.

use kinesis_client::Telemetry;
use kinesis_consumer::MetricsLevel;
use kinesis_metrics::{CloudWatchPublisher, DiscardSink, PublisherSettings};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use kinesis_client::sdk::kinesis::types::ShardIteratorType;
use kinesis_client::{
    AdminClient, Client, ClientConfig, HashKey, PartitionKey, PutRecordsEntry,
    PutRecordsResultEntry, ShardId, StreamMode, StreamName, WaitConfig,
};
use kinesis_consumer::{Consumer, ConsumerSettings, FetchMode, PollingSettings};
use kinesis_lease::lineage::InitialPosition;
use kinesis_lease::{DynamoDbLeaseRepository, LeaseRepository};
use kinesis_testkit::TestEnv;
use tokio::sync::Notify;

use crate::{BoxError, EMULATOR_THREADS, PATIENCE, PLAIN_LIMIT, RECORD_BYTES, Result};

pub(crate) struct Fixture {
    pub(crate) env: TestEnv,
    pub(crate) config: ClientConfig,
    pub(crate) client: Client,
    pub(crate) admin: AdminClient,
}

async fn client_config(env: &TestEnv) -> Result<ClientConfig> {
    Ok(ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .wait(WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
        .build()
        .await?)
}

impl Fixture {
    pub(crate) async fn start() -> Result<Fixture> {
        let env = TestEnv::builder()
            .embedded_only()
            .emulator_worker_threads(EMULATOR_THREADS)
            .start()
            .await;
        let config = client_config(&env).await?;
        Ok(Fixture {
            client: Client::new(&config),
            admin: AdminClient::new(&config),
            env,
            config,
        })
    }

    /// A client configuration of its own (its own rate limiter and retry budget, as a worker
    /// process of its own has), on the same emulators.
    pub(crate) async fn fresh_config(&self) -> Result<ClientConfig> {
        client_config(&self.env).await
    }

    /// A new stream of `shards` shards; returns its name and, per shard, an explicit hash key
    /// inside the shard's range (so records can be spread evenly).
    pub(crate) async fn stream(
        &self,
        shards: u32,
    ) -> Result<(StreamName, Vec<(ShardId, HashKey)>)> {
        let name: StreamName = self.env.unique_name("bench").parse()?;
        self.admin
            .create_stream(
                &name,
                StreamMode::Provisioned {
                    shard_count: shards,
                },
            )
            .await?;
        let mut targets = Vec::new();
        let mut list = self.client.list_shards(&name, None);
        while let Some(shard) = list.next().await {
            let shard = shard?;
            targets.push((shard.id().clone(), shard.hash_key_range().midpoint()));
        }
        targets.sort_by(|a, b| a.0.cmp(&b.0));
        Ok((name, targets))
    }

    /// Writes `count` records of [`RECORD_BYTES`] bytes, numbered from `first`, round-robin
    /// over `targets`; returns how many each shard got.
    pub(crate) async fn fill(
        &self,
        stream: &StreamName,
        targets: &[(ShardId, HashKey)],
        first: usize,
        count: usize,
    ) -> Result<BTreeMap<ShardId, usize>> {
        const BATCH: usize = 500;
        const IN_FLIGHT: usize = 8;
        // Batches are made as they are sent, so that little memory stays behind.
        let results: Vec<Result<Vec<ShardId>>> =
            futures_util::stream::iter((first..first + count).step_by(BATCH))
                .map(|start| {
                    let batch: Vec<PutRecordsEntry> = (start..(start + BATCH).min(first + count))
                        .map(|n| {
                            let (_, hash_key) = &targets[n % targets.len()];
                            PutRecordsEntry::new(
                                payload(n),
                                PartitionKey::new(format!("pk-{n}")).expect("a partition key"),
                            )
                            .with_explicit_hash_key(*hash_key)
                        })
                        .collect();
                    let client = self.client.clone();
                    let stream = stream.clone();
                    async move {
                        let out = client.put_records(&stream, batch).await?;
                        out.entries()
                            .iter()
                            .map(|e| match e {
                                PutRecordsResultEntry::Stored(p) => Ok(p.shard_id.clone()),
                                other => Err(format!("a record was not stored: {other:?}").into()),
                            })
                            .collect()
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
        let mut per_shard = BTreeMap::new();
        for batch in results {
            for shard in batch? {
                *per_shard.entry(shard).or_default() += 1;
            }
        }
        Ok(per_shard)
    }
}

/// Record `n`'s payload: its number, zero-padded to [`RECORD_BYTES`] bytes.
pub(crate) fn payload(n: usize) -> Bytes {
    Bytes::from(format!("{n:0width$}", width = RECORD_BYTES))
}

/// What a consumer read took.
pub(crate) struct ReadOutcome {
    /// From the `build()` call to the last record handed to the handler.
    pub(crate) elapsed: Duration,
    /// How long `build()` took (part of `elapsed`).
    pub(crate) build: Duration,
    pub(crate) records: usize,
}

/// How the consumer's handler treats each record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Handler {
    /// Stages the record and counts it.
    NoOp,
    /// Like `NoOp`, but sleeps 1 ms after every 25 records: slower than the fetching, so every
    /// prefetch buffer fills up to its bound.
    Slow,
}

/// Reads the whole pre-filled stream with a new consumer (a new application, so from
/// TRIM_HORIZON), whose lease table exists already; returns when `expected` records were
/// delivered.
pub(crate) async fn consumer_read(
    fx: &Fixture,
    stream: &StreamName,
    polling: PollingSettings,
    handler: Handler,
    per_shard: &BTreeMap<ShardId, usize>,
    metered: bool,
) -> Result<ReadOutcome> {
    let expected: usize = per_shard.values().sum();
    let per_shard = Arc::new(per_shard.clone());
    let app = fx.env.unique_name("bench-app");
    DynamoDbLeaseRepository::new(&fx.config, app.clone())
        .ensure_table()
        .await?;
    let settings = ConsumerSettings::default()
        .with_initial_position(InitialPosition::TrimHorizon)
        .with_fetch_mode(FetchMode::Polling(polling));
    let delivered = Arc::new(AtomicUsize::new(0));
    let all_read = Arc::new(Notify::new());

    // A worker of its own: a reader does not inherit the previous one's rate-limit windows.
    let config = fx.fresh_config().await?;
    let started = Instant::now();
    let builder = Consumer::builder(&config, stream, app.clone())
        .worker_id("bench-reader")
        .settings(settings);
    // The KCL's metrics at DETAILED into a CloudWatch publisher whose calls go nowhere: what
    // the metrics cost the consumer, without the network.
    let builder = if metered {
        builder.telemetry(Telemetry::new(CloudWatchPublisher::start(
            PublisherSettings::new(app).with_level(MetricsLevel::Detailed),
            Arc::new(DiscardSink),
        )))
    } else {
        builder
    };
    let consumer = builder.build().await?;
    let build = started.elapsed();
    let mut shards = consumer.shards()?;
    let (count, done) = (Arc::clone(&delivered), Arc::clone(&all_read));
    let readers = tokio::spawn(async move {
        let mut tasks = Vec::new();
        while let Some(mut shard) = shards.next().await {
            let (count, done) = (Arc::clone(&count), Arc::clone(&done));
            let shard_total = per_shard.get(shard.shard_id()).copied().unwrap_or(0);
            tasks.push(tokio::spawn(async move {
                // Counted locally, published every 1024 records and at the shard's last one,
                // so that the counting itself costs next to nothing.
                let mut unpublished = 0usize;
                let mut seen = 0usize;
                while let Some(record) = shard.next().await {
                    let record = record.expect("a readable record");
                    shard.checkpointer().stage(record.position());
                    black_box(record.data().len());
                    seen += 1;
                    unpublished += 1;
                    if handler == Handler::Slow && seen.is_multiple_of(25) {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    if unpublished == 1024 || seen == shard_total {
                        publish(&count, &done, &mut unpublished, expected);
                    }
                }
                publish(&count, &done, &mut unpublished, expected);
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    });

    let waited = tokio::time::timeout(PATIENCE, async {
        while delivered.load(Ordering::Acquire) < expected {
            let notified = all_read.notified();
            if delivered.load(Ordering::Acquire) >= expected {
                break;
            }
            notified.await;
        }
    })
    .await;
    let elapsed = started.elapsed();
    let records = delivered.load(Ordering::Acquire);
    consumer.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(30), readers).await;
    if waited.is_err() {
        return Err(format!(
            "the consumer delivered {records} of {expected} records in {PATIENCE:?}"
        )
        .into());
    }
    Ok(ReadOutcome {
        elapsed,
        build,
        records,
    })
}

fn publish(count: &AtomicUsize, done: &Notify, unpublished: &mut usize, expected: usize) {
    if *unpublished == 0 {
        return;
    }
    let total = count.fetch_add(*unpublished, Ordering::AcqRel) + *unpublished;
    *unpublished = 0;
    if total >= expected {
        done.notify_one();
    }
}

/// Reads every shard with the SDK directly: one task per shard, GetShardIterator at
/// TRIM_HORIZON, then GetRecords (limit 10 000) with each next iterator until the shard's
/// records were all read. Returns the time and the number of records read.
pub(crate) async fn plain_read(
    fx: &Fixture,
    stream: &StreamName,
    per_shard: &BTreeMap<ShardId, usize>,
) -> Result<(Duration, usize)> {
    let sdk = fx.config.kinesis_sdk();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (shard, &expected) in per_shard {
        let (sdk, stream, shard) = (sdk.clone(), stream.to_string(), shard.to_string());
        tasks.push(tokio::spawn(async move {
            let mut iterator = sdk
                .get_shard_iterator()
                .stream_name(&stream)
                .shard_id(&shard)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await?
                .shard_iterator
                .ok_or("no shard iterator")?;
            let mut read = 0usize;
            while read < expected {
                let out = sdk
                    .get_records()
                    .shard_iterator(&iterator)
                    .limit(PLAIN_LIMIT)
                    .send()
                    .await?;
                for record in out.records() {
                    black_box(record.data().as_ref().len());
                }
                read += out.records().len();
                iterator = out.next_shard_iterator.ok_or("the shard ended")?;
            }
            Ok::<usize, BoxError>(read)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok((started.elapsed(), total))
}
