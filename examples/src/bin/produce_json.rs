//! A producer of JSON records from an async stream: `send_all` takes records as fast as the
//! producer accepts them (back-pressure when its buffer is full), KPL aggregation packs them,
//! and shutdown delivers everything accepted, on SIGTERM too.
//!
//! ```sh
//! cargo run -p kinesis-examples --bin produce_json -- <stream> <count>
//! ```
//!
//! Prints `stored <n>` on stdout when every order is stored.

use futures_util::{StreamExt, stream};
use kinesis_producer::{
    AggregationSettings, ClientConfig, Producer, ProducerRecord, ProducerSettings,
};
use kinesis_serde::Json;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Order {
    id: u64,
    customer: String,
    amount_cents: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(stream_name), Some(count)) = (args.next(), args.next()) else {
        return Err("usage: produce_json <stream> <count>".into());
    };
    let count: u64 = count.parse().map_err(|e| format!("count {count:?}: {e}"))?;

    let config = ClientConfig::from_env().await?;
    let producer: Producer<Order> = Producer::builder(&config, stream_name)
        .serializer(Json)
        .settings(ProducerSettings::default().with_aggregation(AggregationSettings::default()))
        // SIGTERM or Ctrl-C: deliver what was accepted, refuse the rest.
        .shutdown_on_signals()
        .build()
        .await?;

    // Any async stream will do: a database cursor, a channel, a socket.
    let orders = stream::iter(0..count).map(|id| {
        let order = Order {
            id,
            customer: format!("customer-{}", id % 100),
            amount_cents: 100 + id,
        };
        // The partition key: one customer's orders stay in order on one shard.
        ProducerRecord::new(order.customer.clone(), order)
    });
    let outcome = producer.send_all(orders).await;
    let metrics = producer.shutdown().await;
    eprintln!("{metrics}");
    match outcome {
        Ok(stored) => {
            println!("stored {stored}");
            Ok(())
        }
        Err(e) => {
            // Each failure carries its record (`into_record`), to retry or park elsewhere.
            for failure in e.failures() {
                eprintln!("not stored: {failure}");
            }
            Err(e.into())
        }
    }
}
