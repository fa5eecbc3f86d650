//! The record processor of the multilang scenarios, written on this workspace's
//! `kinesis_multilang::processor` runtime: the same program under the Java KCL's
//! MultiLangDaemon and under `kinesis multilang`.
//!
//! Every record it handles is appended to a file of its own in `$MULTILANG_OUTPUT_DIR`,
//! `rust-<shard>-<pid>.txt`, one line `<shard> <sequence number> <sub-sequence number> <data>`
//! (the same lines as the Python and Node processors). It checkpoints every 10 records, at the
//! shard's end and on shutdown. What the runtime logs (initialize, lease lost, shard ended,
//! shutdown requested, refused checkpoints) goes to `rust-<pid>.log` in the same folder.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kinesis_consumer::ConsumerRecord;
use kinesis_lease::checkpointer::CheckpointPolicy;
use kinesis_multilang::processor::Processor;
use kinesis_serde::Utf8;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let Some(output) = std::env::var_os("MULTILANG_OUTPUT_DIR").map(PathBuf::from) else {
        eprintln!("rust-processor: MULTILANG_OUTPUT_DIR is not set");
        return std::process::ExitCode::FAILURE;
    };
    let pid = std::process::id();
    let log = match File::create(output.join(format!("rust-{pid}.log"))) {
        Ok(file) => file,
        Err(e) => {
            eprintln!(
                "rust-processor: cannot create its log in {}: {e}",
                output.display()
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(Mutex::new(log))
        .init();

    let records: Arc<Mutex<Option<File>>> = Arc::default();
    let processed = Processor::new()
        .deserializer(Utf8)
        .checkpoints(CheckpointPolicy::default().with_max_records(10))
        .run(|record: ConsumerRecord<String>| {
            let records = Arc::clone(&records);
            let output = output.clone();
            async move {
                let mut file = records.lock().map_err(|_| "the output file's lock")?;
                if file.is_none() {
                    let path = output.join(format!("rust-{}-{pid}.txt", record.shard_id()));
                    *file = Some(OpenOptions::new().create(true).append(true).open(path)?);
                }
                let Some(file) = file.as_mut() else {
                    return Err("no output file".into());
                };
                // One write per line: a reader never sees a line's first fields alone.
                let line = format!(
                    "{} {} {} {}\n",
                    record.shard_id(),
                    record.sequence_number(),
                    record.sub_sequence_number().unwrap_or(0),
                    record.data()
                );
                file.write_all(line.as_bytes())?;
                Ok(())
            }
        })
        .await;
    match processed {
        Ok(()) => {
            tracing::info!("stdin closed: exiting");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
