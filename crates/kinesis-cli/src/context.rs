//! The options every command shares, and the client configuration they give.

use std::time::Duration;

use clap::Args;
use kinesis_client::{ClientConfig, WaitConfig};

use crate::error::{CliError, Result};
use crate::output::Format;

/// Options of every command.
#[derive(Args, Debug, Clone)]
pub(crate) struct Global {
    /// The AWS region (default: AWS_REGION, then the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub(crate) region: Option<String>,

    /// One endpoint for Kinesis, DynamoDB and CloudWatch, for a local server (default: the
    /// standard variables AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL_DYNAMODB,
    /// AWS_ENDPOINT_URL_CLOUDWATCH and AWS_ENDPOINT_URL, then AWS).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,

    /// Output format: human tables, or JSON for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Text)]
    pub(crate) output: Format,

    /// Log the library's retries and decisions to stderr (-v info, -vv debug); RUST_LOG
    /// overrides.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

impl Global {
    /// The client configuration: credentials and region from the AWS default chain, endpoints
    /// from `--endpoint-url` or the standard variables.
    pub(crate) async fn client_config(&self) -> Result<ClientConfig> {
        let mut builder = ClientConfig::builder()
            // Operators wait for streams at the console's pace; tests need it faster.
            .wait(
                WaitConfig::default()
                    .with_poll_interval(Duration::from_millis(250))
                    .with_timeout(Duration::from_secs(300)),
            );
        if let Some(region) = &self.region {
            builder = builder.region(region.clone());
        }
        if let Some(url) = &self.endpoint_url {
            builder = builder.endpoint_url(url.clone());
        }
        builder
            .build()
            .await
            .map_err(|e| CliError::client("cannot configure the AWS clients", &e))
    }

    pub(crate) fn json(&self) -> bool {
        self.output == Format::Json
    }

    /// Sends the library's logs to stderr at the level `-v` asks for (warnings by default).
    pub(crate) fn init_logging(&self) {
        let default = match self.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_target(false)
            .try_init();
    }
}
