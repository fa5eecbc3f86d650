//! Shared by the consumer's integration tests: an emulator environment, a stream with
//! records, and workers that collect what they read.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use kinesis_client::{
    AdminClient, Client, ClientConfig, PartitionKey, PutRecordsEntry, PutRecordsResultEntry,
    SequenceNumber, ShardId, StreamMode, StreamName, WaitConfig,
};
use kinesis_consumer::{Consumer, ConsumerRecord, ConsumerSettings, DiagnosticEvent};
use kinesis_kcl_compat::lease::Lease;
use kinesis_lease::coordinator::CoordinatorSettings;
use kinesis_lease::lineage::InitialPosition;
use kinesis_lease::{DynamoDbLeaseRepository, LeaseRepository};
use kinesis_serde::Utf8;
use kinesis_testkit::TestEnv;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub struct Fixture {
    pub env: TestEnv,
    pub config: ClientConfig,
    pub client: Client,
    pub admin: AdminClient,
    pub stream: StreamName,
    pub app: String,
}

impl Fixture {
    pub async fn new(shards: u32) -> Fixture {
        Self::with_env(TestEnv::start().await, shards).await
    }

    pub async fn with_env(env: TestEnv, shards: u32) -> Fixture {
        let config = ClientConfig::builder()
            .sdk_config(env.sdk_config())
            .wait(WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
            .build()
            .await
            .unwrap();
        let client = Client::new(&config);
        let admin = AdminClient::new(&config);
        // Not `consumer-...`: kinesis-local 0.6.2 takes the ARN of such a stream for a
        // consumer ARN.
        let stream: StreamName = env.unique_name("stream").parse().unwrap();
        admin
            .create_stream(
                &stream,
                StreamMode::Provisioned {
                    shard_count: shards,
                },
            )
            .await
            .unwrap();
        let app = env.unique_name("app");
        Fixture {
            env,
            config,
            client,
            admin,
            stream,
            app,
        }
    }

    /// Writes `values` with partition keys `key-{i % keys}`; returns (value, shard, sequence
    /// number) in order.
    pub async fn put(
        &self,
        values: impl IntoIterator<Item = String>,
        keys: usize,
    ) -> Vec<(String, ShardId, SequenceNumber)> {
        let values: Vec<String> = values.into_iter().collect();
        let mut out = Vec::new();
        for (chunk_index, chunk) in values.chunks(500).enumerate() {
            let entries: Vec<PutRecordsEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let n = chunk_index * 500 + i;
                    PutRecordsEntry::new(
                        v.clone(),
                        PartitionKey::new(format!("key-{}", n % keys)).unwrap(),
                    )
                })
                .collect();
            let result = self
                .client
                .put_records(&self.stream, entries)
                .await
                .unwrap();
            for (v, e) in chunk.iter().zip(result.entries()) {
                match e {
                    PutRecordsResultEntry::Stored(p) => {
                        out.push((v.clone(), p.shard_id.clone(), p.sequence_number.clone()))
                    }
                    other => panic!("not stored: {other:?}"),
                }
            }
        }
        out
    }

    /// Fast lease timings for real-time tests.
    pub fn settings(&self) -> ConsumerSettings {
        ConsumerSettings::default()
            .with_initial_position(InitialPosition::TrimHorizon)
            .with_lease_settings(
                CoordinatorSettings::default()
                    .with_failover_time(Duration::from_secs(1))
                    .with_release_timeout(Duration::from_secs(5)),
            )
            .with_shard_sync_interval(Duration::from_secs(1))
    }

    pub fn repository(&self) -> DynamoDbLeaseRepository {
        DynamoDbLeaseRepository::new(&self.config, self.app.clone())
    }

    pub async fn leases(&self) -> BTreeMap<String, Lease> {
        self.repository()
            .list_leases()
            .await
            .unwrap()
            .leases
            .into_iter()
            .map(|l| (l.lease_key.to_string(), l))
            .collect()
    }

    /// A consumer of the stream as worker `id`, with the fast lease timings.
    pub async fn consumer(&self, id: &str) -> Consumer<String> {
        Consumer::builder(&self.config, &self.stream, self.app.clone())
            .worker_id(id)
            .deserializer(Utf8)
            .settings(self.settings())
            .build()
            .await
            .unwrap()
    }

    pub async fn worker(&self, id: &str) -> Worker {
        self.worker_with(id, self.settings()).await
    }

    pub async fn worker_with(&self, id: &str, settings: ConsumerSettings) -> Worker {
        let events: Arc<Mutex<Vec<DiagnosticEvent>>> = Arc::default();
        let sink = Arc::clone(&events);
        let consumer = Consumer::builder(&self.config, &self.stream, self.app.clone())
            .worker_id(id)
            .deserializer(Utf8)
            .settings(settings)
            .on_event(move |e| sink.lock().unwrap().push(e.clone()))
            .build()
            .await
            .unwrap();
        Worker::run(consumer, events)
    }
}

pub type Seen = Arc<Mutex<Vec<ConsumerRecord<String>>>>;
pub type Events = Arc<Mutex<Vec<DiagnosticEvent>>>;

/// A consumer whose shard streams are read by tasks that stage every record.
pub struct Worker {
    pub consumer: Consumer<String>,
    pub seen: Seen,
    pub events: Arc<Mutex<Vec<DiagnosticEvent>>>,
    pub streams: Arc<Mutex<BTreeMap<String, usize>>>,
    task: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn run(consumer: Consumer<String>, events: Arc<Mutex<Vec<DiagnosticEvent>>>) -> Worker {
        let seen: Seen = Arc::default();
        let streams: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
        let mut shards = consumer.shards().unwrap();
        let (s, st) = (Arc::clone(&seen), Arc::clone(&streams));
        let task = tokio::spawn(async move {
            let mut readers = Vec::new();
            while let Some(mut shard) = shards.next().await {
                *st.lock()
                    .unwrap()
                    .entry(shard.shard_id().to_string())
                    .or_default() += 1;
                let s = Arc::clone(&s);
                readers.push(tokio::spawn(async move {
                    while let Some(record) = shard.next().await {
                        let record = record.unwrap();
                        shard.checkpointer().stage(record.position());
                        s.lock().unwrap().push(record);
                    }
                }));
            }
            for r in readers {
                r.await.unwrap();
            }
        });
        Worker {
            consumer,
            seen,
            events,
            streams,
            task: Some(task),
        }
    }

    pub fn values(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.data().clone())
            .collect()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The open leases held (a finished lease stays held until its cleanup).
    pub fn held(&self) -> usize {
        self.consumer
            .lease_coordinator()
            .held_leases()
            .iter()
            .filter(|l| !l.checkpoint.is_shard_end())
            .count()
    }

    pub async fn shutdown(mut self) -> Worker {
        self.consumer.shutdown().await;
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("shard readers end after shutdown")
                .unwrap();
        }
        self
    }
}

/// Waits (real time, bounded) until `check` holds.
pub async fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
