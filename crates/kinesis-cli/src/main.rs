//! `kinesis`: the command-line tool for people who run Kinesis applications.
//!
//! ```text
//! kinesis local                      the embedded emulators as a local server
//! kinesis stream list|create|...     streams, shards, resharding, retention, consumers
//! kinesis put                        records through the producer
//! kinesis tail                       read a stream like tail -f
//! kinesis leases list|rewind|...     the lease table of a KCL application
//! kinesis multilang -p app.properties KCL MultiLangDaemon processors, without a JVM
//! kinesis demo                       two consumer workers sharing a stream, locally
//! kinesis completions SHELL          shell completions
//! ```
//!
//! Every command reaches AWS through the default credential chain and region, or local servers
//! through the standard endpoint variables (`AWS_ENDPOINT_URL_KINESIS`, ...) or
//! `--endpoint-url`. docs/cli.md documents every command and the exit codes.

#![allow(
    clippy::disallowed_methods,
    reason = "a command-line tool reports wall-clock times and reads the clock for timestamps"
)]

mod commands;
mod confirm;
mod context;
mod demo;
mod error;
mod output;
mod position;
mod time;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::context::Global;
use crate::error::CliError;
#[cfg(test)]
use crate::error::Exit;

/// Tools for Amazon Kinesis Data Streams and the KCL applications that read them.
#[derive(Parser, Debug)]
#[command(
    name = "kinesis",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the embedded Kinesis, DynamoDB and CloudWatch emulators as a local server.
    Local(commands::local::Args),
    /// List, create, describe, reshard and delete streams.
    #[command(subcommand)]
    Stream(commands::stream::Command),
    /// Write records through the producer: from arguments, stdin, a file, or a generator.
    Put(commands::put::Args),
    /// Read a stream like `tail -f`.
    Tail(commands::tail::Args),
    /// Inspect and repair the lease table of a KCL application.
    #[command(subcommand)]
    Leases(commands::leases::Command),
    /// Run KCL MultiLangDaemon record processors (Python, Node, ...) without a JVM.
    Multilang(commands::multilang::Args),
    /// Two consumer workers share a stream on local emulators; one stops, the other takes over.
    Demo(demo::Args),
    /// Print a shell completion script.
    Completions(commands::completions::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.global.init_logging();
    if let Command::Completions(args) = &cli.command {
        commands::completions::run::<Cli>(args);
        return ExitCode::SUCCESS;
    }
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
    let global = cli.global;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Local(args) => commands::local::run(&global, args).await,
            Command::Stream(command) => commands::stream::run(&global, command).await,
            Command::Put(args) => commands::put::run(&global, args).await,
            Command::Tail(args) => commands::tail::run(&global, args).await,
            Command::Leases(command) => commands::leases::run(&global, command).await,
            Command::Multilang(args) => commands::multilang::run(&global, args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Completions(_) => Ok(()),
        }
    });
    // Background tasks (a producer's flush, a consumer's renewals) have had their shutdown;
    // do not wait for stragglers.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

fn report(err: &CliError) -> ExitCode {
    eprintln!("kinesis: error: {err}");
    ExitCode::from(err.exit() as u8)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_are_distinct() {
        use super::Exit::*;
        let codes = [
            Failure,
            Usage,
            NotFound,
            Conflict,
            Declined,
            CorruptRows,
            Interrupted,
        ]
        .map(|e| e as u8);
        let unique: std::collections::BTreeSet<u8> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len());
    }
}
