//! `consume_with` and a poison-record policy: JSON orders are handled one by one with
//! checkpoints every 1000 records or 5 s; a record that is not a valid order is handed to a
//! dead-letter handler and skipped, so one bad record cannot stop the application (without a
//! policy, `consume_with` stops at it, and so does every restart).
//!
//! ```sh
//! cargo run -p kinesis-examples --bin poison_records -- <stream> <application>
//! ```
//!
//! Prints `order <id> <amount>` per order and `dead-letter <shard> <position> <bytes>` per
//! poison record on stdout; stops on SIGTERM or Ctrl-C.

use kinesis_consumer::{CheckpointPolicy, ClientConfig, Consumer, InitialPosition, PoisonRecords};
use kinesis_serde::Json;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Order {
    id: u64,
    amount_cents: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(stream), Some(application)) = (args.next(), args.next()) else {
        return Err("usage: poison_records <stream> <application>".into());
    };

    let config = ClientConfig::from_env().await?;
    let consumer: Consumer<Order> = Consumer::builder(&config, stream, application)
        .deserializer(Json)
        .initial_position(InitialPosition::TrimHorizon)
        .on_poison_record(PoisonRecords::dead_letter(|raw, error| async move {
            // A real application writes these to a dead-letter stream, queue or bucket; the
            // record is skipped (and checkpointed past) once this returns.
            println!(
                "dead-letter {} {} {}",
                raw.shard_id(),
                raw.position(),
                String::from_utf8_lossy(raw.data())
            );
            eprintln!("not an order: {error}");
        }))
        .shutdown_on_signals()
        .build()
        .await?;

    // Returns after SIGTERM once every shard checkpointed, or with the first handler error.
    consumer
        .consume_with(CheckpointPolicy::default(), |record| async move {
            let order = record.data();
            println!("order {} {}", order.id, order.amount_cents);
            Ok(())
        })
        .await?;
    eprintln!("stopped");
    Ok(())
}
