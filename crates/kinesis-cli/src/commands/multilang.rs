//! `kinesis multilang`: run record processors written for the Java KCL's MultiLangDaemon
//! (Python, Node, Ruby, .NET) on this workspace's consumer, without a JVM.

use std::path::PathBuf;

use kinesis_multilang::Daemon;
use kinesis_multilang::properties::{DaemonConfig, parse_properties};

use crate::context::Global;
use crate::error::{CliError, Result};

/// Run a KCL MultiLangDaemon application from its properties file: one record processor
/// process per shard this worker holds, until Ctrl-C or SIGTERM.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The application's properties file, as the Java MultiLangDaemon reads it
    /// (executableName, streamName, applicationName, ...).
    #[arg(long, short = 'p', value_name = "FILE")]
    properties: PathBuf,
}

pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let path = &args.properties;
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::failure(format!("cannot read {}: {e}", path.display())))?;
    let config = DaemonConfig::from_properties(&parse_properties(&text))
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    for ignored in &config.ignored {
        eprintln!("kinesis: {}: ignored {ignored}", path.display());
    }
    let client = global.client_config().await?;
    Daemon::new(&client, config)
        .shutdown_on_signals()
        .run()
        .await
        .map_err(|e| {
            if e.is_configuration() {
                CliError::usage(format!("{}: {e}", path.display()))
            } else {
                CliError::other("the multilang daemon stopped", &e)
            }
        })
}
