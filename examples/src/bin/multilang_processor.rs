//! A record processor in Rust for a KCL MultiLangDaemon — the Java KCL's, or `kinesis
//! multilang` — with the handler shape of `consume_with`: one call per record, a checkpoint
//! every 100 records, and at the shard's end and on shutdown.
//!
//! The daemon starts it once per shard and talks to it on stdin and stdout, so it writes
//! nothing else to stdout: each record is logged to stderr, which the daemon logs. In the
//! daemon's properties file:
//!
//! ```properties
//! executableName = /path/to/multilang_processor
//! streamName = orders
//! applicationName = order-audit
//! ```

use kinesis_consumer::ConsumerRecord;
use kinesis_lease::checkpointer::CheckpointPolicy;
use kinesis_multilang::processor::Processor;
use kinesis_serde::Utf8;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let processed = Processor::new()
        .deserializer(Utf8)
        .checkpoints(CheckpointPolicy::default().with_max_records(100))
        .run(|record: ConsumerRecord<String>| async move {
            eprintln!(
                "record {} {} {} {}",
                record.shard_id(),
                record.position(),
                record.partition_key(),
                record.data()
            );
            Ok(())
        })
        .await;
    match processed {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The daemon starts the shard again from its last checkpoint.
            eprintln!("multilang_processor: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
