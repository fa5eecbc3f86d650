//! `kinesis tail`: read a stream like `tail -f`, through the consumer (resharding followed,
//! KPL aggregates split, polling or enhanced fan-out).
//!
//! Read-only by default: leases live in memory and nothing is written to DynamoDB. With
//! `--app`, `tail` is a worker of that application: it shares the shards with the other
//! workers through the lease table and checkpoints what it printed.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use kinesis_client::{Client, ShardId};
use kinesis_consumer::{
    Consumer, ConsumerErrorKind, ConsumerRecord, FanOutSettings, FetchMode, PollingSettings,
    ShardStream,
};
use kinesis_kcl_compat::sequence::ExtendedSequenceNumber;
use kinesis_lease::lineage::{InitialPosition, new_lease_for_shard};
use kinesis_lease::{InMemoryLeaseRepository, LeaseRepository};
use serde_json::json;
use tokio::sync::mpsc;

use crate::commands::stream::{list_shards, stream_id};
use crate::context::Global;
use crate::error::{CliError, Exit, Result};
use crate::position::{Target, checkpoint_before};
use crate::time::{format_time, parse_time};

/// Print the records of a stream as they arrive.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The stream's name or ARN.
    stream: String,
    /// Where to start: `latest` (only new records), `trim-horizon` (the oldest retained), or a
    /// time (RFC 3339, seconds since the epoch, or a time ago such as 15m).
    #[arg(long, default_value = "latest", value_name = "POSITION")]
    from: String,
    /// Start one shard (--shard) at this record: `SEQUENCE` or `SEQUENCE:SUB` for a record
    /// inside a KPL aggregate. The other shards start at --from.
    #[arg(
        long,
        value_name = "SEQUENCE",
        requires = "shard",
        conflicts_with = "app"
    )]
    from_sequence: Option<String>,
    /// The shard of --from-sequence.
    #[arg(long, value_name = "SHARD_ID", requires = "from_sequence")]
    shard: Option<String>,
    /// Print only records with this partition key.
    #[arg(long, short = 'k', value_name = "KEY")]
    partition_key: Option<String>,
    /// Write only each record's data followed by a newline, nothing else.
    #[arg(long, conflicts_with = "output")]
    raw: bool,
    /// Read with enhanced fan-out through a stream consumer of this name (registered if
    /// needed; a read-only tail deregisters it at the end).
    #[arg(long, value_name = "CONSUMER_NAME")]
    fan_out: Option<String>,
    /// Be a worker of this application: its lease table (of the same name) is used and what
    /// is printed is checkpointed.
    #[arg(long, value_name = "APPLICATION")]
    app: Option<String>,
    /// Stop after this many records.
    #[arg(long, short = 'n', value_name = "N")]
    count: Option<u64>,
    /// Stop after this long (for example 30s or 5m); with --count, not reaching the count in
    /// time is an error.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    timeout: Option<Duration>,
}

fn parse_timeout(text: &str) -> std::result::Result<Duration, String> {
    crate::time::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration such as 30s, 5m, 2h"))
}

/// What the shard tasks send to the printer, in order per shard.
enum Line {
    /// A record to print, with its shard's checkpointer when printed records are checkpointed
    /// (`--app`).
    Record {
        record: ConsumerRecord<Bytes>,
        checkpointer: Option<kinesis_lease::Checkpointer>,
    },
    /// The shard's stream after its last record: dropped once everything before it is printed,
    /// which writes its final checkpoint (the stream defers it with `--app`).
    End(ShardStream<Bytes>),
}

pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let id = stream_id(&args.stream)?;
    let initial = initial_position(&args.from)?;
    let start_record = match &args.from_sequence {
        Some(text) => Some(
            text.parse::<ExtendedSequenceNumber>()
                .map_err(|e| CliError::usage(format!("bad --from-sequence {text:?}: {e}")))?,
        ),
        None => None,
    };
    let config = global.client_config().await?;
    let client = Client::new(&config);

    let read_only = args.app.is_none();
    let application = args
        .app
        .clone()
        .unwrap_or_else(|| format!("kinesis-tail-{:08x}", rand::random::<u32>()));
    let mut builder =
        Consumer::builder(&config, id.clone(), application.clone()).initial_position(initial);
    if read_only {
        let repository = Arc::new(InMemoryLeaseRepository::new());
        if let (Some(esn), Some(shard)) = (start_record, &args.shard) {
            seed_start(&client, &id, shard, esn, repository.as_ref()).await?;
        }
        builder = builder.lease_repository(repository);
    }
    builder = builder.fetch_mode(match &args.fan_out {
        Some(name) => FetchMode::EnhancedFanOut(
            FanOutSettings::default()
                .with_consumer_name(name.clone())
                .with_deregister_on_shutdown(read_only),
        ),
        None => FetchMode::Polling(PollingSettings::default()),
    });
    let consumer = builder
        .build()
        .await
        .map_err(|e| CliError::other(format!("starting a consumer of {id}"), &e))?;

    let (lines_tx, mut lines_rx) = mpsc::channel::<Line>(1024);
    let mut shards = consumer
        .shards()
        .map_err(|e| CliError::other("taking the shard streams", &e))?;
    let checkpointing = !read_only;
    let readers = tokio::spawn(async move {
        while let Some(mut shard) = shards.next().await {
            let tx = lines_tx.clone();
            if checkpointing {
                // The last checkpoint covers what was printed, not what was fetched.
                shard.defer_final_checkpoint();
            }
            tokio::spawn(async move {
                while let Some(item) = shard.next().await {
                    match item {
                        Ok(record) => {
                            let checkpointer = checkpointing.then(|| shard.checkpointer().clone());
                            if tx
                                .send(Line::Record {
                                    record,
                                    checkpointer,
                                })
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        Err(e) if e.kind() == ConsumerErrorKind::Deserialize => {}
                        Err(e) => {
                            tracing::warn!(shard = %shard.shard_id(), "{}", crate::error::chain(&e));
                        }
                    }
                }
                let _ = tx.send(Line::End(shard)).await;
            });
        }
    });

    let mut printed = 0u64;
    let deadline = args.timeout.map(|t| tokio::time::Instant::now() + t);
    // One listener for the whole run: a signal between two records is not lost.
    let interrupt = kinesis_client::shutdown_signal();
    tokio::pin!(interrupt);
    let outcome: Result<()> = loop {
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, lines_rx.recv()).await.ok(),
                None => Some(lines_rx.recv().await),
            }
        };
        tokio::select! {
            line = next => match line {
                Some(Some(Line::End(stream))) => drop(stream),
                Some(Some(Line::Record { record, checkpointer })) => {
                    let wanted = args.partition_key.as_deref().is_none_or(|k| k == record.partition_key());
                    if wanted {
                        match print_record(global, args.raw, &record) {
                            Ok(()) => printed += 1,
                            // The reader went away (`| head`): stop, this record unprinted.
                            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break Ok(()),
                            Err(e) => break Err(CliError::failure(format!("writing to stdout: {e}"))),
                        }
                    }
                    // Printed (or filtered out) is processed; a record still in the channel
                    // when the command stops is not.
                    if let Some(checkpointer) = &checkpointer {
                        checkpointer.stage(record.position());
                    }
                    if !wanted {
                        continue;
                    }
                    if args.count.is_some_and(|c| printed >= c) {
                        break Ok(());
                    }
                }
                // Every shard stream ended.
                Some(None) => break Ok(()),
                None => break match args.count {
                    Some(count) => Err(CliError::failure(format!(
                        "only {printed} of {count} records within {:?}",
                        args.timeout.unwrap_or_default()
                    ))),
                    None => Ok(()),
                },
            },
            () = &mut interrupt => {
                break Err(CliError::new(Exit::Interrupted, format!("interrupted after {printed} records")));
            }
        }
    };
    let _ = std::io::stdout().flush();
    // Drops what was fetched but not printed, and the ended streams waiting behind it: their
    // final checkpoints (with --app) cover what was printed. Then the rest end and release.
    drop(lines_rx);
    consumer.shutdown().await;
    readers.abort();
    outcome
}

