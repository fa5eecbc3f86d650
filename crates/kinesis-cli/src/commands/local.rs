//! `kinesis local`: the embedded Kinesis, DynamoDB and CloudWatch emulators as a local server,
//! for developing a producer and a consumer in two processes without Docker, a JVM, Node or
//! Python.

use std::path::PathBuf;
use std::time::Duration;

use kinesis_testkit::{DEFAULT_PORTS, LocalServers};

use crate::context::Global;
use crate::error::{CliError, Result};
use crate::output;

/// Run the emulators until Ctrl-C or SIGTERM, and print the variables that point clients at
/// them: the export lines go to stdout (and to --env-file), the rest to stderr.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The Kinesis port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = DEFAULT_PORTS[0], value_name = "PORT")]
    kinesis_port: u16,
    /// The DynamoDB port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = DEFAULT_PORTS[1], value_name = "PORT")]
    dynamodb_port: u16,
    /// The CloudWatch port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = DEFAULT_PORTS[2], value_name = "PORT")]
    cloudwatch_port: u16,
    /// Keep streams, records and tables in this directory across restarts.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Also write the export lines to this file (for `source FILE` or an env file), removed
    /// again on exit.
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,
    /// Throttle writes per shard as Kinesis does (1 MiB/s and 1000 records/s).
    #[arg(long)]
    enforce_limits: bool,
    /// The most open shards across all streams.
    #[arg(long, default_value_t = 500, value_name = "N")]
    shard_limit: u32,
}

pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let mut builder = LocalServers::builder()
        .ports(args.kinesis_port, args.dynamodb_port, args.cloudwatch_port)
        .shard_limit(args.shard_limit)
        .enforce_limits(args.enforce_limits)
        .region(
            global
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".to_owned()),
        );
    if let Some(dir) = &args.data_dir {
        builder = builder.data_dir(dir);
    }
    let servers = builder
        .start()
        .await
        .map_err(|e| CliError::failure(format!("cannot start the local servers: {e}")))?;
    let environment = servers.environment();
    let exports: String = environment
        .iter()
        .map(|(name, value)| format!("export {name}={value}\n"))
        .collect();
    if let Some(path) = &args.env_file
        && let Err(e) = std::fs::write(path, &exports)
    {
        servers.shutdown().await;
        return Err(CliError::failure(format!(
            "cannot write {}: {e}",
            path.display()
        )));
    }
    if global.json() {
        let map: serde_json::Map<String, serde_json::Value> = environment
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(v.clone())))
            .collect();
        output::json(&serde_json::Value::Object(map));
    } else {
        output::text(&exports);
    }
    eprintln!(
        "kinesis local: Kinesis {}, DynamoDB {}, CloudWatch {}{}; Ctrl-C stops.",
        servers.kinesis_endpoint(),
        servers.dynamodb_endpoint(),
        servers.cloudwatch_endpoint(),
        match servers.data_dir() {
            Some(dir) => format!(", state in {}", dir.display()),
            None => ", state in memory".to_owned(),
        }
    );
    kinesis_client::shutdown_signal().await;
    eprintln!("kinesis local: stopping");
    // The servers stop within a second; a client still connected gets a reset.
    let _ = tokio::time::timeout(Duration::from_secs(5), servers.shutdown()).await;
    if let Some(path) = &args.env_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
