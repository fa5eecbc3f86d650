//! `kcl-fleet`: the Rust side of the `kcl` test tier, run as its own process beside Java KCL
//! workers, as in production.
//!
//! - `kcl-fleet worker --application A --stream S --worker-id W [--initial-position
//!   TRIM_HORIZON|LATEST] [--failover-millis 10000] [--checkpoint-every 10] [--poll-millis 200]
//!   [--protocol kcl2|kcl3] [--metrics-level NONE|SUMMARY|DETAILED] [--metrics-buffer-millis
//!   10000] --output FILE`: one consumer worker of application `A` (under the
//!   KCL 2.x or 3.x lease rules). Every record it processes, every
//!   shard start, checkpoint, shard end and lease change is a line of the journal `FILE` (see
//!   [`kcl_fleet::journal`]). It checkpoints every N records of a shard, and takes
//!   `--handler-delay-millis` (0 by default) over each record; it stops gracefully
//!   (checkpoints what it processed and releases its leases) when it reads `stop` on stdin or
//!   stdin ends.
//! - `kcl-fleet produce --stream S --count N [--keys K] [--prefix P] [--aggregate true|false]
//!   [--metrics-level NONE|SUMMARY|DETAILED] [--metrics-buffer-millis 60000] --output FILE`: writes records `P-0` .. `P-(N-1)` with partition keys `key-(n % K)`
//!   through the producer (KPL aggregation on by default) and journals each result as soon as
//!   it is known. With `--rate R` it sends R records a second and also stops (sending what it
//!   buffered) when it reads `stop` on stdin or stdin ends.
//!
//! Endpoints, region and credentials come from the standard AWS environment variables.