fn initial_position(text: &str) -> Result<InitialPosition> {
    match text.to_ascii_lowercase().replace('_', "-").as_str() {
        "latest" => Ok(InitialPosition::Latest),
        "trim-horizon" => Ok(InitialPosition::TrimHorizon),
        _ => parse_time(text, SystemTime::now())
            .map(InitialPosition::AtTimestamp)
            .map_err(|e| CliError::usage(format!("bad --from: {e}"))),
    }
}

/// Starts `shard` at `esn` by writing the checkpoint before it into the in-memory lease table.
async fn seed_start(
    client: &Client,
    stream: &kinesis_client::StreamId,
    shard: &str,
    esn: ExtendedSequenceNumber,
    repository: &InMemoryLeaseRepository,
) -> Result<()> {
    let shard_id =
        ShardId::new(shard).map_err(|e| CliError::usage(format!("bad --shard {shard:?}: {e}")))?;
    let shards = list_shards(client, stream).await?;
    let found = shards
        .iter()
        .find(|s| *s.id() == shard_id)
        .ok_or_else(|| CliError::not_found(format!("stream {stream} has no shard {shard_id}")))?;
    let resolved = checkpoint_before(
        client,
        stream,
        &shard_id,
        Target::Record(esn),
        Duration::from_secs(120),
    )
    .await?;
    repository
        .ensure_table()
        .await
        .map_err(|e| CliError::lease("preparing the in-memory lease table", &e))?;
    // Its parents count as read, so that it starts at once.
    for parent in found.parents() {
        if shards.iter().any(|s| s.id() == parent) {
            let info = kinesis_lease::lineage::ShardInfo::new(parent.clone());
            let lease =
                new_lease_for_shard(&info, kinesis_kcl_compat::sequence::Checkpoint::SHARD_END);
            repository
                .create_lease(&lease)
                .await
                .map_err(|e| CliError::lease("seeding the in-memory lease table", &e))?;
        }
    }
    let lease = new_lease_for_shard(found, resolved.checkpoint);
    repository
        .create_lease(&lease)
        .await
        .map_err(|e| CliError::lease("seeding the in-memory lease table", &e))?;
    Ok(())
}

fn print_record(global: &Global, raw: bool, record: &ConsumerRecord<Bytes>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let data = record.data();
    if raw {
        stdout.write_all(data)?;
        return stdout.write_all(b"\n");
    }
    if global.json() {
        let mut value = json!({
            "shard_id": record.shard_id().as_str(),
            "sequence_number": record.sequence_number().as_str(),
            "sub_sequence_number": record.sub_sequence_number(),
            "partition_key": record.partition_key(),
            "explicit_hash_key": record.explicit_hash_key(),
            "arrival": record.approximate_arrival_timestamp().map(format_time),
        });
        match std::str::from_utf8(data) {
            Ok(text) => value["data"] = json!(text),
            Err(_) => value["data_base64"] = json!(aws_smithy_types::base64::encode(data)),
        }
        serde_json::to_writer(&mut stdout, &value)?;
        return stdout.write_all(b"\n");
    }
    let position = match record.sub_sequence_number() {
        Some(sub) => format!("{}:{sub}", record.sequence_number()),
        None => record.sequence_number().to_string(),
    };
    writeln!(
        stdout,
        "{} {} {} {}",
        record.shard_id(),
        position,
        record.partition_key(),
        String::from_utf8_lossy(data)
    )
}
