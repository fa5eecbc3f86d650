//! `kinesis`: the workspace's command-line tool.
//!
//! ```text
//! kinesis demo [--records N] [--shards N]
//! ```
//!
//! `demo` starts the embedded Kinesis and DynamoDB emulators in this process (or uses the servers
//! that `AWS_ENDPOINT_URL_KINESIS` / `AWS_ENDPOINT_URL` name), creates a stream, writes records
//! with the producer, and reads them with two consumer workers that share the shards; one stops and the other takes
//! over; a summary shows the records per worker and that none were lost.

#![allow(
    clippy::disallowed_methods,
    reason = "the demo reports wall-clock times"
)]

mod demo;

use std::process::ExitCode;

const USAGE: &str = "\
kinesis: tools for Amazon Kinesis Data Streams

USAGE:
    kinesis demo [--records N] [--shards N]
        Start the embedded emulators (or use AWS_ENDPOINT_URL_KINESIS), create a stream of
        N shards (default 4), write N records (default 200) with the producer, and read
        them with two consumer workers that share the shards; half way, worker-1 stops
        and worker-2 takes over. Prints the records per worker and that none were lost.
    kinesis help
        Print this message.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => match demo::Options::parse(&args[1..]) {
            Ok(options) => run(demo::run(options)),
            Err(message) => {
                eprintln!("kinesis demo: {message}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        None | Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("kinesis: unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(
    task: impl std::future::Future<Output = Result<(), Box<dyn std::error::Error>>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kinesis: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kinesis: {}", kinesis_client::DisplayErrorChain(&*e));
            ExitCode::FAILURE
        }
    }
}
