//! [`CloudWatchSink`]: `PutMetricData` through the client stack of a [`ClientConfig`].

use aws_sdk_cloudwatch::Client as Sdk;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet as SdkSet};
use kinesis_client::{ClientConfig, Error, Operation, Stack};

use crate::publisher::BoxFuture;
use kinesis_kcl_compat::metrics::Unit;

use crate::aggregate::{MetricKey, StatisticSet};
use crate::publisher::MetricSink;

/// Sends aggregated data to CloudWatch with `PutMetricData`, through
/// [`ClientConfig::cloudwatch_stack`] (its retry layer retries throttling and transient errors
/// within each call; its endpoint follows `AWS_ENDPOINT_URL_CLOUDWATCH`).
#[derive(Clone, Debug)]
pub struct CloudWatchSink {
    stack: Stack<Sdk>,
}

impl CloudWatchSink {
    /// A sink on `config`'s CloudWatch stack.
    pub fn new(config: &ClientConfig) -> Self {
        Self {
            stack: config.cloudwatch_stack(),
        }
    }
}

impl MetricSink for CloudWatchSink {
    fn put<'a>(
        &'a self,
        namespace: &'a str,
        data: &'a [(MetricKey, StatisticSet)],
    ) -> BoxFuture<'a, Result<(), Error>> {
        let op = PutMetricData {
            namespace: namespace.to_owned(),
            data: data.iter().map(|(k, s)| datum(k, s)).collect(),
        };
        Box::pin(async move { self.stack.call(op).await })
    }
}

fn unit(unit: Unit) -> StandardUnit {
    match unit {
        Unit::Count => StandardUnit::Count,
        Unit::Milliseconds => StandardUnit::Milliseconds,
        Unit::Bytes => StandardUnit::Bytes,
    }
}

fn datum(key: &MetricKey, set: &StatisticSet) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(key.name())
        .unit(unit(key.unit()))
        .set_dimensions(Some(
            key.dimensions()
                .iter()
                .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                .collect(),
        ))
        .statistic_values(
            SdkSet::builder()
                .sample_count(set.sample_count)
                .sum(set.sum)
                .minimum(set.minimum)
                .maximum(set.maximum)
                .build(),
        )
        .build()
}

/// One `PutMetricData` call.
#[derive(Clone, Debug)]
struct PutMetricData {
    namespace: String,
    data: Vec<MetricDatum>,
}

impl Operation for PutMetricData {
    type Client = Sdk;
    type Output = ();
    const NAME: &'static str = "PutMetricData";

    fn invoke(&self, sdk: &Sdk) -> kinesis_client::BoxFuture<Result<(), Error>> {
        let call = sdk
            .put_metric_data()
            .namespace(&self.namespace)
            .set_metric_data(Some(self.data.clone()))
            .send();
        Box::pin(async move {
            call.await
                .map(|_| ())
                .map_err(|e| Error::from_sdk(Self::NAME, e))
        })
    }
}
