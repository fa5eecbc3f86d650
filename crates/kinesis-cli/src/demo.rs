//! The local demo: emulators, a stream, records written by the producer and read by two consumer
//! workers that share the shards; one stops and the other takes over.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kinesis_client::{AdminClient, ClientConfig, StreamMode, StreamName, WaitConfig};
use kinesis_consumer::{Consumer, ConsumerError, ConsumerSettings};
use kinesis_lease::CoordinatorSettings;
use kinesis_lease::lineage::InitialPosition;
use kinesis_producer::{
    AggregationSettings, ProduceError, Producer, ProducerRecord, ProducerSettings,
};
use kinesis_serde::Utf8;
use kinesis_testkit::{Service, TestEnv};

/// The demo's sizes.
struct Options {
    records: usize,
    shards: u32,
}

/// Start the embedded emulators (or use the servers that AWS_ENDPOINT_URL_KINESIS and
/// AWS_ENDPOINT_URL_DYNAMODB name), create a stream, write records with the producer, and read
/// them with two consumer workers that share the shards; half way, worker-1 stops and worker-2
/// takes over. Prints the records per worker and that none were lost.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// How many records to write and read.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    records: u64,
    /// How many shards the stream has (two workers share them).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=50))]
    shards: u32,
}

pub(crate) async fn run(args: Args) -> crate::error::Result<()> {
    run_demo(args)
        .await
        .map_err(|e| crate::error::CliError::other("the demo failed", &*e))
}

async fn run_demo(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let options = Options {
        records: args.records as usize,
        shards: args.shards,
    };
    let env = TestEnv::start().await;
    println!(
        "Kinesis:  {} ({})",
        env.kinesis_endpoint(),
        env.backend(Service::Kinesis)
    );
    println!(
        "DynamoDB: {} ({})",
        env.dynamodb_endpoint(),
        env.backend(Service::DynamoDb)
    );

    let config = ClientConfig::builder()
        .sdk_config(env.sdk_config())
        .wait(WaitConfig::default().with_poll_interval(Duration::from_millis(50)))
        .build()
        .await?;
    let admin = AdminClient::new(&config);

    let name: StreamName = env.unique_name("demo").parse()?;
    let started = Instant::now();
    let summary = admin
        .create_stream(
            &name,
            StreamMode::Provisioned {
                shard_count: options.shards,
            },
        )
        .await?;
    println!(
        "Created stream {} with {} shards in {:?}",
        summary.name,
        summary.open_shard_count,
        started.elapsed()
    );

    // Two workers of one application share the shards through the lease table.
    let application = env.unique_name("demo-app");
    let settings = ConsumerSettings::default()
        .with_initial_position(InitialPosition::TrimHorizon)
        .with_lease_settings(
            CoordinatorSettings::default().with_failover_time(Duration::from_secs(1)),
        );
    let tally = Tally::default();
    let w1 = Worker::start(&config, &name, &application, "worker-1", &settings, &tally).await?;
    let w2 = Worker::start(&config, &name, &application, "worker-2", &settings, &tally).await?;
    // One producer writes (aggregating by predicted shard, as the KPL does).
    let producer: Producer<String> = Producer::builder(&config, &name)
        .serializer(Utf8)
        .settings(ProducerSettings::default().with_aggregation(AggregationSettings::default()))
        .build()
        .await?;
    let half = options.records / 2;
    write(&producer, 0..half).await?;
    println!("Produced records 0..{half}");
    let deadline = Instant::now() + Duration::from_secs(60);
    // Until both read and the shards are shared fairly (the second worker steals its share).
    let share = options.shards as usize / 2;
    while tally.unique() < half
        || w1.held() < share
        || w2.held() < share
        || w1.held() + w2.held() != options.shards as usize
    {
        if Instant::now() > deadline {
            return Err(format!(
                "the two workers read {} of {half} records in 60 s",
                tally.unique()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "worker-1 holds {} shards, worker-2 holds {}; {} records read",
        w1.held(),
        w2.held(),
        tally.unique()
    );

    // worker-1 stops: it checkpoints and releases its leases; worker-2 takes them over.
    let stopping = Instant::now();
    let w1_shards = w1.held();
    w1.consumer.shutdown().await;
    while w2.held() < options.shards as usize {
        if Instant::now() > deadline {
            return Err("worker-2 did not take over in time".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "worker-1 stopped; worker-2 took over its {w1_shards} shards {:?} after the shutdown began",
        stopping.elapsed()
    );
    write(&producer, half..options.records).await?;
    println!("Produced records {half}..{}", options.records);
    let produced = producer.shutdown().await;
    println!("Producer: {produced}");
    while tally.unique() < options.records {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    w2.consumer.shutdown().await;

    let (by_worker, unique, deliveries) = tally.summary();
    println!("Summary:");
    for (worker, n) in &by_worker {
        println!("  {worker}: {n} records");
    }
    println!(
        "  {unique} of {} records read, {} lost",
        options.records,
        options.records - unique
    );
    if deliveries > unique {
        println!(
            "  {} delivered twice: a stolen shard resumes at its last checkpoint (at-least-once)",
            deliveries - unique
        );
    }
    if unique != options.records {
        return Err(format!("wrote {} records but read {unique}", options.records).into());
    }

    admin.delete_stream(&name).await?;
    println!("Deleted stream {name}; stopping the emulators.");
    env.shutdown().await;
    Ok(())
}

/// Writes records `range` with the producer (keys `customer-{i % 10}`), waiting until all are
/// stored.
async fn write(
    producer: &Producer<String>,
    range: std::ops::Range<usize>,
) -> Result<(), ProduceError> {
    let records =
        range.map(|i| ProducerRecord::new(format!("customer-{}", i % 10), format!("order {i}")));
    for result in producer.produce_batch(records).await {
        result?;
    }
    Ok(())
}

/// What every worker read.
#[derive(Clone, Default)]
struct Tally {
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Tally {
    fn add(&self, worker: &str, value: String) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((worker.to_owned(), value));
    }

    fn unique(&self) -> usize {
        self.summary().1
    }

    /// Records per worker, distinct records, deliveries.
    fn summary(&self) -> (BTreeMap<String, usize>, usize, usize) {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut by_worker = BTreeMap::new();
        for (w, _) in seen.iter() {
            *by_worker.entry(w.clone()).or_default() += 1;
        }
        let unique: BTreeSet<&String> = seen.iter().map(|(_, v)| v).collect();
        (by_worker, unique.len(), seen.len())
    }
}

/// A consumer worker whose shard streams stage every record they hand to the tally.
struct Worker {
    consumer: Consumer<String>,
}

impl Worker {
    async fn start(
        config: &ClientConfig,
        stream: &StreamName,
        application: &str,
        id: &str,
        settings: &ConsumerSettings,
        tally: &Tally,
    ) -> Result<Worker, ConsumerError> {
        let consumer: Consumer<String> = Consumer::builder(config, stream, application)
            .worker_id(id)
            .deserializer(Utf8)
            .settings(settings.clone())
            .build()
            .await?;
        let mut shards = consumer.shards()?;
        let (tally, id) = (tally.clone(), id.to_owned());
        tokio::spawn(async move {
            while let Some(mut shard) = shards.next().await {
                let (tally, id) = (tally.clone(), id.clone());
                tokio::spawn(async move {
                    while let Some(Ok(record)) = shard.next().await {
                        shard.checkpointer().stage(record.position());
                        tally.add(&id, record.into_data());
                    }
                });
            }
        });
        Ok(Worker { consumer })
    }

    fn held(&self) -> usize {
        self.consumer.lease_coordinator().held_leases().len()
    }
}
