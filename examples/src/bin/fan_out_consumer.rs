//! An enhanced fan-out consumer: records pushed over `SubscribeToShard` with 2 MiB/s per shard
//! for this application alone, instead of polling with `GetRecords` (5 calls/s per shard shared
//! by every reader of the stream). The stream consumer is registered under the application's
//! name at start (the KCL's default) and reused by every worker of the application.
//!
//! ```sh
//! cargo run -p kinesis-examples --bin fan_out_consumer -- <stream> <application>
//! ```
//!
//! Prints `<shard> <data>` per record on stdout; stops on SIGTERM or Ctrl-C.

use kinesis_consumer::{
    CheckpointPolicy, ClientConfig, Consumer, FanOutSettings, FetchMode, InitialPosition, Utf8,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(stream), Some(application)) = (args.next(), args.next()) else {
        return Err("usage: fan_out_consumer <stream> <application>".into());
    };

    let config = ClientConfig::from_env().await?;
    let consumer: Consumer<String> = Consumer::builder(&config, stream, application)
        .deserializer(Utf8)
        .fetch_mode(FetchMode::EnhancedFanOut(FanOutSettings::default()))
        .initial_position(InitialPosition::TrimHorizon)
        .shutdown_on_signals()
        .build()
        .await?;
    consumer
        .consume_with(CheckpointPolicy::default(), |record| async move {
            println!("{} {}", record.shard_id(), record.data());
            Ok(())
        })
        .await?;
    eprintln!("stopped");
    Ok(())
}
