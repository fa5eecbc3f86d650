//! Two workers of one application sharing a stream's shards through the lease table, as two
//! processes (or a Rust and a Java KCL worker) would: each takes its fair share, and when one
//! stops, the other takes its shards over at once from the last checkpoint.
//!
//! ```sh
//! cargo run -p kinesis-examples --bin two_workers -- <stream> <application>
//! ```
//!
//! Prints `<worker> <shard> <data>` per record, and `leases <worker>=<n> <worker>=<n>` whenever
//! the split of the leases changes; stops on SIGTERM or Ctrl-C.

use std::time::Duration;

use kinesis_consumer::{
    CheckpointPolicy, ClientConfig, Consumer, CoordinatorSettings, InitialPosition, Utf8,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(stream), Some(application)) = (args.next(), args.next()) else {
        return Err("usage: two_workers <stream> <application>".into());
    };

    let config = ClientConfig::from_env().await?;
    let mut workers = Vec::new();
    for worker_id in ["worker-a", "worker-b"] {
        let consumer: Consumer<String> = Consumer::builder(&config, &stream, &application)
            // Stable ids: a restarted worker resumes the leases it still holds at once.
            .worker_id(worker_id)
            .deserializer(Utf8)
            .initial_position(InitialPosition::TrimHorizon)
            // Short lease timings so that the demo balances within seconds. Keep the KCL's
            // 10 s default in production (docs/operations.md, "Failover time"), and the same
            // value in every worker of the application.
            .lease_settings(
                CoordinatorSettings::default().with_failover_time(Duration::from_secs(2)),
            )
            .shutdown_on_signals()
            .build()
            .await?;
        workers.push(consumer);
    }

    // What each worker holds, from its health snapshot (no call is made).
    let watched = workers.clone();
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            let split: Vec<String> = watched
                .iter()
                .map(|w| format!("{}={}", w.worker_id(), w.health().leases.leases.len()))
                .collect();
            let line = format!("leases {}", split.join(" "));
            if line != last {
                println!("{line}");
                last = line;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    let mut runs = Vec::new();
    for consumer in workers {
        runs.push(tokio::spawn(async move {
            let worker_id = consumer.worker_id().to_owned();
            consumer
                .consume_with(CheckpointPolicy::default(), move |record| {
                    let worker_id = worker_id.clone();
                    async move {
                        println!("{worker_id} {} {}", record.shard_id(), record.data());
                        Ok(())
                    }
                })
                .await
        }));
    }
    for run in runs {
        run.await??;
    }
    eprintln!("stopped");
    Ok(())
}