#![allow(
    clippy::disallowed_methods,
    reason = "journals carry wall-clock timestamps"
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use kcl_fleet::journal::JournalWriter;
use kinesis_client::ClientConfig;
use kinesis_consumer::{
    Consumer, ConsumerSettings, DiagnosticEvent, FetchMode, MetricsLevel, PollingSettings,
    PublisherSettings,
};
use kinesis_kcl_compat::sequence::Checkpoint;
use kinesis_lease::lineage::InitialPosition;
use kinesis_lease::{CoordinatorSettings, Kcl3Settings, LeaseEvent, LeaseProtocol};
use kinesis_producer::{AggregationSettings, Producer, ProducerRecord, ProducerSettings};
use kinesis_serde::Utf8;
use serde_json::json;
use tokio::io::AsyncBufReadExt;

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("worker") => match Args::parse(&args[1..]) {
            Ok(a) => worker(a).await,
            Err(e) => Err(e),
        },
        Some("produce") => match Args::parse(&args[1..]) {
            Ok(a) => produce(a).await,
            Err(e) => Err(e),
        },
        _ => Err("usage: kcl-fleet worker|produce --name value ... (see the source's docs)".into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kcl-fleet: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` pairs.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(args: &[String]) -> Result<Self, Failure> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --name, got {flag:?}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Self(map))
    }

    fn required(&self, name: &str) -> Result<&str, Failure> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required").into())
    }

    fn number(&self, name: &str, default: u64) -> Result<u64, Failure> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name} takes a number, got {v:?}").into()),
        }
    }
}

async fn worker(args: Args) -> Result<(), Failure> {
    let application = args.required("application")?.to_owned();
    let stream = args.required("stream")?.to_owned();
    let worker_id = args.required("worker-id")?.to_owned();
    let output = PathBuf::from(args.required("output")?);
    let initial_position = match args.0.get("initial-position").map(String::as_str) {
        None | Some("TRIM_HORIZON") => InitialPosition::TrimHorizon,
        Some("LATEST") => InitialPosition::Latest,
        Some(other) => return Err(format!("unknown --initial-position {other:?}").into()),
    };
    let failover = Duration::from_millis(args.number("failover-millis", 10_000)?);
    let checkpoint_every = args.number("checkpoint-every", 10)?.max(1);
    let poll = Duration::from_millis(args.number("poll-millis", 200)?);
    let handler_delay = Duration::from_millis(args.number("handler-delay-millis", 0)?);
    let protocol = match args.0.get("protocol").map(String::as_str) {
        None | Some("kcl2") => LeaseProtocol::Kcl2,
        // As a Java KCL 3.x worker off EC2, ECS and EKS: no CPU metric, balanced by throughput.
        Some("kcl3") => LeaseProtocol::Kcl3(Kcl3Settings::default().with_cpu_metric(false)),
        Some(other) => return Err(format!("unknown --protocol {other:?} (kcl2 or kcl3)").into()),
    };

    let metrics_level = metrics_level(&args)?;
    let metrics_buffer = Duration::from_millis(args.number("metrics-buffer-millis", 10_000)?);
    let journal = JournalWriter::open(&output, Some(&worker_id))
        .map_err(|e| format!("cannot open the journal {}: {e}", output.display()))?;
    let config = ClientConfig::from_env().await?;
    let settings = ConsumerSettings::default()
        .with_initial_position(initial_position)
        .with_fetch_mode(FetchMode::Polling(
            PollingSettings::default().with_poll_interval(poll),
        ))
        .with_lease_settings(
            CoordinatorSettings::default()
                .with_failover_time(failover)
                .with_initial_position(initial_position)
                .with_protocol(protocol),
        );
    let events = journal.clone();
    let mut builder = Consumer::builder(
        &config,
        stream.parse::<kinesis_client::StreamId>()?,
        application.clone(),
    )
    .worker_id(worker_id)
    .deserializer(Utf8)
    .settings(settings)
    .on_event(move |event| journal_event(&events, event));
    if metrics_level != MetricsLevel::None {
        builder = builder.cloudwatch_metrics_with(
            PublisherSettings::new(application)
                .with_level(metrics_level)
                .with_buffer_time(metrics_buffer),
        );
    }
    let consumer: Consumer<String> = builder.build().await?;
    journal.write("started", json!({"kcl": "kinesis-rs"}));

    let mut shards = consumer.shards()?;
    let records = journal.clone();
    let reader = tokio::spawn(async move {
        while let Some(mut shard) = shards.next().await {
            let journal = records.clone();
            tokio::spawn(async move {
                let mut since_checkpoint = 0u64;
                while let Some(item) = shard.next().await {
                    let record = match item {
                        Ok(record) => record,
                        Err(e) => {
                            journal.write(
                                "record_failed",
                                json!({"shard": shard.shard_id().to_string(), "error": e.to_string()}),
                            );
                            continue;
                        }
                    };
                    journal.write(
                        "record",
                        json!({
                            "shard": record.shard_id().to_string(),
                            "sequence": record.sequence_number().to_string(),
                            "subsequence": record.sub_sequence_number().unwrap_or(0),
                            "partition_key": record.partition_key(),
                            "data": record.data(),
                        }),
                    );
                    if !handler_delay.is_zero() {
                        tokio::time::sleep(handler_delay).await;
                    }
                    shard.checkpointer().stage(record.position());
                    since_checkpoint += 1;
                    if since_checkpoint >= checkpoint_every {
                        since_checkpoint = 0;
                        // A failure is journaled through the lease events; the stream ends when
                        // the lease is lost.
                        let _ = shard.checkpointer().checkpoint().await;
                    }
                }
            });
        }
    });

    // Run until `stop` or the end of stdin.
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) if line.trim() == "stop" => break,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    journal.write("shutdown_requested", json!({}));
    consumer.shutdown().await;
    reader.abort();
    journal.write("stopped", json!({}));
    Ok(())
}

/// Resolves when `stop` is read on stdin or stdin ends; never when `watch` is false.
async fn stop_requested(watch: bool) {
    if !watch {
        return std::future::pending().await;
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        match lines.next_line().await {
            Ok(Some(line)) if line.trim() == "stop" => return,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return,
        }
    }
}

fn checkpoint_fields(shard: &str, checkpoint: &Checkpoint) -> serde_json::Value {
    json!({
        "shard": shard,
        "sequence": checkpoint.kcl_checkpoint(),
        "subsequence": checkpoint.sub_sequence_number(),
    })
}

fn journal_event(journal: &JournalWriter, event: &DiagnosticEvent) {
    match event {
        DiagnosticEvent::ShardStarted {
            shard_id,
            checkpoint,
        } => journal.write(
            "initialized",
            checkpoint_fields(&shard_id.to_string(), checkpoint),
        ),
        DiagnosticEvent::ShardEnded { shard_id, children } => journal.write(
            "shard_ended",
            json!({
                "shard": shard_id.to_string(),
                "children": children.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
        ),
        DiagnosticEvent::ShardStopped { shard_id } => {
            journal.write("shard_stopped", json!({"shard": shard_id.to_string()}));
        }
        DiagnosticEvent::Lease(lease) => match lease {
            LeaseEvent::Checkpointed { key, checkpoint } => {
                journal.write(
                    "checkpoint",
                    checkpoint_fields(&key.to_string(), checkpoint),
                );
            }
            LeaseEvent::CheckpointFailed { key, message, .. } => journal.write(
                "checkpoint_failed",
                json!({"shard": key.to_string(), "error": message}),
            ),
            LeaseEvent::Acquired { key, .. } => {
                journal.write("lease_acquired", json!({"shard": key.to_string()}));
            }
            LeaseEvent::Stolen { key, from } => journal.write(
                "lease_stolen",
                json!({"shard": key.to_string(), "from": from}),
            ),
            LeaseEvent::Lost { key } => {
                journal.write("lease_lost", json!({"shard": key.to_string()}));
            }
            LeaseEvent::Released { key } => {
                journal.write("lease_released", json!({"shard": key.to_string()}));
            }
            LeaseEvent::HandoffRequested { key, to } => journal.write(
                "handoff_requested",
                json!({"shard": key.to_string(), "to": to}),
            ),
            LeaseEvent::HandedOver { key } => {
                journal.write("handed_over", json!({"shard": key.to_string()}));
            }
            LeaseEvent::BecameLeader => journal.write("became_leader", json!({})),
            LeaseEvent::LeadershipLost => journal.write("leadership_lost", json!({})),
            LeaseEvent::Assigned { key, to, graceful } => journal.write(
                "assigned",
                json!({"shard": key.to_string(), "to": to, "graceful": graceful}),
            ),
            _ => {}
        },
        _ => {}
    }
}

/// `--metrics-level`, `NONE` by default.
fn metrics_level(args: &Args) -> Result<MetricsLevel, Failure> {
    Ok(args
        .0
        .get("metrics-level")
        .map_or(Ok(MetricsLevel::None), |l| l.parse())
        .map_err(|e| format!("--metrics-level: {e}"))?)
}

async fn produce(args: Args) -> Result<(), Failure> {
    let stream = args.required("stream")?.to_owned();
    let output = PathBuf::from(args.required("output")?);
    let count = args.number("count", 100)?;
    let keys = args.number("keys", 10)?.max(1);
    let prefix = args.0.get("prefix").cloned().unwrap_or_else(|| "r".into());
    let aggregate = args.0.get("aggregate").is_none_or(|v| v != "false");

    let journal = JournalWriter::open(&output, None)
        .map_err(|e| format!("cannot open the journal {}: {e}", output.display()))?;
    let config = ClientConfig::from_env().await?;
    let mut settings = ProducerSettings::default();
    if aggregate {
        settings = settings.with_aggregation(AggregationSettings::default());
    }
    let metrics_level = metrics_level(&args)?;
    let mut builder = Producer::builder(&config, stream.parse::<kinesis_client::StreamId>()?)
        .serializer(Utf8)
        .settings(settings);
    if metrics_level != MetricsLevel::None {
        builder = builder.cloudwatch_metrics_with(
            PublisherSettings::new(kinesis_kcl_compat::metrics::kpl::NAMESPACE)
                .with_level(metrics_level)
                .with_buffer_time(Duration::from_millis(
                    args.number("metrics-buffer-millis", 60_000)?,
                )),
        );
    }
    let producer: Producer<String> = builder.build().await?;
    let rate = args.number("rate", 0)?;
    // Each result is journaled as soon as it is known, so that a producer killed at any moment
    // leaves a line for every record it saw acknowledged.
    let mut results = tokio::task::JoinSet::new();
    let stop = stop_requested(rate > 0);
    tokio::pin!(stop);
    let started = tokio::time::Instant::now();
    let mut sent = 0u64;
    'sending: for n in 0..count {
        if let Some(step) = (n * 1000).checked_div(rate) {
            // `rate` records a second, evenly spaced.
            let due = started + Duration::from_millis(step);
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = &mut stop => break 'sending,
            }
        }
        let key = format!("key-{}", n % keys);
        let data = format!("{prefix}-{n}");
        let handle = producer
            .send(ProducerRecord::new(key.clone(), data.clone()))
            .await?;
        sent += 1;
        let journal = journal.clone();
        results.spawn(async move {
            match handle.await {
                Ok(result) => {
                    journal.write(
                        "put",
                        json!({
                            "n": n,
                            "data": data,
                            "partition_key": key,
                            "shard": result.shard_id().to_string(),
                            "sequence": result.sequence_number().to_string(),
                            "subsequence": result.sub_sequence_number(),
                            "attempts": result.attempts(),
                        }),
                    );
                    true
                }
                Err(e) => {
                    journal.write("put_failed", json!({"n": n, "error": e.to_string()}));
                    false
                }
            }
        });
    }
    // Shutdown sends what is buffered and completes every record's result.
    producer.shutdown().await;
    let mut failed = 0u64;
    while let Some(ok) = results.join_next().await {
        if !matches!(ok, Ok(true)) {
            failed += 1;
        }
    }
    journal.write("done", json!({"count": sent, "failed": failed}));
    if failed > 0 {
        return Err(format!("{failed} of {sent} records failed").into());
    }
    Ok(())
}
