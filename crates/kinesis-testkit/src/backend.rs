//! Which server answers each service, and how that is chosen from the environment.

use std::fmt;

/// One of the AWS services a [`TestEnv`](crate::TestEnv) provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// Amazon Kinesis Data Streams.
    Kinesis,
    /// Amazon DynamoDB (the lease table).
    DynamoDb,
    /// Amazon CloudWatch (metrics).
    CloudWatch,
}

impl Service {
    /// The service-specific endpoint variable, e.g. `AWS_ENDPOINT_URL_KINESIS`.
    pub fn endpoint_variable(self) -> &'static str {
        match self {
            Service::Kinesis => "AWS_ENDPOINT_URL_KINESIS",
            Service::DynamoDb => "AWS_ENDPOINT_URL_DYNAMODB",
            Service::CloudWatch => "AWS_ENDPOINT_URL_CLOUDWATCH",
        }
    }

    /// The variable that names an external backend, e.g. `KINESIS_TESTKIT_KINESIS_BACKEND`.
    pub fn backend_variable(self) -> &'static str {
        match self {
            Service::Kinesis => "KINESIS_TESTKIT_KINESIS_BACKEND",
            Service::DynamoDb => "KINESIS_TESTKIT_DYNAMODB_BACKEND",
            Service::CloudWatch => "KINESIS_TESTKIT_CLOUDWATCH_BACKEND",
        }
    }

    /// The name of the server embedded for this service when no external one is configured.
    pub fn embedded_name(self) -> &'static str {
        match self {
            Service::Kinesis => "ferrokinesis",
            Service::DynamoDb => "dynoxide",
            Service::CloudWatch => "cloudwatch-receiver",
        }
    }

    /// The host prefix of the service's real AWS endpoint (`monitoring` for CloudWatch).
    pub(crate) fn aws_host_prefix(self) -> &'static str {
        match self {
            Service::Kinesis => "kinesis",
            Service::DynamoDb => "dynamodb",
            Service::CloudWatch => "monitoring",
        }
    }

    pub(crate) const ALL: [Service; 3] = [Service::Kinesis, Service::DynamoDb, Service::CloudWatch];
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Kinesis => "Kinesis",
            Service::DynamoDb => "DynamoDB",
            Service::CloudWatch => "CloudWatch",
        })
    }
}

/// The server that answers one service of a [`TestEnv`](crate::TestEnv).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// A server running inside this process on 127.0.0.1: `ferrokinesis` for Kinesis,
    /// `dynoxide` for DynamoDB, `cloudwatch-receiver` for CloudWatch.
    Embedded {
        /// The embedded server's name.
        name: &'static str,
    },
    /// A server outside this process, chosen by the endpoint variables.
    External {
        /// The name given in `KINESIS_TESTKIT_<SERVICE>_BACKEND` (lower-cased), e.g.
        /// `kinesis-local`, `moto`, `localstack` or `aws`; `None` when the variable is unset.
        name: Option<String>,
    },
}

impl Backend {
    /// Whether the server runs inside this process.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Backend::Embedded { .. })
    }

    /// The backend's name: the embedded server's name, the configured external name, or
    /// `"unknown"` for an external server whose name was not given.
    pub fn name(&self) -> &str {
        match self {
            Backend::Embedded { name } => name,
            Backend::External { name: Some(name) } => name,
            Backend::External { name: None } => "unknown",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Embedded { name } => write!(f, "{name} (embedded)"),
            Backend::External { name: Some(name) } => write!(f, "{name} (external)"),
            Backend::External { name: None } => {
                f.write_str("an unnamed external server (assumed AWS-like)")
            }
        }
    }
}

/// Where one service is served, as read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Start the embedded server.
    Embedded,
    /// Use the server at `endpoint`; `None` means the real AWS endpoint.
    External {
        endpoint: Option<String>,
        name: Option<String>,
    },
}

/// Names that mean "the embedded server" when given without an endpoint.
const EMBEDDED_ALIASES: [&str; 5] = [
    "embedded",
    "ferrokinesis",
    "dynoxide",
    "cloudwatch-receiver",
    "",
];

