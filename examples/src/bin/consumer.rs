//! An at-least-once consumer: every shard's records in order, each staged once it is
//! processed, a checkpoint every 100 records, and a graceful stop on SIGTERM or Ctrl-C that
//! checkpoints what was processed and hands the leases over at once. Run it twice with the same
//! application name and the second run starts after the first one's last record.
//!
//! ```sh
//! cargo run -p kinesis-examples --bin consumer -- <stream> <application>
//! ```
//!
//! Credentials and region come from the environment (the AWS default chain);
//! `AWS_ENDPOINT_URL_KINESIS` and `AWS_ENDPOINT_URL_DYNAMODB` point it at LocalStack or an
//! emulator. It prints `<shard> <partition key> <data>` per record on stdout; logs go to stderr.

use futures_util::StreamExt;
use kinesis_consumer::{ClientConfig, Consumer, ConsumerErrorKind, InitialPosition, Utf8};
use tokio::task::JoinSet;

/// Records between two checkpoint writes (a stop checkpoints whatever was staged).
const CHECKPOINT_EVERY: u32 = 100;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(stream), Some(application)) = (args.next(), args.next()) else {
        return Err("usage: consumer <stream> <application>".into());
    };

    let config = ClientConfig::from_env().await?;
    let consumer: Consumer<String> = Consumer::builder(&config, stream, application)
        .deserializer(Utf8)
        // Where a shard without a checkpoint starts; a checkpoint always wins.
        .initial_position(InitialPosition::TrimHorizon)
        // SIGTERM (a container's stop) or Ctrl-C: every shard checkpoints and releases.
        .shutdown_on_signals()
        .build()
        .await?;

    // One stream per shard this worker holds; a new one arrives whenever a lease is taken.
    let mut shards = consumer.shards()?;
    let mut tasks = JoinSet::new();
    while let Some(mut shard) = shards.next().await {
        tasks.spawn(async move {
            let mut since_checkpoint = 0;
            while let Some(item) = shard.next().await {
                match item {
                    Ok(record) => {
                        println!(
                            "{} {} {}",
                            shard.shard_id(),
                            record.partition_key(),
                            record.data()
                        );
                        // Processed: a checkpoint may now include it.
                        shard.checkpointer().stage(record.position());
                        since_checkpoint += 1;
                    }
                    // Not UTF-8: report it and move past it.
                    Err(e) if e.kind() == ConsumerErrorKind::Deserialize => {
                        eprintln!("skipped a record: {e}");
                        if let Some(position) = e.record_position() {
                            shard.checkpointer().stage(position.clone());
                        }
                    }
                    // The stream's last item: a fetch that failed for good.
                    Err(e) => eprintln!("{}: {e}", shard.shard_id()),
                }
                if since_checkpoint >= CHECKPOINT_EVERY {
                    since_checkpoint = 0;
                    // A failed checkpoint (the lease moved) ends this stream soon; the records
                    // since the last checkpoint are then read again by the new owner.
                    if let Err(e) = shard.checkpointer().checkpoint().await {
                        eprintln!("{}: checkpoint failed: {e}", shard.shard_id());
                    }
                }
            }
            // The last staged position was checkpointed when the stream ended.
            eprintln!("{}: ended ({:?})", shard.shard_id(), shard.end_reason());
        });
    }
    // `shards` ends once the consumer has shut down; wait for every shard to finish.
    while tasks.join_next().await.is_some() {}
    eprintln!("stopped");
    Ok(())
}
