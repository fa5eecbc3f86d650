//! The `SdkConfig` a [`TestEnv`](crate::TestEnv) hands out.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// Routes each service's client to its own endpoint.
///
/// Service clients built from an `SdkConfig` (`aws_sdk_kinesis::Client::new(&config)`) ask the
/// config's `LoadServiceConfig` for `endpoint_url` by service id; this answers with the test
/// environment's endpoints, and with nothing for a service on real AWS.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoints {
    pub(crate) kinesis: Option<String>,
    pub(crate) dynamodb: Option<String>,
    pub(crate) cloudwatch: Option<String>,
}

impl LoadServiceConfig for Endpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.profile() != "endpoint_url" {
            return None;
        }
        match key.service_id() {
            "Kinesis" => self.kinesis.clone(),
            "DynamoDB" => self.dynamodb.clone(),
            "CloudWatch" => self.cloudwatch.clone(),
            _ => None,
        }
    }
}

/// A config with static credentials: it reads no environment, profile or instance metadata.
pub(crate) fn static_config(region: &str, access_key_id: &str, endpoints: Endpoints) -> SdkConfig {
    let credentials = Credentials::new(
        access_key_id,
        "kinesis-testkit-secret",
        None,
        None,
        "kinesis-testkit",
    );
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .retry_config(RetryConfig::disabled())
        .service_config(endpoints)
        .build()
}

/// A config for real AWS: credentials from the default chain, the given region, SDK retries
/// off, and the test environment's endpoints for the services not on AWS.
pub(crate) async fn aws_config(region: &str, endpoints: Endpoints) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
        .into_builder()
        .service_config(endpoints)
        .build()
}