/// Reads the placement of `service` through `lookup` (normally `std::env::var`).
///
/// An empty variable counts as unset. The service-specific endpoint variable wins over
/// `AWS_ENDPOINT_URL`. With no endpoint, the backend name `aws` selects real AWS, an embedded
/// alias (or no name) selects the embedded server, and any other name is an error: it would
/// otherwise silently run the suite against the wrong server.
pub(crate) fn placement(
    service: Service,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Placement, String> {
    let get = |key: &str| {
        lookup(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let name = get(service.backend_variable()).map(|n| n.to_ascii_lowercase());
    let endpoint = get(service.endpoint_variable()).or_else(|| get("AWS_ENDPOINT_URL"));
    match (endpoint, name) {
        (Some(endpoint), name) => {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(format!(
                    "the endpoint for {service} ({endpoint:?}) must start with http:// or https://"
                ));
            }
            Ok(Placement::External {
                endpoint: Some(endpoint.trim_end_matches('/').to_owned()),
                name,
            })
        }
        (None, Some(name)) if name == "aws" => Ok(Placement::External {
            endpoint: None,
            name: Some(name),
        }),
        (None, Some(name)) if EMBEDDED_ALIASES.contains(&name.as_str()) => Ok(Placement::Embedded),
        (None, None) => Ok(Placement::Embedded),
        (None, Some(name)) => Err(format!(
            "{}={name} names an external backend, but neither {} nor AWS_ENDPOINT_URL is set",
            service.backend_variable(),
            service.endpoint_variable(),
        )),
    }
}

/// The region: `AWS_REGION` when set, else `us-east-1`.
pub(crate) fn region(lookup: &dyn Fn(&str) -> Option<String>) -> String {
    lookup("AWS_REGION")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn nothing_set_means_embedded() {
        let lookup = env(&[]);
        for service in Service::ALL {
            assert_eq!(placement(service, &lookup), Ok(Placement::Embedded));
        }
        assert_eq!(region(&lookup), "us-east-1");
    }

    #[test]
    fn service_variable_wins_over_the_global_one() {
        let lookup = env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:4568/"),
            ("KINESIS_TESTKIT_KINESIS_BACKEND", "Kinesis-Local"),
            ("AWS_REGION", "eu-west-1"),
        ]);
        assert_eq!(
            placement(Service::Kinesis, &lookup),
            Ok(Placement::External {
                endpoint: Some("http://127.0.0.1:4568".into()),
                name: Some("kinesis-local".into()),
            })
        );
        assert_eq!(
            placement(Service::DynamoDb, &lookup),
            Ok(Placement::External {
                endpoint: Some("http://127.0.0.1:4566".into()),
                name: None,
            })
        );
        assert_eq!(region(&lookup), "eu-west-1");
    }

    #[test]
    fn one_service_can_be_external_alone() {
        let lookup = env(&[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566")]);
        assert_eq!(
            placement(Service::Kinesis, &lookup),
            Ok(Placement::Embedded)
        );
        assert!(matches!(
            placement(Service::DynamoDb, &lookup),
            Ok(Placement::External { .. })
        ));
        assert_eq!(
            placement(Service::CloudWatch, &lookup),
            Ok(Placement::Embedded)
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let lookup = env(&[
            ("AWS_ENDPOINT_URL_KINESIS", " "),
            ("KINESIS_TESTKIT_KINESIS_BACKEND", ""),
        ]);
        assert_eq!(
            placement(Service::Kinesis, &lookup),
            Ok(Placement::Embedded)
        );
    }

    #[test]
    fn aws_without_endpoint_means_real_aws() {
        let lookup = env(&[("KINESIS_TESTKIT_KINESIS_BACKEND", "aws")]);
        assert_eq!(
            placement(Service::Kinesis, &lookup),
            Ok(Placement::External {
                endpoint: None,
                name: Some("aws".into())
            })
        );
    }

    #[test]
    fn a_named_external_backend_without_endpoint_is_an_error() {
        let lookup = env(&[("KINESIS_TESTKIT_KINESIS_BACKEND", "kinesis-local")]);
        let err = placement(Service::Kinesis, &lookup).unwrap_err();
        assert!(err.contains("AWS_ENDPOINT_URL_KINESIS"), "{err}");
        let lookup = env(&[("KINESIS_TESTKIT_KINESIS_BACKEND", "ferrokinesis")]);
        assert_eq!(
            placement(Service::Kinesis, &lookup),
            Ok(Placement::Embedded)
        );
    }

    #[test]
    fn an_endpoint_must_be_a_url() {
        let lookup = env(&[("AWS_ENDPOINT_URL_KINESIS", "127.0.0.1:4568")]);
        assert!(placement(Service::Kinesis, &lookup).is_err());
    }

    #[test]
    fn backend_names() {
        assert_eq!(
            Backend::Embedded {
                name: "ferrokinesis"
            }
            .name(),
            "ferrokinesis"
        );
        assert_eq!(Backend::External { name: None }.name(), "unknown");
        assert_eq!(
            Backend::External {
                name: Some("moto".into())
            }
            .name(),
            "moto"
        );
    }
}
